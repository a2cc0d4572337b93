"""The rollout's decisions: who the champion is, the registry, canary guards, and bringing production back.

The state machine drives the rollout (configs, UpdateEndpoint, weight shifts, bakes); each step that
needs a decision or more than one API call is an action here, called through RolloutFunction:

- `find_champion`: the variant serving the model's endpoint now, cross-checked with the registry;
- `register_model`: a version in the model's package group (PendingManualApproval), once per run;
- `prepare_rollout`: the challenger variant's CloudWatch alarms (5XX errors, model latency);
- `ensure_config`: CreateEndpointConfig that a retried step cannot duplicate;
- `verify_endpoint`: is the endpoint InService on the config and weights just applied? (SageMaker can
  roll an update back silently: a mismatch is reported, never taken for success);
- `check_alarms`: did a challenger alarm fire during this bake (now, or since the bake began)?
- `release_champion_scaling`: a variant with auto scaling cannot be removed by UpdateEndpoint;
- `restore_champion`: one reconcile step towards "the champion alone, at 100%" (called in a loop);
- `promote` / `reject`: registry status, auto scaling, and deleting what the endpoint no longer uses.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from aws_lambda_powertools import Logger
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from retrainer.errors import (
    EndpointBusy,
    EndpointConfigConflict,
    EndpointConfigExists,
    EndpointNotUsable,
    InvalidRolloutRequest,
)
from retrainer.pipeline_config import AutoscalingSettings, BlueGreenSettings, CanaryAlarms, Champion
from retrainer.ports import (
    AlarmSpec,
    Endpoints,
    EndpointState,
    LiveVariant,
    ModelRegistry,
    ModelVersion,
    VariantAlarms,
    VariantScaling,
    VariantSpec,
)

logger = Logger(child=True)

IN_PROGRESS = {"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"}


@dataclass(frozen=True)
class RolloutAdapters:
    endpoints: Endpoints
    registry: ModelRegistry
    alarms: VariantAlarms
    scaling: VariantScaling


class _Request(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    run_id: str = ""
    correlation_id: str = ""


# ---------------------------------------------------------------- the champion
class FindChampion(_Request):
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


# ---------------------------------------------------------------- the registry
class RegisterModel(_Request):
    action: Literal["register_model"]
    model_package_group: str
    model_name: str = Field(description="The retrainer model (the folder under the data prefix).")
    sagemaker_model: str = Field(description="The SageMaker model created from the training job.")
    data: str
    report_uri: str
    triggers: list[Any] = Field(default_factory=list)
    endpoint_instance_type: str
    transform_instance_type: str


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


# ---------------------------------------------------------------- canary guards
class PrepareRollout(_Request):
    action: Literal["prepare_rollout"]
    endpoint_name: str
    variant_name: str
    alarm_prefix: str
    alarms: CanaryAlarms = Field(default_factory=CanaryAlarms)
    blue_green: BlueGreenSettings = Field(default_factory=BlueGreenSettings)


def alarm_names(prefix: str, variant: str) -> list[str]:
    return [f"{prefix}{variant}-5xx", f"{prefix}{variant}-latency"]


def prepare_rollout(request: PrepareRollout, adapters: RolloutAdapters) -> dict[str, Any]:
    """The challenger variant's alarms (documented in the README), and the blue/green DeploymentConfig."""
    errors, latency = alarm_names(request.alarm_prefix, request.variant_name)
    dimensions = {"EndpointName": request.endpoint_name, "VariantName": request.variant_name}
    thresholds = request.alarms
    adapters.alarms.put(
        [
            AlarmSpec(
                name=errors,
                description=f"retrainer canary guard: {thresholds.max_5xx_errors}+ 5XX errors in a minute "
                f"from challenger {request.variant_name} rolls it back",
                metric_name="Invocation5XXErrors",
                statistic="Sum",
                dimensions=dimensions,
                threshold=float(thresholds.max_5xx_errors),
                comparison="GreaterThanOrEqualToThreshold",
                periods=1,
            ),
            AlarmSpec(
                name=latency,
                description=f"retrainer canary guard: average model latency above {thresholds.max_model_latency_ms} ms "
                f"for {thresholds.latency_periods} minute(s) on challenger {request.variant_name} rolls it back",
                metric_name="ModelLatency",
                statistic="Average",
                dimensions=dimensions,
                threshold=thresholds.max_model_latency_ms * 1000.0,  # ModelLatency is in microseconds
                comparison="GreaterThanThreshold",
                periods=thresholds.latency_periods,
            ),
        ]
    )
    names = [errors, latency]
    return {"alarm_names": names, "deployment_config": request.blue_green.deployment_config(names)}


class CheckAlarms(_Request):
    action: Literal["check_alarms"]
    alarm_names: list[str]
    since: str
    step: dict[str, Any] = Field(default_factory=dict)


