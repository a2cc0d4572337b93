"""A corpus of malformed and foreign inputs: each gets a specific reason and starts nothing.

Events are built from the samples in events/ with one thing wrong. Data problems that only reading
the file reveals are covered where they are caught, before any training: tests/unit/test_preprocess.py
(and end to end in tests/offline/test_retraining_runs.py).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from functions.monitor_violation import app as monitor
from functions.start_retraining import app as start
from tests.unit.conftest import FakeContext, Stack, load_event

S3 = load_event("s3_object_created.json")
ALARM = load_event("alarm_state_change.json")
RUN = load_event("monitoring_run_completed.json")


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
]


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
    assert stack.executions() == []
    assert not [item for item in stack.ledger() if item["sk"]["S"].startswith(("trigger#", "lock"))]


@pytest.mark.parametrize(("case", "event", "reason"), VIOLATIONS, ids=[c[0] for c in VIOLATIONS])
def test_bad_violation_events(stack: Stack, context: FakeContext, case: str, event: Any, reason: str) -> None:
    stack.upload("incoming/churn/part-1.csv")
    result = monitor.lambda_handler(event, context)
    assert result["status"] == "rejected" and reason in result["reason"], result
    assert stack.executions() == []


def test_the_corpus_has_at_least_forty_inputs() -> None:
    assert len(UPLOADS) + len(VIOLATIONS) >= 40
