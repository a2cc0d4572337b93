"""coordinate_runs: the state machine's debounce at the start of a run and its hand-over at the end.

- `claim`: after each quiet wait, if no trigger arrived for the model since the last look, the run
  consumes every pending trigger (it will train on all their data) and goes on; otherwise it waits
  again (at most MAX_DEBOUNCE_ROUNDS times, so a steady stream of uploads cannot stall it forever).
- `release`: whatever the outcome, the run gives the model's lock back; if triggers arrived while
  it ran, exactly one follow-up run starts for them.
- `sweep` (scheduled): starts runs for triggers that wait (deferred, or behind an expired lock).
- a "Step Functions Execution Status Change" event (TIMED_OUT, ABORTED, FAILED): a run that ended
  without its release step frees the model, is notified with the state it was in, and hands over.
"""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from aws_lambda_powertools import Logger
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from retrainer import naming
from retrainer.boundary import require_object
from retrainer.errors import EventRejected, InvalidCoordinationRequest, InvalidModelConfig, RetrainerError
from retrainer.ports import ExecutionHistory, RecordedTrigger
from retrainer.run_data import ConsumedTrigger, TriggerInfo
from retrainer.services.action_notices import ActionNotices
from retrainer.services.runs import Adapters, StackDefaults, start_if_free

logger = Logger(child=True)

MAX_DEBOUNCE_ROUNDS = 10
# The claim's result lands in the execution's state (256 KiB cap) and in the notifications (SNS: 256 KB):
# at most this many consumed triggers are listed there; every one is in the log and its trigger item
# records `consumed_by`.
MAX_TRACED_TRIGGERS = 200
SWEEP_SLOT_SECONDS = 900  # the sweep's schedule: one follow-up name per model and slot


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
        return {"settled": False, "seen_seq": newest, "round": request.round + 1, "triggers": [], "consumed": 0}
    consumed = adapters.ledger.consume(request.model_name, pending, request.run_id)
    logger.info(
        "run claimed its triggers",
        extra={
            "run_id": request.run_id,
            "model_name": request.model_name,
            "consumed": len(consumed),
            "triggers": [t.trigger_id for t in consumed],
        },
    )
    traced = [_traced(trigger).model_dump() for trigger in consumed[:MAX_TRACED_TRIGGERS]]
    return {"settled": True, "seen_seq": newest, "round": request.round, "triggers": traced, "consumed": len(consumed)}


def _traced(trigger: RecordedTrigger) -> ConsumedTrigger:
    return ConsumedTrigger(
        trigger_id=trigger.trigger_id,
        kind=trigger.attributes.get("trigger_kind", ""),
        source=trigger.attributes.get("trigger_source", ""),
        event_id=trigger.attributes.get("event_id", ""),
        received_at=trigger.received_at,
    )


class SweepRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    action: Literal["sweep"]


def release(request: ReleaseRequest, defaults: StackDefaults, adapters: Adapters) -> dict[str, Any]:
    promoted_at = time.time() if request.outcome == "deployed" else None
    adapters.ledger.release(request.model_name, request.run_id, promoted_at)
    try:
        follow_up = start_follow_up(
            request.model_name,
            f"follow-up of {request.run_id} ({request.outcome})",
            defaults,
            adapters,
            after=request.run_id,
        )
    except InvalidModelConfig as invalid:  # the model is free; its waiting triggers need the file fixed
        ActionNotices(adapters.ledger, adapters.notifier).invalid_config(invalid)
        raise
    return {"released": True, "follow_up": follow_up}


def sweep(defaults: StackDefaults, adapters: Adapters) -> dict[str, Any]:
    """Scheduled: start runs for models whose triggers wait (deferred by the cost guard, or a dead run's lock
    expired). A model with a run in progress keeps its triggers pending. One model's problem (an invalid
    configuration document) is logged and does not hold up the others."""
    started: dict[str, str | None] = {}
    problems: dict[str, str] = {}
    for model_name in adapters.ledger.models_with_pending():
        try:
            slot = f"sweep {int(time.time() // SWEEP_SLOT_SECONDS)}"
            started[model_name] = start_follow_up(model_name, "scheduled sweep", defaults, adapters, after=slot)
        except RetrainerError as exc:
            problems[model_name] = f"{type(exc).__name__}: {exc}"
            logger.error(
                "sweep could not start a run", extra={"model_name": model_name, "problem": problems[model_name]}
            )
            if isinstance(exc, InvalidModelConfig):
                ActionNotices(adapters.ledger, adapters.notifier).invalid_config(exc)
    result: dict[str, Any] = {"started": {model: arn for model, arn in started.items() if arn}}
    if problems:
        result["problems"] = problems
    return result


