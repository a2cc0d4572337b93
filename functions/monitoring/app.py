"""Monitoring (data and model quality): set up at promotion, taken down at retirement; each scheduled run's windows
and results."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from retrainer import composition, settings
from retrainer.services.monitoring import handle, parse_request
from retrainer.tracing import LazyTracer

logger = Logger()
tracer = LazyTracer()  # the X-Ray SDK loads at the first call, not at import


@logger.inject_lambda_context(correlation_id_path="correlation_id", log_event=False)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    config = settings.load(settings.MonitoringFunctionSettings)
    request = parse_request(event)
    stack, adapters = composition.monitoring(config)
    return handle(request, stack, adapters)
