"""S3 "Object Created" (through EventBridge) under `<prefix><model>/` starts that model's retraining."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from retrainer import composition, settings
from retrainer.boundary import parse_event, run_trigger
from retrainer.events import S3ObjectCreatedEvent
from retrainer.services.action_notices import ActionNotices
from retrainer.services.start_retraining import start_from_upload
from retrainer.tracing import LazyTracer

logger = Logger()
tracer = LazyTracer()  # the X-Ray SDK loads at the first call, not at import
metrics = Metrics()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE, log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    config = settings.load(settings.StartRetrainingSettings)
    adapters = composition.trigger_adapters(config)
    return run_trigger(
        metrics,
        ActionNotices(adapters.ledger, adapters.notifier),
        lambda: start_from_upload(parse_event(event, S3ObjectCreatedEvent), config, adapters),
    )
