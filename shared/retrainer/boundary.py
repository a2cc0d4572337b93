"""What every trigger handler does at its edge: parse, reject clearly, count.

An event a trigger does not act on is not an error: it is logged with its reason and answered with
`{"status": "rejected"}` so Lambda does not retry it and nothing is started. Errors that may pass
(throttling, a service outage) propagate, so Lambda retries the event and finally sends it to the
function's dead-letter queue.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, ValidationError

from retrainer.errors import EventRejected
from retrainer.services.runs import RunOutcome

logger = Logger(child=True)

_E = TypeVar("_E", bound=BaseModel)
_Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


# EventBridge events are at most 256 KB; anything larger did not come from EventBridge.
MAX_EVENT_BYTES = 256 * 1024


def parse_event(event: Any, model: type[_E]) -> _E:
    """Validate an AWS event against its pydantic model; a mismatch is a rejection, not a crash."""
    if not isinstance(event, dict):
        raise EventRejected("event is not a JSON object", received_type=type(event).__name__)
    size = len(json.dumps(event, default=str).encode("utf-8"))
    if size > MAX_EVENT_BYTES:
        raise EventRejected("event is larger than EventBridge's 256 KB limit", size_bytes=size)
    try:
        return model.model_validate(event)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'event'}: {error['msg']}" for error in exc.errors()[:5]
        )
        raise EventRejected(
            f"event is not the expected {model.__name__}: {problems}",
            source=event.get("source"),
            detail_type=event.get("detail-type"),
        ) from exc


def run_trigger(metrics: Metrics, action: Callable[[], RunOutcome]) -> dict[str, Any]:
    """Run a trigger's service call; turn a rejection into a logged, counted, non-retried answer."""
    try:
        outcome = action()
    except EventRejected as rejected:
        logger.warning(
            "event rejected: " + rejected.reason,
            extra={"reason": rejected.reason, **{k: str(v) for k, v in rejected.context.items()}},
        )
        metrics.add_metric(name="EventsRejected", unit=MetricUnit.Count, value=1)
        return {"status": "rejected", "reason": rejected.reason}
    metric = "RunsStarted" if outcome.status == "started" else "DuplicateTriggers"
    metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)
    return {
        "status": outcome.status,
        "run_id": outcome.run_id,
        "model_name": outcome.model_name,
        "execution_arn": outcome.execution_arn,
    }