def start_follow_up(
    model_name: str, why: str, defaults: StackDefaults, adapters: Adapters, *, after: str
) -> str | None:
    """Start one run for the model's pending triggers, if the model is free.

    Its name derives from the oldest pending trigger and `after` (the run that ended, or the sweep's
    slot): a retried release, or the release and the "run ended" event of one run, start the same
    execution, while a trigger that already named an execution (a run stopped before it claimed
    anything) gets a new name - Step Functions keeps execution names taken for 90 days.
    """
    pending = adapters.ledger.pending(model_name)
    if not pending:
        return None
    first = pending[0]
    trigger = TriggerInfo(
        kind=first.attributes.get("trigger_kind", "s3_upload"),  # type: ignore[arg-type]
        event_id=first.attributes.get("event_id", first.trigger_id),
        source=first.attributes.get("trigger_source", ""),
        detail=f"{why}; {len(pending)} pending trigger(s)",
        trigger_ids=tuple(t.trigger_id for t in pending[:MAX_TRACED_TRIGGERS]),
    )
    outcome = start_if_free(
        model_name=model_name,
        run_id=naming.run_id(model_name, first.trigger_id, after),
        trigger=trigger,
        seq=max(t.seq for t in pending),
        defaults=defaults,
        adapters=adapters,
    )
    return outcome.execution_arn if outcome.status in {"started", "duplicate"} else None


# --------------------------------------------------------------------------- a run that ended without release
STATUS_CHANGE = "Step Functions Execution Status Change"
# TIMED_OUT and ABORTED never reach the state machine's Catch, so the run's release step never ran.
# FAILED runs normally release themselves (every failure path goes through ReleaseAfterFailure), but an
# error no Catch covers (a States.Runtime error in a Pass or Choice state) fails the execution without
# it; releasing is idempotent (conditional on the run holding the lock), so FAILED is handled too. A
# notice goes out only when this step is what freed the model: a run that released itself already sent
# its own, and a redelivered event finds the lock gone.
ENDED_WITHOUT_RELEASE = ("TIMED_OUT", "ABORTED", "FAILED")
OUTCOMES = {"TIMED_OUT": "timed out", "ABORTED": "aborted", "FAILED": "failed"}


class ExecutionStatusDetail(BaseModel):
    """`detail` of EventBridge's "Step Functions Execution Status Change" event."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    execution_arn: str = Field(alias="executionArn")
    state_machine_arn: str = Field(alias="stateMachineArn")
    name: str
    status: str
    start_date: int | None = Field(default=None, alias="startDate")
    stop_date: int | None = Field(default=None, alias="stopDate")
    error: str | None = None
    cause: str | None = None


class ExecutionStatusChange(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    source: Literal["aws.states"]
    detail_type: Literal["Step Functions Execution Status Change"] = Field(alias="detail-type")
    id: str
    detail: ExecutionStatusDetail


_REQUEST: TypeAdapter[ClaimRequest | ReleaseRequest | SweepRequest] = TypeAdapter(
    Annotated[ClaimRequest | ReleaseRequest | SweepRequest, Field(discriminator="action")]
)


def parse_request(event: Any) -> ClaimRequest | ReleaseRequest | SweepRequest | ExecutionStatusChange:
    """The state machine's claim/release payload, the schedule's sweep, or a run's status change; anything
    else is an `InvalidCoordinationRequest` naming what is wrong (the state machine's Catch, or the
    function's dead-letter queue, gets it)."""
    try:
        body = require_object(event)
    except EventRejected as rejected:
        raise InvalidCoordinationRequest(rejected.reason) from rejected
    try:
        if "detail-type" in body:
            return ExecutionStatusChange.model_validate(body)
        return _REQUEST.validate_python(body)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'event'}: {error['msg']}" for error in exc.errors()[:5]
        )
        raise InvalidCoordinationRequest(f"not a coordination request: {problems}") from exc


def run_ended(
    event: ExecutionStatusChange, defaults: StackDefaults, adapters: Adapters, history: ExecutionHistory
) -> dict[str, Any]:
    """A run of this stack's state machine ended TIMED_OUT, ABORTED or FAILED: free its model if it still
    holds it, say what happened and where, and start the one follow-up run for triggers that wait."""
    detail = event.detail
    if detail.state_machine_arn != defaults.state_machine_arn or detail.status not in ENDED_WITHOUT_RELEASE:
        logger.info("execution status change ignored", extra={"execution_arn": detail.execution_arn})
        return {"released": False, "follow_up": None, "ignored": True}
    run_id = detail.name
    model_name = run_id.rpartition("-")[0]
    if not naming.is_valid_model_name(model_name):
        logger.warning("execution name is not a retrainer run id", extra={"execution_arn": detail.execution_arn})
        return {"released": False, "follow_up": None, "ignored": True}
    released = adapters.ledger.release(model_name, run_id)
    state = None
    if released:  # a run that released itself (or a redelivered event) was already notified
        state = history.last_state(detail.execution_arn)
        outcome = OUTCOMES[detail.status]
        where = f" in state {state}" if state else ""
        what_happened = f"the run {outcome}{where} before its release step; the model was freed"
        message: dict[str, Any] = {
            "model_name": model_name,
            "run_id": run_id,
            "status": detail.status,
            "state": state,
            "error": detail.error,
            "cause": detail.cause,
            "execution_arn": detail.execution_arn,
            "started_at": detail.start_date,
            "stopped_at": detail.stop_date,
            "lock_released": released,
            "what_happened": what_happened,
        }
        logger.warning(what_happened, extra={"run_id": run_id, "model_name": model_name})
        if adapters.notifier is not None:
            subject = f"retrainer: {model_name} {outcome}{where} ({run_id})"
            adapters.notifier.publish(subject, message, outcome, model_name)
    follow_up = start_follow_up(
        model_name, f"follow-up of {run_id} ({detail.status})", defaults, adapters, after=run_id
    )
    return {"released": released, "follow_up": follow_up, "status": detail.status, "state": state}
