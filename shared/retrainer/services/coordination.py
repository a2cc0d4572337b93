"""coordinate_runs: the state machine's debounce at the start of a run and its hand-over at the end.

- `claim`: after each quiet wait, if no trigger arrived for the model since the last look, the run
  consumes every pending trigger (it will train on all their data) and goes on; otherwise it waits
  again (at most MAX_DEBOUNCE_ROUNDS times, so a steady stream of uploads cannot stall it forever).
- `release`: whatever the outcome, the run gives the model's lock back; if triggers arrived while
  it ran, exactly one follow-up run starts for them.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from aws_lambda_powertools import Logger
from pydantic import BaseModel, ConfigDict

from retrainer.pipeline_config import TriggerInfo
from retrainer.services.runs import Adapters, resolve_config, start_if_free
from retrainer.settings import PipelineDefaults

logger = Logger(child=True)

MAX_DEBOUNCE_ROUNDS = 10


class ClaimRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    action: Literal["claim"]
    model_name: str
    run_id: str
    seen_seq: int
    round: int = 0


class ReleaseRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    action: Literal["release"]
    model_name: str
    run_id: str
    outcome: str


def claim(request: ClaimRequest, adapters: Adapters) -> dict[str, Any]:
    pending = adapters.ledger.pending(request.model_name)
    newest = max((trigger.seq for trigger in pending), default=request.seen_seq)
    quiet = newest <= request.seen_seq
    if not quiet and request.round + 1 < MAX_DEBOUNCE_ROUNDS:
        return {"settled": False, "seen_seq": newest, "round": request.round + 1, "triggers": []}
    consumed = adapters.ledger.consume(request.model_name, [t.trigger_id for t in pending], request.run_id)
    logger.info(
        "run claimed its triggers",
        extra={"run_id": request.run_id, "model_name": request.model_name, "triggers": consumed},
    )
    return {"settled": True, "seen_seq": newest, "round": request.round, "triggers": consumed}


class SweepRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    action: Literal["sweep"]


def release(request: ReleaseRequest, defaults: PipelineDefaults, adapters: Adapters) -> dict[str, Any]:
    if request.outcome == "deployed":
        adapters.ledger.record_promotion(request.model_name, time.time())
    adapters.ledger.release(request.model_name, request.run_id)
    follow_up = start_follow_up(
        request.model_name, f"follow-up of {request.run_id} ({request.outcome})", defaults, adapters
    )
    return {"released": True, "follow_up": follow_up}


def sweep(defaults: PipelineDefaults, adapters: Adapters) -> dict[str, Any]:
    """Scheduled: start runs for models whose triggers wait (deferred by the cost guard, or a dead run's lock
    expired). A model with a run in progress keeps its triggers pending."""
    started = {}
    for model_name in adapters.ledger.models_with_pending():
        started[model_name] = start_follow_up(model_name, "scheduled sweep", defaults, adapters)
    return {"started": {model: arn for model, arn in started.items() if arn}}


def start_follow_up(model_name: str, why: str, defaults: PipelineDefaults, adapters: Adapters) -> str | None:
    pending = adapters.ledger.pending(model_name)
    if not pending:
        return None
    first = pending[0]
    trigger = TriggerInfo(
        kind=first.attributes.get("trigger_kind", "s3_upload"),  # type: ignore[arg-type]
        event_id=first.attributes.get("event_id", first.trigger_id),
        source=first.attributes.get("trigger_source", ""),
        detail=f"{why}; {len(pending)} pending trigger(s)",
    )
    outcome = start_if_free(
        model_name=model_name,
        run_id=f"{model_name}-{first.trigger_id}",
        trigger=trigger,
        seq=max(trigger.seq for trigger in pending),
        defaults=defaults,
        adapters=adapters,
        config=resolve_config(model_name, defaults, adapters.config_store),
    )
    return outcome.execution_arn if outcome.status in {"started", "duplicate"} else None
