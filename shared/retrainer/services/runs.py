"""Building and starting a retraining run: shared by every trigger."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from aws_lambda_powertools import Logger
from pydantic import ValidationError

from retrainer import naming
from retrainer.errors import EventRejected, InvalidModelConfig
from retrainer.pipeline_config import (
    DataLocation,
    ModelOverrides,
    PipelineConfig,
    RetrainingRequest,
    RunPaths,
    TriggerInfo,
)
from retrainer.ports import ConfigStore, DataCatalog, TriggerLedger, WorkflowStarter
from retrainer.settings import PipelineDefaults

logger = Logger(child=True)

# Step Functions caps an execution input at 256 KiB; ours is a few KiB. Guard against a huge
# configuration document making the start fail half-way.
MAX_EXECUTION_INPUT_BYTES = 256 * 1024


@dataclass(frozen=True)
class RunOutcome:
    status: Literal["started", "duplicate"]
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
) -> RetrainingRequest:
    run_id = naming.run_id(model_name, *identity)
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
    )


def prepare_and_start(
    *,
    model_name: str,
    trigger: TriggerInfo,
    identity: tuple[str, ...],
    defaults: PipelineDefaults,
    adapters: Adapters,
) -> RunOutcome:
    """Check the model can be trained, resolve its configuration, record the trigger, start the run."""
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
    config = resolve_config(model_name, defaults, adapters.config_store)
    request = build_request(model_name=model_name, trigger=trigger, identity=identity, defaults=defaults, config=config)
    payload = request.model_dump_json()
    if len(payload.encode("utf-8")) > MAX_EXECUTION_INPUT_BYTES:
        raise EventRejected("execution input would exceed Step Functions' 256 KiB limit", model_name=model_name)

    first_time = adapters.ledger.record(
        request.run_id,
        model_name,
        {
            "trigger_kind": trigger.kind,
            "trigger_source": trigger.source,
            "correlation_id": request.correlation_id,
            "event_id": trigger.event_id,
        },
    )
    # Start even when the ledger already had the run: a previous attempt may have recorded it and
    # died before StartExecution. The deterministic execution name keeps this from running twice.
    started = adapters.starter.start(request.run_id, payload)
    status: Literal["started", "duplicate"] = "duplicate" if started.already_existed or not first_time else "started"
    logger.info(
        "retraining run " + status,
        extra={
            "run_id": request.run_id,
            "model_name": model_name,
            "execution_arn": started.execution_arn,
            "trigger_kind": trigger.kind,
            "trigger_source": trigger.source,
        },
    )
    return RunOutcome(status=status, run_id=request.run_id, model_name=model_name, execution_arn=started.execution_arn)
