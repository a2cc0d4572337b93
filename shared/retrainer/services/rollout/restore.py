"""Restore planning: which change brings the champion back next (the state machine makes it).

`plan_restore` is called in a loop until the endpoint serves the champion's own config again: traffic
off the challenger first (a weight change is immediate), then the champion's config. It only looks and
says; one change per look, so a retried step never stacks two updates.
"""

from __future__ import annotations

from typing import Any, Literal

from aws_lambda_powertools import Logger
from pydantic import Field

from retrainer.ports import EndpointState
from retrainer.run_data import ENDPOINT_POLL_SECONDS, Champion, restore_budget
from retrainer.services.rollout.wiring import IN_PROGRESS, RolloutAdapters, RolloutRequest

logger = Logger(child=True)

RestoreState = Literal["restored", "waiting", "shift_weights", "switch_config", "failed", "timeout"]


class PlanRestore(RolloutRequest):
    action: Literal["plan_restore"]
    endpoint_name: str
    champion: Champion
    challenger_variant: str
    polls: int = 0
    update_timeout_seconds: int = Field(ge=1, description="The rollout's; a restore waits at least twice as long.")
    poll_seconds: int = Field(default=ENDPOINT_POLL_SECONDS, ge=1)


def plan_restore(request: PlanRestore, adapters: RolloutAdapters) -> dict[str, Any]:
    """One look: `restored`, `waiting`, the next change (`shift_weights` with its `weights`, or
    `switch_config` to `champion_config`), or `failed`/`timeout`."""
    endpoint = adapters.endpoints.describe(request.endpoint_name)
    polls = request.polls + 1
    state, action = _next_change(request, endpoint)
    if state == "waiting" and polls >= restore_budget(request.update_timeout_seconds, request.poll_seconds):
        state = "timeout"
        action = f"the champion was not back after {polls} checks: endpoint is {endpoint.status if endpoint else '-'}"
    logger.info("restoring the champion: " + action, extra={"run_id": request.run_id, "state": state})
    champion = request.champion
    weights = [
        {"VariantName": champion.variant_name, "DesiredWeight": 1.0},
        {"VariantName": request.challenger_variant, "DesiredWeight": 0.0},
    ]
    return {
        "state": state,
        "action": action,
        "polls": polls,
        "champion_config": champion.endpoint_config_name,
        "weights": weights if state == "shift_weights" else [],
    }


def _next_change(request: PlanRestore, endpoint: EndpointState | None) -> tuple[RestoreState, str]:
    champion = request.champion
    if endpoint is None:
        return "failed", f"endpoint {request.endpoint_name} does not exist"
    if endpoint.status in IN_PROGRESS:
        return "waiting", f"endpoint is {endpoint.status}"
    if endpoint.config_name == champion.endpoint_config_name and endpoint.status == "InService":
        return "restored", f"endpoint serves the champion's config {champion.endpoint_config_name} again"
    live = {v.name: v for v in endpoint.variants}
    challenger = live.get(request.challenger_variant)
    if champion.variant_name in live and challenger is not None and challenger.current_weight > 0:
        return "shift_weights", "weights set back to the champion at 100%"
    return "switch_config", f"endpoint switching back to the champion's config {champion.endpoint_config_name}"
