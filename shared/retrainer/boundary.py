"""What every trigger handler does at its edge: check the event's shape, parse, reject clearly, count.

An event a trigger does not act on is not an error: it is logged with its reason and answered with
`{"status": "rejected"}` so Lambda does not retry it and nothing is started. Errors that may pass
(throttling, a service outage) propagate as `AwsServiceBusy`, so Lambda retries the event and finally
sends it to the function's dead-letter queue. A problem only the user can fix (an invalid
`config/<model>.json`, an `ActionNeeded` rejection, an AWS call denied) also sends one
"action needed" notification.

Nothing here may raise while describing a hostile event: the event's shape is checked without
recursion, and everything logged about it is a bounded summary (`summarize`).
"""

from __future__ import annotations

import json
import reprlib
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ValidationError

from retrainer.errors import ActionNeeded, AwsCallFailed, AwsServiceBusy, EventRejected, InvalidModelConfig
from retrainer.services.action_notices import ActionNotices
from retrainer.services.runs import RunOutcome

logger = Logger(child=True)

_E = TypeVar("_E", bound=BaseModel)

# EventBridge events are at most 256 KB; anything larger did not come from EventBridge.
MAX_EVENT_BYTES = 256 * 1024
# The deepest AWS event we accept nests 6 levels; 32 leaves room for any documented shape and stops
# recursion (json, pydantic, logging) long before Python's limit.
MAX_EVENT_DEPTH = 32
MAX_LOGGED_CHARS = 200

# Error codes a retry may cure: the event is retried (Lambda, then EventBridge) instead of rejected.
RETRYABLE_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
        "RequestThrottled",
        "SlowDown",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "InternalServiceError",
        "KMSInternalException",
        "TransactionConflictException",
    }
)

_summary = reprlib.Repr()
_summary.maxlevel = 3
_summary.maxstring = MAX_LOGGED_CHARS
_summary.maxother = MAX_LOGGED_CHARS
_summary.maxdict = 8
_summary.maxlist = 8


def summarize(value: object) -> str:
    """A bounded, never-raising description of any value (a deeply nested event included)."""
    try:
        text = value if isinstance(value, str) else _summary.repr(value)
    except Exception:  # describing a value must never fail the handler
        text = f"<{type(value).__name__}>"
    # Lone surrogates (a hostile key) cannot be encoded: escape them so no log handler fails on them.
    return text[:MAX_LOGGED_CHARS].encode("utf-8", "backslashreplace").decode("utf-8")


def require_object(event: Any) -> dict[str, Any]:
    """The event as a JSON object of a sane depth and size, or a rejection saying which it is not."""
    if not isinstance(event, dict):
        kind = "null" if event is None else type(event).__name__
        raise EventRejected(f"event is not a JSON object (got {kind})", received_type=kind)
    depth = _depth(event, MAX_EVENT_DEPTH)
    if depth > MAX_EVENT_DEPTH:
        raise EventRejected(f"event nests deeper than {MAX_EVENT_DEPTH} levels", depth_at_least=depth)
    size = len(json.dumps(event, default=str).encode("utf-8"))
    if size > MAX_EVENT_BYTES:
        raise EventRejected("event is larger than EventBridge's 256 KB limit", size_bytes=size)
    return event


def require_custom_resource_request(event: Any) -> dict[str, Any]:
    """A CloudFormation custom-resource request: an object with an http(s) ResponseURL to answer to.
    Anything else cannot be answered, so it is refused (raised) with the reason."""
    request = require_object(event)
    url = request.get("ResponseURL")
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise EventRejected(
            "custom-resource request has no http(s) ResponseURL", request_type=request.get("RequestType")
        )
    return request


def _depth(value: Any, limit: int) -> int:
    """Nesting depth of dicts and lists, counted without recursion; stops once past `limit`."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        stack.extend((child, depth + 1) for child in children)
    return deepest


def parse_event(event: Any, model: type[_E]) -> _E:
    """Validate an AWS event against its pydantic model; a mismatch is a rejection, not a crash."""
    event = require_object(event)
    try:
        return model.model_validate(event)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(summarize(str(p)) for p in error['loc']) or 'event'}: {error['msg']}"
            for error in exc.errors()[:5]
        )
        raise EventRejected(
            f"event is not the expected {model.__name__}: {problems}",
            source=event.get("source"),
            detail_type=event.get("detail-type"),
        ) from exc


def run_trigger(metrics: Metrics, notices: ActionNotices, action: Callable[[], RunOutcome]) -> dict[str, Any]:
    """Run a trigger's service call; turn a rejection into a logged, counted, non-retried answer."""
    try:
        outcome = _translated(action)
    except EventRejected as rejected:
        context = {key: summarize(value) for key, value in rejected.context.items()}
        logger.warning("event rejected: " + rejected.reason, extra={"reason": rejected.reason, **context})
        metrics.add_metric(name="EventsRejected", unit=MetricUnit.Count, value=1)
        if isinstance(rejected, ActionNeeded):
            notices.once(model_name=context.get("model_name", ""), problem=rejected.reason, details=context)
        return {"status": "rejected", "reason": rejected.reason}
    except InvalidModelConfig as invalid:
        metrics.add_metric(name="InvalidModelConfigs", unit=MetricUnit.Count, value=1)
        notices.invalid_config(invalid)
        raise
    except AwsCallFailed as failed:
        notices.once(model_name="", problem=f"an AWS call failed: {failed}", details={})
        raise
    metric = "RunsStarted" if outcome.status == "started" else "DuplicateTriggers"
    metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)
    return {
        "status": outcome.status,
        "run_id": outcome.run_id,
        "model_name": outcome.model_name,
        "execution_arn": outcome.execution_arn,
    }


def _translated(action: Callable[[], RunOutcome]) -> RunOutcome:
    """AWS errors become domain errors by name: retryable (`AwsServiceBusy`) or not (`AwsCallFailed`)."""
    try:
        return action()
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        described = f"{exc.operation_name}: {code or status}: {summarize(error.get('Message', ''))}"
        if code in RETRYABLE_CODES or status >= 500:
            raise AwsServiceBusy(described) from exc
        raise AwsCallFailed(described) from exc
    except BotoCoreError as exc:  # connection errors and timeouts: a retry may cure them
        raise AwsServiceBusy(f"{type(exc).__name__}: {summarize(str(exc))}") from exc
