"""A drift or model-quality alarm in ALARM, or a Model Monitor run completed with violations, retrains the model."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from retrainer import composition, settings
from retrainer.boundary import parse_event, require_object, run_trigger
from retrainer.events import AlarmStateChangeEvent, ProcessingJobStateChangeEvent
from retrainer.services.action_notices import ActionNotices
from retrainer.services.monitor_violation import start_from_alarm, start_from_monitoring_run
from retrainer.services.runs import Adapters, RunOutcome
from retrainer.tracing import LazyTracer

logger = Logger()
tracer = LazyTracer()  # the X-Ray SDK loads at the first call, not at import
metrics = Metrics()


def _start(event: Any, config: settings.MonitorViolationSettings, adapters: Adapters) -> RunOutcome:
    if require_object(event).get("source") in ("aws.sagemaker", "retrainer.monitoring"):
        run = parse_event(event, ProcessingJobStateChangeEvent)
        return start_from_monitoring_run(run, config, adapters, composition.processing_jobs())
    return start_from_alarm(parse_event(event, AlarmStateChangeEvent), config, adapters)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE, log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    config = settings.load(settings.MonitorViolationSettings)
    adapters = composition.trigger_adapters(config)
    return run_trigger(
        metrics, ActionNotices(adapters.ledger, adapters.notifier), lambda: _start(event, config, adapters)
    )
