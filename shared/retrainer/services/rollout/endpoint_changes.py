"""What an endpoint change needs before it, and the verdict after it (the state machine makes the change).

- `ensure_config`: CreateEndpointConfig that a retried step cannot duplicate;
- `release_champion_scaling`: a variant with auto scaling cannot be removed by UpdateEndpoint;
- `verify_endpoint`: is the endpoint InService on the config and weights just applied? (SageMaker can
  roll an update back silently: a mismatch is reported, never taken for success).
"""

from __future__ import annotations

import math
from typing import Any, Literal

from aws_lambda_powertools import Logger
from pydantic import BaseModel, ConfigDict, Field

from retrainer.errors import EndpointConfigConflict, EndpointConfigExists
from retrainer.ports import EndpointState, VariantSpec
from retrainer.run_data import ENDPOINT_POLL_SECONDS, Champion, poll_budget
from retrainer.services.rollout.wiring import IN_PROGRESS, RolloutAdapters, RolloutRequest

logger = Logger(child=True)


class VariantRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str
    model_name: str
    instance_type: str
    instance_count: int = Field(ge=1)
    weight: float = Field(ge=0)


class EnsureConfig(RolloutRequest):
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


class VerifyEndpoint(RolloutRequest):
    action: Literal["verify_endpoint"]
    endpoint_name: str
    expected_config: str
    expected_weights: list[ExpectedWeight] | None = None
    polls: int = 0
    timeout_seconds: int = Field(ge=1, description="How long the change may take to be InService.")
    poll_seconds: int = Field(default=ENDPOINT_POLL_SECONDS, ge=1, description="The state machine's wait.")
    switch: dict[str, Any] = Field(default_factory=dict, description="The update call's answer or its error.")


def verify_endpoint(request: VerifyEndpoint, adapters: RolloutAdapters) -> dict[str, Any]:
    """One look at the endpoint after an update: ready, still waiting, or what went wrong."""
    endpoint = adapters.endpoints.describe(request.endpoint_name)
    polls = request.polls + 1
    state, reason = _judge(request, endpoint)
    if state == "waiting" and polls >= poll_budget(request.timeout_seconds, request.poll_seconds):
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


class ReleaseChampionScaling(RolloutRequest):
    action: Literal["release_champion_scaling"]
    endpoint_name: str
    champion: Champion


def release_champion_scaling(request: ReleaseChampionScaling, adapters: RolloutAdapters) -> dict[str, Any]:
    """Before UpdateEndpoint removes the champion's variant: AWS refuses to remove an auto-scaled variant."""
    if not request.champion.exists:
        return {"released": False}
    released = adapters.scaling.deregister(request.endpoint_name, request.champion.variant_name)
    return {"released": released}
