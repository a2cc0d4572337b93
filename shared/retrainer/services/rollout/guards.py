"""The canary's guards: the challenger variant's CloudWatch alarms, and whether one fired.

- `prepare_rollout`: the challenger's alarms (5XX errors, 4XX errors, model latency) and the blue/green
  DeploymentConfig;
- `check_alarms`: did a challenger alarm fire during this bake (now, or since the bake began)?
"""

from __future__ import annotations

from typing import Any, Literal

from aws_lambda_powertools import Logger
from pydantic import Field

from retrainer.pipeline_config import BlueGreenSettings, CanaryAlarms
from retrainer.ports import AlarmSpec
from retrainer.services.rollout.wiring import RolloutAdapters, RolloutRequest

logger = Logger(child=True)


class PrepareRollout(RolloutRequest):
    action: Literal["prepare_rollout"]
    endpoint_name: str
    variant_name: str
    alarm_prefix: str
    alarms: CanaryAlarms = Field(default_factory=CanaryAlarms)
    blue_green: BlueGreenSettings = Field(default_factory=BlueGreenSettings)


def alarm_names(prefix: str, variant: str) -> list[str]:
    return [f"{prefix}{variant}-5xx", f"{prefix}{variant}-latency", f"{prefix}{variant}-4xx"]


def prepare_rollout(request: PrepareRollout, adapters: RolloutAdapters) -> dict[str, Any]:
    """The challenger variant's alarms (documented in the README), and the blue/green DeploymentConfig."""
    errors, latency, refusals = alarm_names(request.alarm_prefix, request.variant_name)
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
            AlarmSpec(
                name=refusals,
                description=f"retrainer canary guard: {thresholds.max_4xx_errors}+ 4XX errors in a minute "
                f"from challenger {request.variant_name} (requests it refuses) roll it back",
                metric_name="Invocation4XXErrors",
                statistic="Sum",
                dimensions=dimensions,
                threshold=float(thresholds.max_4xx_errors),
                comparison="GreaterThanOrEqualToThreshold",
                periods=1,
            ),
        ]
    )
    names = [errors, latency, refusals]
    return {"alarm_names": names, "deployment_config": request.blue_green.deployment_config(names)}


class CheckAlarms(RolloutRequest):
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
