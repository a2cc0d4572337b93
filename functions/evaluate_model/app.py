"""The state machine's Evaluate step (both models' metrics on the same test split and the quality gate)
and its CheckNewData step (is this run's training data the champion's?)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from retrainer import composition, settings
from retrainer.services.evaluation import handle
from retrainer.tracing import LazyTracer

logger = Logger()
tracer = LazyTracer()  # the X-Ray SDK loads at the first call, not at import


@logger.inject_lambda_context(correlation_id_path="correlation_id", log_event=False)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    config = settings.load(settings.EvaluateModelSettings)
    objects = composition.s3_objects()
    result = handle(event, objects, max_rows=config.max_rows)
    logger.info("evaluated: " + str(result.get("verdict") or result.get("note")), extra=result)
    return result