def check_alarms(request: CheckAlarms, adapters: RolloutAdapters) -> dict[str, Any]:
    fired = adapters.alarms.in_alarm(request.alarm_names, request.since)
    share = request.step.get("challenger")
    reason = ""
    if fired:
        where = f" at the {share}% step" if share is not None else ""
        reason = "challenger alarm fired" + where + ": " + "; ".join(f"{a.name} {a.state}: {a.reason}" for a in fired)
        logger.warning(reason, extra={"run_id": request.run_id})
    return {
        "firing": bool(fired),
        "alarms": [{"name": a.name, "state": a.state, "when": a.when, "reason": a.reason} for a in fired],
        "reason": reason,
    }


# ---------------------------------------------------------------- endpoint configs and their verification
class VariantRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str
    model_name: str
    instance_type: str
    instance_count: int = Field(ge=1)
    weight: float = Field(ge=0)


class EnsureConfig(_Request):
    action: Literal["ensure_config"]
    config_name: str
    variants: list[VariantRequest] = Field(min_length=1)
    data_capture: dict[str, Any]


def ensure_config(request: EnsureConfig, adapters: RolloutAdapters) -> dict[str, Any]:
    """Create the config once: if a first attempt created it (its answer lost), the same config is reused;
    a config of that name with other variants is never taken for ours."""
    wanted = [VariantSpec(v.name, v.model_name, v.instance_type, v.instance_count, v.weight) for v in request.variants]
    created = True
    try:
        adapters.endpoints.create_config(request.config_name, wanted, request.data_capture)
    except EndpointConfigExists:
        created = False
        existing = adapters.endpoints.config_variants(request.config_name) or []
        if sorted(existing, key=lambda v: v.name) != sorted(wanted, key=lambda v: v.name):
            raise EndpointConfigConflict(
                f"endpoint config {request.config_name} exists with other variants; it is not reused"
            ) from None
    return {
        "config_name": request.config_name,
        "created": created,
    }


