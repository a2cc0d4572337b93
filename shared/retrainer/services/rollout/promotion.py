"""The rollout's two endings in the registry and on the endpoint.

- `promote`: the challenger is Approved and auto-scaled; the old champion's leftovers go;
- `reject`: the challenger is Rejected; its configs and alarms go; the champion keeps its scaling.
"""

from __future__ import annotations

from typing import Any, Literal

from aws_lambda_powertools import Logger
from pydantic import Field

from retrainer.pipeline_config import AutoscalingSettings
from retrainer.run_data import Champion
from retrainer.services.rollout.guards import alarm_names
from retrainer.services.rollout.wiring import RolloutAdapters, RolloutRequest

logger = Logger(child=True)


class Reject(RolloutRequest):
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


class Promote(RolloutRequest):
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
