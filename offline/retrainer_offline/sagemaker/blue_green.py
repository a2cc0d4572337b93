"""Blue/green `UpdateEndpoint` with a `DeploymentConfig` (sagemaker-contracts.md §5): its checks and its clock.

The policy is validated (ranges, ALL_AT_ONCE / CANARY / LINEAR traffic steps); an update that would remove,
or change the instance type of, a variant registered with Application Auto Scaling is refused; a bake looks
at the rollback alarms; MaximumExecutionTimeoutInSeconds passing rolls the deployment back.
"""

from __future__ import annotations

from typing import Any

from moto.applicationautoscaling.models import applicationautoscaling_backends
from moto.cloudwatch.models import cloudwatch_backends
from moto.sagemaker.exceptions import ValidationError

from retrainer_offline.core import clock
from retrainer_offline.sagemaker.fleets import Fleet

ALARM_POLL_SECONDS = 10.0  # how often a blue/green bake looks at its rollback alarms (emulated)
ROLLBACK_REASON = "Blue/green deployment of {config} rolled back: {cause}. Traffic is back on {blue}."
SCALING_DIMENSION = "sagemaker:variant:DesiredInstanceCount"


class Rollback(Exception):
    """A blue/green deployment that must go back to blue (the message is the cause)."""


class Timer:
    """Emulated time spent by one deployment, against MaximumExecutionTimeoutInSeconds (0: no limit)."""

    def __init__(self, budget: float) -> None:
        self.budget = budget
        self.spent = 0.0

    def sleep(self, seconds: float, checked: bool = True) -> None:
        if checked and self.budget and self.spent + seconds > self.budget:
            clock.current().sleep(max(0.0, self.budget - self.spent))
            self.spent = self.budget
            raise Rollback(f"MaximumExecutionTimeoutInSeconds ({self.budget:g} s) reached")
        clock.current().sleep(seconds)
        self.spent += seconds


def check_auto_scaling(backend: Any, endpoint: str, blue: Fleet, green: Fleet) -> None:
    """endpoint-scaling-update.html: an update may not remove, or change the instance type of, a variant that
    is registered as a scalable target; deregister it first."""
    scaling = applicationautoscaling_backends[backend.account_id][backend.region_name]
    registered = {
        t.resource_id.rsplit("/", 1)[-1]
        for t in scaling.describe_scalable_targets("sagemaker", None, SCALING_DIMENSION)
        if t.resource_id.startswith(f"endpoint/{endpoint}/variant/")
    }
    for variant in blue.variants:
        if variant.name not in registered:
            continue
        new = green.variant(variant.name)
        if new is None:
            problem = "removes it"
        elif variant.instance_type and new.instance_type != variant.instance_type:
            problem = f"changes its instance type from {variant.instance_type} to {new.instance_type}"
        else:
            continue
        raise ValidationError(
            message=f"The variant {variant.name} of endpoint {endpoint} is registered as an Application Auto "
            f"Scaling scalable target (endpoint/{endpoint}/variant/{variant.name}) and the update {problem}. "
            "Deregister the scalable target before updating the endpoint."
        )


def validated_policy(deployment: dict[str, Any], green: Fleet) -> dict[str, Any]:
    """DeploymentConfig.BlueGreenUpdatePolicy with the ranges of sagemaker-contracts.md §5 checked."""
    policy = deployment.get("BlueGreenUpdatePolicy")
    if not policy:
        raise ValidationError(message="DeploymentConfig needs a BlueGreenUpdatePolicy in this runtime.")
    routing = policy.get("TrafficRoutingConfiguration") or {}
    _in_range("WaitIntervalInSeconds", routing.get("WaitIntervalInSeconds"), 0, 3600, required=True)
    _in_range("TerminationWaitInSeconds", policy.get("TerminationWaitInSeconds", 0), 0, 3600)
    if policy.get("MaximumExecutionTimeoutInSeconds") is not None:
        _in_range("MaximumExecutionTimeoutInSeconds", policy["MaximumExecutionTimeoutInSeconds"], 600, 28800)
    kind = routing.get("Type")
    if kind == "CANARY":
        share = _capacity_share("CanarySize", routing.get("CanarySize"), green)
        if not 0 < share <= 0.5:
            raise ValidationError(
                message=f"CanarySize must be more than 0 and at most 50% of the fleet, not {share:.0%}."
            )
    elif kind == "LINEAR":
        share = _capacity_share("LinearStepSize", routing.get("LinearStepSize"), green)
        if not 0.1 <= share <= 0.5:
            raise ValidationError(message=f"LinearStepSize must be between 10% and 50% of the fleet, not {share:.0%}.")
    elif kind != "ALL_AT_ONCE":
        raise ValidationError(
            message=f"TrafficRoutingConfiguration.Type must be ALL_AT_ONCE, CANARY or LINEAR, not {kind}."
        )
    return dict(policy)


def _in_range(name: str, value: Any, low: int, high: int, required: bool = False) -> None:
    if value is None:
        if required:
            raise ValidationError(message=f"{name} is required.")
        return
    if not low <= int(value) <= high:
        raise ValidationError(message=f"{name} must be between {low} and {high}, not {value}.")


def _capacity_share(name: str, size: dict[str, Any] | None, green: Fleet) -> float:
    """A CapacitySize as a share of the green fleet: CAPACITY_PERCENT of it, or INSTANCE_COUNT instances."""
    if not size:
        raise ValidationError(message=f"{name} is required for this traffic routing type.")
    value = float(size.get("Value", 0))
    if size.get("Type") == "CAPACITY_PERCENT":
        return value / 100
    if size.get("Type") == "INSTANCE_COUNT":
        return value / max(1, green.instances)
    raise ValidationError(message=f"{name}.Type must be CAPACITY_PERCENT or INSTANCE_COUNT.")


def traffic_steps(routing: dict[str, Any], green: Fleet) -> list[float]:
    """The green shares one after another, each followed by a bake (§5 semantics)."""
    kind = routing["Type"]
    if kind == "CANARY":
        return [_capacity_share("CanarySize", routing["CanarySize"], green), 1.0]
    if kind == "LINEAR":
        step = _capacity_share("LinearStepSize", routing["LinearStepSize"], green)
        shares = [min(1.0, step * i) for i in range(1, int(1 / step) + 1)]
        return shares if shares[-1] >= 1.0 else [*shares, 1.0]
    return [1.0]


def alarms_in_alarm(backend: Any, names: list[str]) -> list[str]:
    if not names:
        return []
    alarms = cloudwatch_backends[backend.account_id][backend.region_name].alarms
    return [n for n in names if n in alarms and alarms[n].state_value == "ALARM"]
