"""Run coordination: claim pending triggers, release the model at a run's end, the scheduled sweep, and runs
that ended without their release step (timed out, aborted)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from retrainer import composition, settings
from retrainer.services.coordination import (
    STATUS_CHANGE,
    ClaimRequest,
    ExecutionStatusChange,
    ReleaseRequest,
    claim,
    release,
    run_ended,
    sweep,
)
from retrainer.tracing import LazyTracer

logger = Logger()
tracer = LazyTracer()  # the X-Ray SDK loads at the first call, not at import


@logger.inject_lambda_context(correlation_id_path="correlation_id", log_event=False)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    config = settings.load(settings.CoordinateRunsSettings)
    adapters = composition.trigger_adapters(config)
    action = event.get("action")
    if action == "claim":
        return claim(ClaimRequest.model_validate(event), adapters)
    if action == "sweep":
        return sweep(config, adapters)
    if event.get("detail-type") == STATUS_CHANGE:
        ended = ExecutionStatusChange.model_validate(event)
        return run_ended(ended, config, adapters, composition.execution_history())
    return release(ReleaseRequest.model_validate(event), config, adapters)
