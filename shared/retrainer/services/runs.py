"""Building and starting a retraining run: shared by every trigger."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Literal, Protocol

from aws_lambda_powertools import Logger
from pydantic import ValidationError

from retrainer import naming
from retrainer.errors import EventRejected, InvalidModelConfig
from retrainer.pipeline_config import ModelOverrides, PipelineConfig
from retrainer.ports import (
    ConfigStore,
    DataCatalog,
    ModelState,
    Notifier,
    ObjectVersion,
    TriggerLedger,
    WorkflowStarter,
)
from retrainer.run_data import ClaimState, DataLocation, RetrainingRequest, RunPaths, TriggerInfo

logger = Logger(child=True)

# Step Functions caps an execution input at 256 KiB; ours is a few KiB. Guard against a huge
# configuration document making the start fail half-way.
MAX_EXECUTION_INPUT_BYTES = 256 * 1024


# A lock outlives its run only if the run died without releasing it and the "run ended" rule could not
# free it either: it must outlast the state machine's TimeoutSeconds (12 h).
LOCK_TTL_SECONDS = 12 * 3600 + 600


class StackDefaults(Protocol):
    """The stack's names and limits a trigger needs, as the composition root loads them
    (`retrainer.settings.StackDefaults`); the services never read the environment themselves."""

    @property
    def stack_name(self) -> str: ...
    @property
    def data_bucket(self) -> str: ...
    @property
    def data_prefix(self) -> str: ...
    @property
    def artifacts_bucket(self) -> str: ...
    @property
    def state_machine_arn(self) -> str: ...
    @property
    def max_runs_per_day(self) -> int: ...
    @property
    def promotion_cooldown_seconds(self) -> int: ...
    def pipeline_config(self) -> PipelineConfig:
        """The stack's layer of a run's configuration (before the model's own document)."""
        ...


@dataclass(frozen=True)
class RunOutcome:
    """What happened to a trigger: a run started, it joined a pending set, or it was seen before."""

    status: Literal["started", "pending", "duplicate", "deferred"]
    run_id: str
    model_name: str
    execution_arn: str


class HandledTriggers:
    """Triggers this container already brought to a durable outcome, so a redelivery costs no AWS call.

    Once a trigger's handling returned (it started its run, or it is recorded pending behind a run that
    will claim it or hand it to its follow-up, or deferred for the sweep), handling it again can change
    nothing: a redelivered event whose trigger is here is a duplicate. Only successful handling is
    remembered (a failed attempt is retried in full), in memory, per container, for the newest
    `capacity` triggers; other containers, and this one after a cold start, ask the trigger table.
    """

    def __init__(self, capacity: int = 50_000) -> None:
        self._capacity = capacity
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def seen(self, run_id: str) -> bool:
        with self._lock:
            return run_id in self._seen

    def add(self, run_id: str) -> None:
        with self._lock:
            self._seen[run_id] = None
            self._seen.move_to_end(run_id)
            while len(self._seen) > self._capacity:
                self._seen.popitem(last=False)


@dataclass(frozen=True)
class Adapters:
    """The ports a trigger needs, passed in from the composition root."""

    config_store: ConfigStore
    data_catalog: DataCatalog
    ledger: TriggerLedger
    starter: WorkflowStarter
    notifier: Notifier | None = None
    handled: HandledTriggers | None = None


def resolve_config(model_name: str, defaults: StackDefaults, store: ConfigStore) -> PipelineConfig:
    """Stack defaults, then the model's own configuration document."""
    base = defaults.pipeline_config()
    document = store.model_overrides(model_name)
    if document is None:
        return base
    try:
        return ModelOverrides.model_validate(document).apply_to(base)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'document'}: {error['msg']}" for error in exc.errors()
        )
        raise InvalidModelConfig(
            f"config/{model_name}.json in the artifacts bucket: {problems}",
            model_name=model_name,
            file=f"s3://{defaults.artifacts_bucket}/config/{model_name}.json",
        ) from exc


