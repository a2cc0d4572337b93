"""Building and starting a retraining run: shared by every trigger."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

from aws_lambda_powertools import Logger
from pydantic import ValidationError

from retrainer import naming
from retrainer.errors import EventRejected, InvalidModelConfig
from retrainer.pipeline_config import (
    ClaimState,
    DataLocation,
    ModelOverrides,
    PipelineConfig,
    RetrainingRequest,
    RunPaths,
    TriggerInfo,
)
from retrainer.ports import ConfigStore, DataCatalog, Notifier, TriggerLedger, WorkflowStarter
from retrainer.settings import PipelineDefaults

logger = Logger(child=True)

# Step Functions caps an execution input at 256 KiB; ours is a few KiB. Guard against a huge
# configuration document making the start fail half-way.
MAX_EXECUTION_INPUT_BYTES = 256 * 1024


# A lock outlives its run only if the run died without releasing it (the state machine's timeout).
LOCK_TTL_SECONDS = 6 * 3600 + 600


@dataclass(frozen=True)
class RunOutcome:
    """What happened to a trigger: a run started, it joined a pending set, or it was seen before."""

    status: Literal["started", "pending", "duplicate", "deferred"]
    run_id: str
    model_name: str
    execution_arn: str


@dataclass(frozen=True)
class Adapters:
    """The ports a trigger needs, passed in from the composition root."""

    config_store: ConfigStore
    data_catalog: DataCatalog
    ledger: TriggerLedger
    starter: WorkflowStarter
    notifier: Notifier | None = None


def resolve_config(model_name: str, defaults: PipelineDefaults, store: ConfigStore) -> PipelineConfig:
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
        raise InvalidModelConfig(f"config/{model_name}.json in the artifacts bucket: {problems}") from exc


def build_request(
    *,
    model_name: str,
    trigger: TriggerInfo,
    identity: tuple[str, ...],
    defaults: PipelineDefaults,
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


def check_model(model_name: str, defaults: PipelineDefaults, adapters: Adapters) -> None:
    if not naming.is_valid_model_name(model_name):
        raise EventRejected(
            "model folder name is not a valid model name "
            "(lowercase letters, digits and single hyphens, at most 32 characters)",
            model_name=model_name,
        )
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
    defaults: PipelineDefaults,
    adapters: Adapters,
) -> RunOutcome:
    """Record the trigger once; start a run unless one is running for the model (then it waits, pending).

    A running model's pending triggers are consumed by its debounce (same run) or by the follow-up
    run its end starts, so an accepted trigger is never dropped and never starts a second run.
    """
    check_model(model_name, defaults, adapters)
    config = resolve_config(model_name, defaults, adapters.config_store)
    trigger_id = naming.run_id(model_name, *identity).removeprefix(f"{model_name}-")
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
    )
    run_id = f"{model_name}-{trigger_id}"
    if recorded.redelivered and recorded.status != "pending":
        return _outcome("duplicate", run_id, model_name, defaults, trigger)
    return start_if_free(
        model_name=model_name,
        run_id=run_id,
        trigger=trigger,
        seq=recorded.seq,
        defaults=defaults,
        adapters=adapters,
        config=config,
        redelivered=recorded.redelivered,
    )


def start_if_free(
    *,
    model_name: str,
    run_id: str,
    trigger: TriggerInfo,
    seq: int,
    defaults: PipelineDefaults,
    adapters: Adapters,
    config: PipelineConfig,
    redelivered: bool = False,
) -> RunOutcome:
    """Take the model's lock and start the run named `run_id`, or leave the trigger pending."""
    now = time.time()
    day = time.strftime("%Y-%m-%d", time.gmtime(now))
    deferral = cost_guard(model_name, defaults, adapters, now, day)
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
    if not adapters.ledger.acquire(model_name, run_id, LOCK_TTL_SECONDS):
        return _outcome("duplicate" if redelivered else "pending", run_id, model_name, defaults, trigger)
    adapters.ledger.count_run(model_name, day)
    request = build_request(
        model_name=model_name, trigger=trigger, identity=(), defaults=defaults, config=config, run_id=run_id, seq=seq
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


def cost_guard(model_name: str, defaults: PipelineDefaults, adapters: Adapters, now: float, day: str) -> str | None:
    """Why a new run may not start now (the trigger stays pending, deferred), or None."""
    if adapters.ledger.runs_started(model_name, day) >= defaults.max_runs_per_day:
        return f"the model already retrained {defaults.max_runs_per_day} times today (MaxRunsPerDay)"
    promoted = adapters.ledger.last_promotion(model_name)
    if promoted is not None and now - promoted < defaults.promotion_cooldown_seconds:
        remaining = int(defaults.promotion_cooldown_seconds - (now - promoted))
        return f"a model was promoted {int(now - promoted)} s ago; cooldown ends in {remaining} s"
    return None


def _outcome(
    status: Literal["pending", "duplicate"],
    run_id: str,
    model_name: str,
    defaults: PipelineDefaults,
    trigger: TriggerInfo,
) -> RunOutcome:
    logger.info(
        f"trigger {status}: a run of the model is in progress" if status == "pending" else "trigger seen before",
        extra={"run_id": run_id, "model_name": model_name, "trigger_source": trigger.source},
    )
    execution = defaults.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{run_id}"
    return RunOutcome(status=status, run_id=run_id, model_name=model_name, execution_arn=execution)
