"""The state machine's Evaluate step: metrics of the batch-transform output and the quality gate."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from retrainer import composition, settings
from retrainer.services.evaluation import evaluate, parse_request

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context(correlation_id_path="correlation_id", log_event=False)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    config = settings.load(settings.EvaluateModelSettings)
    result = evaluate(parse_request(event), composition.s3_objects(), max_rows=config.max_rows)
    logger.info("model evaluated", extra=result.model_dump())
    return result.model_dump()