def build_request(
    *,
    model_name: str,
    trigger: TriggerInfo,
    identity: tuple[str, ...],
    defaults: StackDefaults,
    config: PipelineConfig,
    run_id: str | None = None,
    seq: int = 0,
) -> RetrainingRequest:
    run_id = run_id or naming.run_id(model_name, *identity)
    artifacts = f"s3://{defaults.artifacts_bucket}"
    return RetrainingRequest(
        run_id=run_id,
        model_name=model_name,
        endpoint_name=naming.endpoint_name(defaults.stack_name, model_name),
        correlation_id=trigger.event_id,
        trigger=trigger,
        data=DataLocation(
            bucket=defaults.data_bucket, prefix=naming.model_data_prefix(defaults.data_prefix, model_name)
        ),
        config=config,
        paths=RunPaths(
            preprocessed=f"{artifacts}/runs/{model_name}/{run_id}/preprocessed",
            model_output=f"{artifacts}/models/{model_name}",
            transform_output=f"{artifacts}/runs/{model_name}/{run_id}/evaluation",
            data_capture=f"{artifacts}/data-capture",
        ),
        claim=ClaimState(seen_seq=seq),
    )


def check_model(model_name: str, defaults: StackDefaults, adapters: Adapters, *, list_data: bool = True) -> None:
    """A valid model name, and (unless the trigger itself proves it, as an S3 upload of a non-empty CSV
    under the model's folder does) at least one non-empty CSV in the model's data folder."""
    if not naming.is_valid_model_name(model_name):
        raise EventRejected(
            "model folder name is not a valid model name "
            "(lowercase letters, digits and single hyphens, at most 32 characters)",
            model_name=model_name,
        )
    if not list_data:
        return
    prefix = naming.model_data_prefix(defaults.data_prefix, model_name)
    if not adapters.data_catalog.has_csv(defaults.data_bucket, prefix):
        raise EventRejected(
            "the model has no non-empty CSV under its data folder",
            model_name=model_name,
            data=f"s3://{defaults.data_bucket}/{prefix}",
        )


def prepare_and_start(
    *,
    model_name: str,
    trigger: TriggerInfo,
    identity: tuple[str, ...],
    defaults: StackDefaults,
    adapters: Adapters,
    version: ObjectVersion | None = None,
) -> RunOutcome:
    """Record the trigger once; start a run unless one is running for the model (then it waits, pending).

    A running model's pending triggers are consumed by its debounce (same run) or by the follow-up
    run its end starts, so an accepted trigger is never dropped and never starts a second run.
    An S3 trigger passes its object's `version` (sequencer): the upload event itself proves the model
    folder holds a non-empty CSV, so the bucket is not listed, and an event older than one already
    seen for the same object is rejected as late.
    """
    check_model(model_name, defaults, adapters, list_data=trigger.kind != "s3_upload")
    trigger_id = naming.run_id(model_name, *identity).removeprefix(f"{model_name}-")
    run_id = f"{model_name}-{trigger_id}"
    if adapters.handled is not None and adapters.handled.seen(run_id):
        return _outcome("duplicate", run_id, model_name, defaults, trigger)
    recorded = adapters.ledger.record(
        model_name,
        trigger_id,
        {
            "trigger_kind": trigger.kind,
            "trigger_source": trigger.source,
            "trigger_detail": trigger.detail,
            "correlation_id": trigger.event_id,
            "event_id": trigger.event_id,
        },
        version,
    )
    if recorded.late:
        raise EventRejected(
            "an event with a newer sequencer was already seen for this object (late delivery)",
            sequencer=version.sequencer if version else "",
            source=trigger.source,
        )
    if recorded.redelivered and recorded.status != "pending":
        outcome = _outcome("duplicate", run_id, model_name, defaults, trigger)
    else:
        outcome = start_if_free(
            model_name=model_name,
            run_id=run_id,
            trigger=trigger.model_copy(update={"trigger_ids": (trigger_id,)}),
            seq=recorded.seq,
            defaults=defaults,
            adapters=adapters,
            redelivered=recorded.redelivered,
        )
    if adapters.handled is not None:
        adapters.handled.add(run_id)
    return outcome


