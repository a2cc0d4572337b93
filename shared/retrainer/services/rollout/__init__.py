"""The rollout's decisions, called through ManageRolloutFunction; the state machine makes every change
to the endpoint itself (configs are created here, idempotently; UpdateEndpoint and weight shifts are not).

- `champion`: who serves now (`find_champion`) and the challenger's registry version (`register_model`);
- `guards`: the challenger's alarms (`prepare_rollout`) and whether one fired (`check_alarms`);
- `endpoint_changes`: a config (`ensure_config`), the champion's scaling released before its variant
  goes (`release_champion_scaling`), and whether a change took (`verify_endpoint`);
- `restore`: which change brings the champion back next (`plan_restore`);
- `promotion`: the endings in the registry (`promote`, `reject`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from pydantic import BaseModel, Field, ValidationError

from retrainer.errors import InvalidRolloutRequest
from retrainer.services.rollout.champion import FindChampion, RegisterModel, find_champion, register_model
from retrainer.services.rollout.endpoint_changes import (
    EnsureConfig,
    ReleaseChampionScaling,
    VerifyEndpoint,
    ensure_config,
    release_champion_scaling,
    verify_endpoint,
)
from retrainer.services.rollout.guards import CheckAlarms, PrepareRollout, check_alarms, prepare_rollout
from retrainer.services.rollout.promotion import Promote, Reject, promote, reject
from retrainer.services.rollout.restore import PlanRestore, plan_restore
from retrainer.services.rollout.wiring import RolloutAdapters, RolloutRequest

__all__ = ["ACTIONS", "RolloutAdapters", "RolloutRequest", "handle", "parse_request"]

AnyRolloutRequest = Annotated[
    FindChampion
    | RegisterModel
    | PrepareRollout
    | CheckAlarms
    | EnsureConfig
    | VerifyEndpoint
    | ReleaseChampionScaling
    | PlanRestore
    | Reject
    | Promote,
    Field(discriminator="action"),
]


class _Envelope(BaseModel):
    request: AnyRolloutRequest


def parse_request(event: Any) -> BaseModel:
    """The state machine's payload; a malformed one is a named error (a bug in the ASL, not bad data)."""
    try:
        return _Envelope.model_validate({"request": event}).request
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc'][1:]) or 'payload'}: {error['msg']}" for error in exc.errors()[:5]
        )
        raise InvalidRolloutRequest(f"invalid rollout request: {problems}") from exc


# Each action's request model, by the `action` the state machine sends.
ACTIONS: dict[type[BaseModel], Callable[[Any, RolloutAdapters], dict[str, Any]]] = {
    FindChampion: lambda request, adapters: find_champion(request, adapters).model_dump(),
    RegisterModel: register_model,
    PrepareRollout: prepare_rollout,
    CheckAlarms: check_alarms,
    EnsureConfig: ensure_config,
    VerifyEndpoint: verify_endpoint,
    ReleaseChampionScaling: release_champion_scaling,
    PlanRestore: plan_restore,
    Reject: reject,
    Promote: promote,
}


def handle(request: BaseModel, adapters: RolloutAdapters) -> dict[str, Any]:
    """Run the action the request names."""
    return ACTIONS[type(request)](request, adapters)