class ExpectedWeight(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str
    weight: float = Field(ge=0)


class VerifyEndpoint(_Request):
    action: Literal["verify_endpoint"]
    endpoint_name: str
    expected_config: str
    expected_weights: list[ExpectedWeight] | None = None
    polls: int = 0
    max_polls: int = Field(ge=1)
    switch: dict[str, Any] = Field(default_factory=dict, description="The update call's answer or its error.")


def verify_endpoint(request: VerifyEndpoint, adapters: RolloutAdapters) -> dict[str, Any]:
    """One look at the endpoint after an update: ready, still waiting, or what went wrong."""
    endpoint = adapters.endpoints.describe(request.endpoint_name)
    polls = request.polls + 1
    state, reason = _judge(request, endpoint)
    if state == "waiting" and polls >= request.max_polls:
        state = "timeout"
        reason = (
            f"endpoint {request.endpoint_name} was not InService on {request.expected_config} "
            f"after {polls} checks ({endpoint.status if endpoint else 'missing'})"
        )
    if state not in {"ready", "waiting"}:
        logger.warning("endpoint update did not take: " + reason, extra={"run_id": request.run_id, "state": state})
    return {
        "state": state,
        "reason": reason,
        "status": endpoint.status if endpoint else "Missing",
        "config": endpoint.config_name if endpoint else "",
        "weights": {v.name: v.current_weight for v in endpoint.variants} if endpoint else {},
        "polls": polls,
    }


def _judge(request: VerifyEndpoint, endpoint: EndpointState | None) -> tuple[str, str]:  # noqa: PLR0911
    name = request.endpoint_name
    switch = _switch_error(request.switch)
    if endpoint is None:
        return "failed", f"endpoint {name} does not exist" + switch
    if endpoint.status in IN_PROGRESS:
        return "waiting", ""
    if endpoint.status != "InService":
        return "failed", f"endpoint {name} is {endpoint.status}: {endpoint.failure_reason or 'no reason given'}"
    if endpoint.config_name != request.expected_config:
        detail = f"; SageMaker says: {endpoint.failure_reason}" if endpoint.failure_reason else ""
        return "mismatch", (
            f"endpoint {name} is InService on config {endpoint.config_name}, not on {request.expected_config} "
            f"that was just applied (the update was rolled back or did not happen){detail}{switch}"
        )
    if request.expected_weights is not None:
        live = {v.name: v.current_weight for v in endpoint.variants}
        expected = {w.name: w.weight for w in request.expected_weights}
        if not _same_shares(live, expected):
            if any(not math.isclose(v.current_weight, v.desired_weight) for v in endpoint.variants):
                return "waiting", ""
            return "mismatch", (f"endpoint {name} serves weights {live}, not {expected} that were just applied{switch}")
    return "ready", ""


def _switch_error(error: dict[str, Any]) -> str:
    if "Error" not in error:
        return ""
    return f" (the update call failed: {error.get('Error', '')}: {str(error.get('Cause', ''))[:300]})"


def _same_shares(live: dict[str, float], expected: dict[str, float]) -> bool:
    if set(live) != set(expected):
        return False
    live_total, expected_total = sum(live.values()), sum(expected.values())
    if live_total <= 0 or expected_total <= 0:
        return live_total == expected_total
    return all(math.isclose(live[k] / live_total, expected[k] / expected_total, abs_tol=1e-6) for k in expected)


# ---------------------------------------------------------------- auto scaling
class ReleaseChampionScaling(_Request):
    action: Literal["release_champion_scaling"]
    endpoint_name: str
    champion: Champion


def release_champion_scaling(request: ReleaseChampionScaling, adapters: RolloutAdapters) -> dict[str, Any]:
    """Before UpdateEndpoint removes the champion's variant: AWS refuses to remove an auto-scaled variant."""
    if not request.champion.exists:
        return {"released": False}
    released = adapters.scaling.deregister(request.endpoint_name, request.champion.variant_name)
    return {"released": released}


# ---------------------------------------------------------------- rollback
class RestoreChampion(_Request):
    action: Literal["restore_champion"]
    endpoint_name: str
    champion: Champion
    challenger_variant: str
    polls: int = 0
    max_polls: int = Field(ge=1)


def restore_champion(request: RestoreChampion, adapters: RolloutAdapters) -> dict[str, Any]:
    """One step towards "the champion's own config, InService": take traffic off the challenger first
    (a weight change is immediate), then switch back to the champion's config. Called in a loop; each
    call does at most one change, so a retry never stacks two updates."""
    polls = request.polls + 1
    champion = request.champion
    endpoint = adapters.endpoints.describe(request.endpoint_name)
    state, action = _restore_step(request, endpoint, adapters)
    if state == "waiting" and polls >= request.max_polls:
        state = "timeout"
        action = f"the champion was not back after {polls} checks: endpoint is {endpoint.status if endpoint else '-'}"
    logger.info("restoring the champion: " + action, extra={"run_id": request.run_id, "state": state})
    return {"state": state, "action": action, "polls": polls, "champion_config": champion.endpoint_config_name}


def _restore_step(
    request: RestoreChampion, endpoint: EndpointState | None, adapters: RolloutAdapters
) -> tuple[str, str]:
    champion = request.champion
    if endpoint is None:
        return "failed", f"endpoint {request.endpoint_name} does not exist"
    if endpoint.status in IN_PROGRESS:
        return "waiting", f"endpoint is {endpoint.status}"
    live = {v.name: v for v in endpoint.variants}
    if endpoint.config_name == champion.endpoint_config_name and endpoint.status == "InService":
        return "restored", f"endpoint serves the champion's config {champion.endpoint_config_name} again"
    challenger = live.get(request.challenger_variant)
    if champion.variant_name in live and challenger is not None and challenger.current_weight > 0:
        adapters.endpoints.set_weights(request.endpoint_name, {champion.variant_name: 1.0, challenger.name: 0.0})
        return "waiting", "weights set back to the champion at 100%"
    adapters.endpoints.switch_config(request.endpoint_name, champion.endpoint_config_name)
    return "waiting", f"endpoint switching back to the champion's config {champion.endpoint_config_name}"


class Reject(_Request):
    action: Literal["reject"]
    model_package_arn: str = ""
    reason: str
    endpoint_name: str = ""
    champion: Champion = Field(default_factory=Champion)
    challenger_variant: str = ""
    configs: list[str] = Field(default_factory=list, description="Configs of this run to delete when unused.")
    alarm_names: list[str] = Field(default_factory=list)
    autoscaling: AutoscalingSettings = Field(default_factory=AutoscalingSettings)


def reject(request: Reject, adapters: RolloutAdapters) -> dict[str, Any]:
    """The challenger is Rejected in the registry; its configs and alarms go; the champion keeps its scaling."""
    if request.model_package_arn:
        adapters.registry.set_status(
            request.model_package_arn, "Rejected", request.reason, {"rejected_reason": request.reason}
        )
    deleted = _delete_unused_configs(request.endpoint_name, request.configs, adapters)
    adapters.alarms.delete(request.alarm_names)
    if request.champion.exists and request.autoscaling.enabled and request.endpoint_name:
        _scale(adapters, request.endpoint_name, request.champion.variant_name, request.autoscaling)
    logger.info("challenger rejected: " + request.reason, extra={"run_id": request.run_id, "deleted": deleted})
    return {"rejected": request.model_package_arn, "reason": request.reason, "deleted_configs": deleted}


# ---------------------------------------------------------------- promotion
class Promote(_Request):
    action: Literal["promote"]
    model_package_arn: str
    endpoint_name: str
    variant_name: str
    champion: Champion = Field(default_factory=Champion)
    configs: list[str] = Field(default_factory=list, description="Configs the endpoint no longer uses.")
    champion_alarm_prefix: str = ""
    autoscaling: AutoscalingSettings = Field(default_factory=AutoscalingSettings)
    metrics: dict[str, Any] = Field(default_factory=dict)


def promote(request: Promote, adapters: RolloutAdapters) -> dict[str, Any]:
    """The challenger is the champion now: Approved, auto-scaled; the old champion's leftovers go."""
    metadata = {f"test_{name}": f"{value:.6g}" for name, value in request.metrics.items() if _is_number(value)}
    adapters.registry.set_status(
        request.model_package_arn, "Approved", f"promoted to {request.endpoint_name} by {request.run_id}", metadata
    )
    scaling = "off"
    if request.autoscaling.enabled:
        _scale(adapters, request.endpoint_name, request.variant_name, request.autoscaling)
        scaling = f"{request.autoscaling.min_capacity}-{request.autoscaling.max_capacity} instances"
    deleted = _delete_unused_configs(request.endpoint_name, request.configs, adapters)
    retired = request.champion
    if retired.exists and retired.variant_name != request.variant_name:
        adapters.scaling.deregister(request.endpoint_name, retired.variant_name)
        if request.champion_alarm_prefix:
            adapters.alarms.delete(alarm_names(request.champion_alarm_prefix, retired.variant_name))
        if retired.model_package_arn:
            # Only a registered model is deleted: its artifact stays in the registry, one call from redeploying.
            adapters.endpoints.delete_model(retired.model_name)
            adapters.registry.annotate(retired.model_package_arn, {"retired_by": request.run_id})
    logger.info(
        "challenger promoted",
        extra={"run_id": request.run_id, "variant": request.variant_name, "deleted_configs": deleted},
    )
    return {"approved": request.model_package_arn, "autoscaling": scaling, "deleted_configs": deleted}


def _scale(adapters: RolloutAdapters, endpoint_name: str, variant: str, settings: AutoscalingSettings) -> None:
    adapters.scaling.register(
        endpoint_name,
        variant,
        settings.min_capacity,
        settings.max_capacity,
        settings.invocations_per_instance,
        (settings.scale_in_cooldown_seconds, settings.scale_out_cooldown_seconds),
    )


def _delete_unused_configs(endpoint_name: str, configs: list[str], adapters: RolloutAdapters) -> list[str]:
    live = adapters.endpoints.describe(endpoint_name) if endpoint_name else None
    in_use = live.config_name if live else ""
    return [
        name
        for name in dict.fromkeys(configs)
        if name and name != in_use and _made_by_a_run(name) and adapters.endpoints.delete_config(name)
    ]


def _made_by_a_run(config_name: str) -> bool:
    """Only configs a run created are deleted (`<run-id>-canary`, `<run-id>-live`; `-cfg-` before the
    canary existed): an endpoint config someone made by hand may serve other endpoints."""
    return config_name.endswith(("-canary", "-live")) or "-cfg-" in config_name


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# ---------------------------------------------------------------- one entry for the handler
RolloutRequest = Annotated[
    FindChampion
    | RegisterModel
    | PrepareRollout
    | CheckAlarms
    | EnsureConfig
    | VerifyEndpoint
    | ReleaseChampionScaling
    | RestoreChampion
    | Reject
    | Promote,
    Field(discriminator="action"),
]


class _Envelope(BaseModel):
    request: RolloutRequest


def parse_request(event: Any) -> BaseModel:
    """The state machine's payload; a malformed one is a named error (a bug in the ASL, not bad data)."""
    try:
        return _Envelope.model_validate({"request": event}).request
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc'][1:]) or 'payload'}: {error['msg']}" for error in exc.errors()[:5]
        )
        raise InvalidRolloutRequest(f"invalid rollout request: {problems}") from exc


_ACTIONS: dict[type[BaseModel], Callable[[Any, RolloutAdapters], dict[str, Any]]] = {
    FindChampion: lambda request, adapters: find_champion(request, adapters).model_dump(),
    RegisterModel: register_model,
    PrepareRollout: prepare_rollout,
    CheckAlarms: check_alarms,
    EnsureConfig: ensure_config,
    VerifyEndpoint: verify_endpoint,
    ReleaseChampionScaling: release_champion_scaling,
    RestoreChampion: restore_champion,
    Reject: reject,
    Promote: promote,
}


def handle(request: BaseModel, adapters: RolloutAdapters) -> dict[str, Any]:
    """Run the action the request names."""
    return _ACTIONS[type(request)](request, adapters)