def start_if_free(
    *,
    model_name: str,
    run_id: str,
    trigger: TriggerInfo,
    seq: int,
    defaults: StackDefaults,
    adapters: Adapters,
    redelivered: bool = False,
) -> RunOutcome:
    """Take the model's lock and start the run named `run_id`, or leave the trigger pending.

    One consistent read of the model's state decides deferred (cost guard) or pending (another run holds
    the lock) without writing; only a trigger that may start resolves the model's configuration and
    tries the conditional lock write, which stays the guard against two triggers racing.
    """
    now = time.time()
    day = time.strftime("%Y-%m-%d", time.gmtime(now))
    state = adapters.ledger.model_state(model_name, day)
    already_ours = state.lock_holder == run_id and state.lock_expires_at >= now
    deferral = None if already_ours else cost_guard(state, defaults, now)
    if deferral is not None:
        if adapters.ledger.first_deferral(model_name, day, deferral) and adapters.notifier is not None:
            adapters.notifier.publish(
                f"retrainer: {model_name} retraining deferred",
                {"model_name": model_name, "reason": deferral, "trigger": trigger.model_dump(), "run_id": run_id},
                "deferred",
                model_name,
            )
        logger.warning("trigger deferred: " + deferral, extra={"model_name": model_name, "run_id": run_id})
        return RunOutcome(status="deferred", run_id=run_id, model_name=model_name, execution_arn="")
    if state.locked_by_other(run_id, now):
        return _outcome("duplicate" if redelivered else "pending", run_id, model_name, defaults, trigger)
    config = resolve_config(model_name, defaults, adapters.config_store)
    if not already_ours and not adapters.ledger.acquire(
        model_name, run_id, LOCK_TTL_SECONDS, day, defaults.max_runs_per_day
    ):
        return _outcome("duplicate" if redelivered else "pending", run_id, model_name, defaults, trigger)
    request = build_request(
        model_name=model_name,
        trigger=trigger,
        identity=(),
        defaults=defaults,
        config=config,
        run_id=run_id,
        seq=seq,
    )
    payload = request.model_dump_json()
    if len(payload.encode("utf-8")) > MAX_EXECUTION_INPUT_BYTES:
        adapters.ledger.release(model_name, run_id)
        raise EventRejected("execution input would exceed Step Functions' 256 KiB limit", model_name=model_name)
    try:
        started = adapters.starter.start(run_id, payload)
    except Exception:
        # The trigger stays pending and the lock goes back: a retry (or the next trigger) starts it.
        adapters.ledger.release(model_name, run_id)
        raise
    # A redelivered trigger restarts the same execution name: Step Functions answers with the existing
    # execution (same name and input) or ExecutionAlreadyExists; either way nothing new runs.
    if started.already_existed and not already_ours:
        # The lock was free, so the execution of that name is not running its course: it ended (names stay
        # taken for 90 days). Holding the lock for it would block the model until the lock expires; the
        # trigger stays pending for the next trigger, follow-up or sweep, which start under new names.
        adapters.ledger.release(model_name, run_id)
        logger.warning("execution name already used by an ended run", extra={"run_id": run_id})
    status: Literal["started", "duplicate"] = "duplicate" if started.already_existed or redelivered else "started"
    logger.info(
        "retraining run " + status,
        extra={
            "run_id": run_id,
            "model_name": model_name,
            "execution_arn": started.execution_arn,
            "trigger_kind": trigger.kind,
            "trigger_source": trigger.source,
        },
    )
    return RunOutcome(status=status, run_id=run_id, model_name=model_name, execution_arn=started.execution_arn)


def cost_guard(state: ModelState, defaults: StackDefaults, now: float) -> str | None:
    """Why a new run may not start now (the trigger stays pending, deferred), or None."""
    if state.runs_today >= defaults.max_runs_per_day:
        return f"the model already retrained {defaults.max_runs_per_day} times today (MaxRunsPerDay)"
    promoted = state.last_promotion
    if promoted is not None and now - promoted < defaults.promotion_cooldown_seconds:
        remaining = int(defaults.promotion_cooldown_seconds - (now - promoted))
        return f"a model was promoted {int(now - promoted)} s ago; cooldown ends in {remaining} s"
    return None


def _outcome(
    status: Literal["pending", "duplicate"],
    run_id: str,
    model_name: str,
    defaults: StackDefaults,
    trigger: TriggerInfo,
) -> RunOutcome:
    logger.info(
        f"trigger {status}: a run of the model is in progress" if status == "pending" else "trigger seen before",
        extra={"run_id": run_id, "model_name": model_name, "trigger_source": trigger.source},
    )
    execution = defaults.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{run_id}"
    return RunOutcome(status=status, run_id=run_id, model_name=model_name, execution_arn=execution)
