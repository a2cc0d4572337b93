"""A corpus of malformed and foreign inputs: each gets a specific reason and starts nothing.

Events are built from the samples in events/ with one thing wrong. Data problems that only reading
the file reveals are covered where they are caught, before any training: tests/unit/test_preprocess.py
(and end to end in tests/offline/test_retraining_runs.py).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from functions.coordinate_runs import app as coordinate
from functions.monitor_violation import app as monitor
from functions.publish_job_code import app as publish
from functions.start_retraining import app as start
from retrainer.errors import EventRejected, InvalidCoordinationRequest
from tests.aws_stack import Stack
from tests.samples import FakeContext, load_event

S3 = load_event("s3_object_created.json")
ALARM = load_event("alarm_state_change.json")
RUN = load_event("monitoring_run_completed.json")
CLAIM = load_event("coordinate_runs_claim.json")
ENDED = load_event("step_functions_execution_timed_out.json")


def change(sample: dict[str, Any], edit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    event = copy.deepcopy(sample)
    edit(event)
    return event


def obj(**fields: Any) -> Callable[[dict[str, Any]], None]:
    return lambda e: e["detail"]["object"].update(fields)


def drop(*path: str) -> Callable[[dict[str, Any]], None]:
    def edit(event: dict[str, Any]) -> None:
        target = event
        for part in path[:-1]:
            target = target[part]
        del target[path[-1]]

    return edit


def setter(*path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(event: dict[str, Any]) -> None:
        target = event
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value

    return edit


def nested(depth: int) -> dict[str, Any]:
    """An event whose detail nests `depth` levels (built without recursion, as json.loads would)."""
    event = copy.deepcopy(S3)
    inner: dict[str, Any] = {}
    event["detail"]["object"]["tags"] = inner
    for _ in range(depth):
        inner["x"] = {}
        inner = inner["x"]
    return event


def key(name: str) -> Callable[[dict[str, Any]], None]:
    return obj(key=name)


NOT_S3 = "event is not the expected S3ObjectCreatedEvent"
NOT_ALARM = "event is not the expected AlarmStateChangeEvent"
NOT_RUN = "event is not the expected ProcessingJobStateChangeEvent"

UPLOADS: list[tuple[str, Any, str]] = [
    ("ec2 event", change(S3, setter("source", value="aws.ec2")), NOT_S3),
    ("object deleted", change(S3, setter("detail-type", value="Object Deleted")), NOT_S3),
    ("object restore", change(S3, setter("detail-type", value="Object Restore Completed")), NOT_S3),
    ("no detail", change(S3, drop("detail")), NOT_S3),
    ("no bucket", change(S3, drop("detail", "bucket")), NOT_S3),
    ("no object", change(S3, drop("detail", "object")), NOT_S3),
    ("no key", change(S3, drop("detail", "object", "key")), NOT_S3),
    ("size not a number", change(S3, obj(size="big")), NOT_S3),
    ("no id", change(S3, drop("id")), NOT_S3),
    ("no time", change(S3, drop("time")), NOT_S3),
    ("time not a time", change(S3, setter("time", value="yesterday")), NOT_S3),
    ("detail is a string", change(S3, setter("detail", value="{}")), NOT_S3),
    ("list instead of object", [S3], "event is not a JSON object"),
    ("string instead of object", "Object Created", "event is not a JSON object"),
    ("null event", None, "event is not a JSON object"),
    ("empty object", {}, NOT_S3),
    (
        "wrong bucket",
        change(S3, setter("detail", "bucket", "name", value="other-bucket")),
        "not in the stack's data bucket",
    ),
    ("key outside the prefix", change(S3, obj(key="archive/churn/a.csv")), "outside the data prefix"),
    ("prefix without slash", change(S3, obj(key="incomingchurn/a.csv")), "outside the data prefix"),
    ("parquet file", change(S3, obj(key="incoming/churn/a.parquet")), "not a CSV"),
    ("no suffix", change(S3, obj(key="incoming/churn/data")), "not a CSV"),
    ("folder marker", change(S3, obj(key="incoming/churn/", size=0)), "not a CSV"),
    ("zero size", change(S3, obj(size=0)), "empty (size 0)"),
    ("dot-dot segment", change(S3, obj(key="incoming/churn/../../etc/a.csv")), "'..' path segment"),
    ("newline in key", change(S3, obj(key="incoming/churn/a\n.csv")), "control characters"),
    ("nul in key", change(S3, obj(key="incoming/churn/a\x00.csv")), "control characters"),
    ("delete in key", change(S3, obj(key="incoming/churn/a\x7f.csv")), "control characters"),
    ("key over 1024 bytes", change(S3, obj(key="incoming/churn/" + "é" * 510 + ".csv")), "1,024-byte"),
    ("file at prefix root", change(S3, obj(key="incoming/a.csv")), "not inside a model folder"),
    ("uppercase model", change(S3, obj(key="incoming/Churn/a.csv")), "not a valid model name"),
    ("underscore model", change(S3, obj(key="incoming/churn_v2/a.csv")), "not a valid model name"),
    ("double hyphen model", change(S3, obj(key="incoming/churn--x/a.csv")), "not a valid model name"),
    ("model name too long", change(S3, obj(key="incoming/" + "m" * 40 + "/a.csv")), "not a valid model name"),
    ("oversized event", change(S3, setter("detail", "padding", value="x" * 300_000)), "256 KB"),
    # Not a JSON object at all: the reason names what arrived.
    ("number instead of object", 42, "event is not a JSON object (got int)"),
    ("boolean instead of object", True, "event is not a JSON object (got bool)"),
    ("list of strings", ["aws.s3", "Object Created"], "event is not a JSON object (got list)"),
    ("null is named null", None, "(got null)"),
    # Deep nesting: rejected before json, pydantic or logging recurse (RecursionError before).
    ("nested 40 levels", nested(40), "nests deeper than 32 levels"),
    ("nested 5000 levels", nested(5000), "nests deeper than 32 levels"),
    # Foreign or near-miss shapes.
    ("detail-type in lower case", change(S3, setter("detail-type", value="object created")), NOT_S3),
    ("source in upper case", change(S3, setter("source", value="AWS.S3")), NOT_S3),
    ("detail is a list", change(S3, setter("detail", value=[S3["detail"]])), NOT_S3),
    ("key is a number", change(S3, obj(key=12345)), NOT_S3),
    ("size negative", change(S3, obj(size=-1)), NOT_S3),
    ("sequencer not hex", change(S3, obj(sequencer="ZZ-not-hex")), "sequencer is not a hexadecimal"),
    # Unicode beyond ASCII controls: every invisible or unassigned category, named by code point.
    ("C1 next-line U+0085", change(S3, key("incoming/churn/a\u0085.csv")), "U+0085, category Cc"),
    ("bidi override U+202E", change(S3, key("incoming/churn/evil\u202evsc.csv")), "U+202E, category Cf"),
    ("zero-width space U+200B", change(S3, key("incoming/churn/\u200ba.csv")), "U+200B, category Cf"),
    ("byte-order mark U+FEFF", change(S3, key("incoming/churn/\ufeffa.csv")), "U+FEFF, category Cf"),
    ("line separator U+2028", change(S3, key("incoming/churn/a\u2028.csv")), "U+2028, category Zl"),
    ("paragraph separator U+2029", change(S3, key("incoming/churn/a\u2029.csv")), "U+2029, category Zp"),
    ("private use U+E000", change(S3, key("incoming/churn/\ue000.csv")), "U+E000, category Co"),
    ("unassigned U+0378", change(S3, key("incoming/churn/a\u0378.csv")), "U+0378, category Cn"),
    ("lone surrogate U+D800", change(S3, key("incoming/churn/a\ud800.csv")), "U+D800, category Cs"),
    ("control in the model folder", change(S3, key("incoming/ch\u0085urn/a.csv")), "category Cc"),
    # File names that are no file name.
    ("file name only .csv", change(S3, key("incoming/churn/.csv")), "only an extension"),
    ("file name only .CSV", change(S3, key("incoming/churn/.CSV")), "only an extension"),
    ("file name dots and .csv", change(S3, key("incoming/churn/...csv")), "only an extension"),
    ("dot segment", change(S3, key("incoming/churn/./a.csv")), "'.' or '..' path segment"),
    ("model folder is a dot", change(S3, key("incoming/./a.csv")), "'.' or '..' path segment"),
    # Look-alike model names are not normalised into a valid one.
    ("fullwidth model name", change(S3, key("incoming/\uff43hurn/a.csv")), "not a valid model name"),
    ("model name with a space", change(S3, key("incoming/churn v2/a.csv")), "not a valid model name"),
    (
        "bucket name in upper case",
        change(S3, setter("detail", "bucket", "name", value=S3["detail"]["bucket"]["name"].upper())),
        "not in the stack's data bucket",
    ),
]

VIOLATIONS: list[tuple[str, Any, str]] = [
    ("alarm back to OK", change(ALARM, setter("detail", "state", "value", value="OK")), "not in ALARM state"),
    (
        "alarm insufficient data",
        change(ALARM, setter("detail", "state", "value", value="INSUFFICIENT_DATA")),
        "not in ALARM state",
    ),
    ("alarm unknown state", change(ALARM, setter("detail", "state", "value", value="BROKEN")), NOT_ALARM),
    ("alarm of another stack", change(ALARM, setter("detail", "alarmName", value="prod-drift-churn")), "convention"),
    ("alarm for no model", change(ALARM, setter("detail", "alarmName", value="retrainer-drift-")), "convention"),
    (
        "alarm for a bad model name",
        change(ALARM, setter("detail", "alarmName", value="retrainer-drift-Churn")),
        "convention",
    ),
    ("alarm without name", change(ALARM, drop("detail", "alarmName")), NOT_ALARM),
    ("alarm without state", change(ALARM, drop("detail", "state")), NOT_ALARM),
    (
        "alarm for a model with no data",
        change(ALARM, setter("detail", "alarmName", value="retrainer-drift-fraud")),
        "no non-empty CSV",
    ),
    ("ec2 state change", change(ALARM, setter("source", value="aws.ec2")), NOT_ALARM),
    ("monitoring run failed", change(RUN, setter("detail", "ProcessingJobStatus", value="Failed")), "did not complete"),
    (
        "monitoring run stopped",
        change(RUN, setter("detail", "ProcessingJobStatus", value="Stopped")),
        "did not complete",
    ),
    (
        "run without violations",
        change(RUN, setter("detail", "ExitMessage", value="Completed: no violations")),
        "without violations",
    ),
    (
        "run for another endpoint",
        change(RUN, setter("detail", "Environment", value={"sagemaker_endpoint_name": "x-y"})),
        "not for one of this stack's endpoints",
    ),
    ("run without job name", change(RUN, drop("detail", "ProcessingJobName")), NOT_RUN),
    # Not objects, too deep: rejected before the source is looked at (AttributeError before).
    ("list instead of object", [ALARM], "event is not a JSON object (got list)"),
    ("string instead of object", json.dumps(ALARM), "event is not a JSON object (got str)"),
    ("null event", None, "event is not a JSON object (got null)"),
    ("number event", 3.5, "event is not a JSON object (got float)"),
    ("nested alarm", change(ALARM, setter("detail", "configuration", value=nested(100)["detail"])), "nests deeper"),
    ("source is a list", change(ALARM, setter("source", value=["aws.sagemaker"])), NOT_ALARM),
    # Alarm names near the convention.
    (
        "alarm one hyphen off the convention",
        change(ALARM, setter("detail", "alarmName", value="retrainer-drift-churn-feature-age")),
        "one hyphen off the drift-alarm convention",
    ),
    (
        "alarm with an extra hyphen after drift",
        change(ALARM, setter("detail", "alarmName", value="retrainer-drift--churn")),
        "convention",
    ),
    (
        "alarm with a trailing hyphen",
        change(ALARM, setter("detail", "alarmName", value="retrainer-drift-churn-")),
        "convention",
    ),
    ("alarm name empty", change(ALARM, setter("detail", "alarmName", value="")), NOT_ALARM),
    # Monitoring runs that cannot be ours.
    (
        "run for a processing job that does not exist",
        change(RUN, drop("detail", "ExitMessage")),
        "processing job that does not exist",
    ),
    (
        "training job state change",
        change(RUN, setter("detail-type", value="SageMaker Training Job State Change")),
        NOT_RUN,
    ),
    ("run status missing", change(RUN, drop("detail", "ProcessingJobStatus")), NOT_RUN),
]


def untouched(stack: Stack) -> None:
    """No execution, no trigger or lock recorded, nothing written to the artifacts bucket."""
    assert stack.executions() == []
    assert not [item for item in stack.ledger() if item["sk"]["S"].startswith(("trigger#", "lock", "state", "object#"))]
    assert stack.s3.list_objects_v2(Bucket=stack.artifacts_bucket).get("KeyCount", 0) == 0


@pytest.mark.parametrize(("case", "event", "reason"), UPLOADS, ids=[c[0] for c in UPLOADS])
def test_bad_upload_events(
    stack: Stack, context: FakeContext, case: str, event: Any, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Given the model has data, so only the event is wrong
    stack.upload(S3["detail"]["object"]["key"])
    # When the event arrives
    result = start.lambda_handler(event, context)
    # Then it is rejected with its specific reason, logged, and nothing is started or recorded
    assert result["status"] == "rejected" and reason in result["reason"], result
    assert reason in caplog.text
    untouched(stack)


@pytest.mark.parametrize(("case", "event", "reason"), VIOLATIONS, ids=[c[0] for c in VIOLATIONS])
def test_bad_violation_events(
    stack: Stack, context: FakeContext, case: str, event: Any, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    stack.upload("incoming/churn/part-1.csv")
    result = monitor.lambda_handler(event, context)
    assert result["status"] == "rejected" and reason in result["reason"], result
    assert reason in caplog.text
    untouched(stack)


COORDINATION: list[tuple[str, Any, str]] = [
    ("list", [CLAIM], "event is not a JSON object (got list)"),
    ("string", "claim", "event is not a JSON object (got str)"),
    ("null", None, "(got null)"),
    ("nested", {"action": "claim", "x": nested(50)}, "nests deeper"),
    ("unknown action", {**CLAIM, "action": "delete-everything"}, "not a coordination request"),
    ("no action", {"model_name": "churn"}, "not a coordination request"),
    ("claim without run id", {k: v for k, v in CLAIM.items() if k != "run_id"}, "run_id"),
    ("foreign status change", {**ENDED, "source": "aws.ec2"}, "not a coordination request"),
]


@pytest.mark.parametrize(("case", "event", "reason"), COORDINATION, ids=[c[0] for c in COORDINATION])
def test_bad_coordination_requests(stack: Stack, context: FakeContext, case: str, event: Any, reason: str) -> None:
    # Given a malformed payload (the state machine and the function disagree, or a foreign event)
    # When CoordinateRunsFunction gets it, Then it fails by name with the reason, touching nothing
    with pytest.raises(InvalidCoordinationRequest, match=re.escape(reason)):
        coordinate.lambda_handler(event, context)
    untouched(stack)


@pytest.mark.parametrize(
    "event", [None, [], "Create", {"RequestType": "Create"}, {"ResponseURL": "file:///etc/passwd"}]
)
def test_custom_resource_requests_without_a_response_url_are_refused(context: FakeContext, event: Any) -> None:
    with pytest.raises(EventRejected):
        publish.lambda_handler(event, context)


def test_the_corpus_has_at_least_ninety_inputs() -> None:
    assert len(UPLOADS) + len(VIOLATIONS) + len(COORDINATION) >= 90
