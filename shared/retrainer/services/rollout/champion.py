"""Who the champion is, and the challenger's version in the registry.

- `find_champion`: the variant serving the model's endpoint now, cross-checked with the registry;
- `register_model`: a version in the model's package group (PendingManualApproval), once per run.
"""

from __future__ import annotations

from typing import Any, Literal

from aws_lambda_powertools import Logger
from pydantic import Field

from retrainer.errors import EndpointBusy, EndpointNotUsable
from retrainer.ports import LiveVariant, ModelRegistry, ModelVersion
from retrainer.run_data import Champion
from retrainer.services.rollout.wiring import IN_PROGRESS, RolloutAdapters, RolloutRequest

logger = Logger(child=True)


class FindChampion(RolloutRequest):
    action: Literal["find_champion"]
    endpoint_name: str
    model_package_group: str


def find_champion(request: FindChampion, adapters: RolloutAdapters) -> Champion:
    endpoint = adapters.endpoints.describe(request.endpoint_name)
    if endpoint is None:
        return Champion(note="no endpoint yet: this is the model's first deployment")
    if endpoint.status in IN_PROGRESS:
        raise EndpointBusy(f"endpoint {request.endpoint_name} is {endpoint.status}; the rollout waits for it")
    if endpoint.status != "InService" or not endpoint.variants:
        raise EndpointNotUsable(
            f"endpoint {request.endpoint_name} is {endpoint.status}"
            + (f" ({endpoint.failure_reason})" if endpoint.failure_reason else "")
            + "; fix or delete it before the next rollout"
        )
    approved = ApprovedVersions(adapters.registry, request.model_package_group)
    artifacts = {variant.name: _artifact_url(adapters, variant) for variant in endpoint.variants}
    variant = _serving_variant(endpoint.variants, artifacts, approved)
    url = artifacts[variant.name]
    registered = approved.find(url)
    note = _registry_note(registered, approved.newest)
    if note:
        logger.warning("champion and registry disagree: " + note, extra={"endpoint": request.endpoint_name})
    return Champion(
        exists=True,
        endpoint_config_name=endpoint.config_name,
        variant_name=variant.name,
        model_name=variant.model_name,
        model_data_url=url,
        instance_type=variant.instance_type,
        instance_count=max(1, variant.instance_count),
        model_package_arn=registered.arn if registered else "",
        registry_consistent=not note,
        note=note or f"serving version {registered.version if registered else '?'} of the registry",
    )


class ApprovedVersions:
    """The group's approved versions, newest first; artifacts are looked up only as far as needed."""

    LOOKBACK = 20  # a champion older than the 20 newest approved versions is reported as unregistered

    def __init__(self, registry: ModelRegistry, group: str) -> None:
        self._registry = registry
        self._versions = [v for v in registry.versions(group) if v.status == "Approved"][: self.LOOKBACK]
        self._urls: dict[str, str] = {}

    @property
    def newest(self) -> ModelVersion | None:
        return self._versions[0] if self._versions else None

    def find(self, url: str) -> ModelVersion | None:
        if not url:
            return None
        for version in self._versions:
            if version.arn not in self._urls:
                self._urls[version.arn] = self._registry.artifact_url(version.arn)
            if self._urls[version.arn] == url:
                return version
        return None


def _artifact_url(adapters: RolloutAdapters, variant: LiveVariant) -> str:
    artifact = adapters.endpoints.model_artifact(variant.model_name) if variant.model_name else None
    return artifact.model_data_url if artifact else ""


def _serving_variant(
    variants: tuple[LiveVariant, ...], artifacts: dict[str, str], approved: ApprovedVersions
) -> LiveVariant:
    """One variant: that one. Several (a rollout that died half-way): the newest approved model's variant,
    else the one taking the most traffic."""
    if len(variants) == 1:
        return variants[0]
    found = [(approved.find(artifacts[v.name]), v) for v in variants]
    registered = [(version.version, variant) for version, variant in found if version is not None]
    if registered:
        return max(registered, key=lambda pair: pair[0])[1]
    return max(variants, key=lambda v: v.current_weight)


def _registry_note(registered: ModelVersion | None, newest: ModelVersion | None) -> str:
    if registered is None:
        return "the endpoint serves a model that is not an approved version in the registry"
    if newest is not None and newest.arn != registered.arn:
        return (
            f"the endpoint serves approved version {registered.version}, "
            f"but the newest approved version is {newest.version}"
        )
    return ""


class RegisterModel(RolloutRequest):
    action: Literal["register_model"]
    model_package_group: str
    model_name: str = Field(description="The retrainer model (the folder under the data prefix).")
    sagemaker_model: str = Field(description="The SageMaker model created from the training job.")
    data: str
    report_uri: str
    triggers: list[Any] = Field(default_factory=list)
    endpoint_instance_type: str
    transform_instance_type: str
    fingerprint: str = Field(default="", description="The training data's fingerprint (schema.json).")
    schema_uri: str = ""
    row_splits_uri: str = ""


def register_model(request: RegisterModel, adapters: RolloutAdapters) -> dict[str, Any]:
    """One version per run, whatever the retries: a version whose description names the run is reused."""
    registry = adapters.registry
    registry.ensure_group(
        request.model_package_group,
        f"retrainer: every model trained for {request.model_name}",
    )
    description = f"{request.run_id}: trained on {request.data}"
    existing = next(
        (v for v in registry.versions(request.model_package_group) if v.description.startswith(f"{request.run_id}:")),
        None,
    )
    if existing is None:
        artifact = adapters.endpoints.model_artifact(request.sagemaker_model)
        if artifact is None:
            raise EndpointNotUsable(f"model {request.sagemaker_model} does not exist; it cannot be registered")
        existing = registry.register(
            request.model_package_group,
            description,
            artifact,
            request.report_uri,
            {
                "run_id": request.run_id,
                "correlation_id": request.correlation_id,
                "training_data": request.data,
                "sagemaker_model": request.sagemaker_model,
                "triggers": _trigger_sources(request.triggers),
                "fingerprint": request.fingerprint,
                "schema_uri": request.schema_uri,
                "row_splits_uri": request.row_splits_uri,
            },
            (request.endpoint_instance_type, request.transform_instance_type),
        )
    logger.info(
        "model registered",
        extra={"model_package_arn": existing.arn, "version": existing.version, "run_id": request.run_id},
    )
    return {"model_package_arn": existing.arn, "version": existing.version, "group": request.model_package_group}


def _trigger_sources(triggers: list[Any]) -> str:
    sources = [str(t.get("source", t.get("trigger_id", ""))) if isinstance(t, dict) else str(t) for t in triggers]
    text = ", ".join(sources)
    return text if len(text) <= 256 else f"{len(sources)} triggers: {text[:200]}..."
