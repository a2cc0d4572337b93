"""Run coordination: claim pending triggers, release the model at a run's end, the scheduled sweep, and runs
that ended without their release step (timed out, aborted)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from retrainer import composition, settings
from retrainer.services.coordination import (
    ClaimRequest,
    ExecutionStatusChange,
    SweepRequest,
    claim,
    parse_request,
    release,
    run_ended,
    sweep,
)
from retrainer.tracing import LazyTracer

logger = Logger()
tracer = LazyTracer()  # the X-Ray SDK loads at the first call, not at import


@logger.inject_lambda_context(correlation_id_path="correlation_id", log_event=False)
@tracer.capture_lambda_handler
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    request = parse_request(event)
    config = settings.load(settings.CoordinateRunsSettings)
    adapters = composition.trigger_adapters(config)
    if isinstance(request, ClaimRequest):
        return claim(request, adapters)
    if isinstance(request, SweepRequest):
        return sweep(config, adapters)
    if isinstance(request, ExecutionStatusChange):
        return run_ended(request, config, adapters, composition.execution_history())
    return release(request, config, adapters)
