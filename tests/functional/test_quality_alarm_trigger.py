"""Issue 15's trigger on the moto stack: the quality alarm retrains on the feedback data; feedback files written
by model-quality runs start nothing (events/quality_alarm.json, events/s3_object_created.json)."""

from __future__ import annotations

import copy
import json
from typing import Any

from functions.monitor_violation import app as monitor_violation
from functions.start_retraining import app as start_retraining
from tests.aws_stack import Stack
from tests.samples import FakeContext, load_event
from tests.sns_messages import published

QUALITY = load_event("quality_alarm.json")
UPLOAD = load_event("s3_object_created.json")
FEEDBACK_CSV = "incoming/churn/feedback/2026-12-01-10.csv"


def upload_event(key: str) -> dict[str, Any]:
    event = copy.deepcopy(UPLOAD)
    event["detail"]["object"]["key"] = key
    return event


def test_the_quality_alarm_retrains_the_model_on_its_feedback_data(stack: Stack, context: FakeContext) -> None:
    # Given churn's upload and the feedback rows a model-quality run wrote
    stack.upload("incoming/churn/part-1.csv")
    stack.upload(FEEDBACK_CSV)
    # When its quality alarm (retrainer-quality-churn--auc) goes to ALARM
    result = monitor_violation.lambda_handler(QUALITY, context)
    # Then one execution starts on churn's whole folder, its trigger the quality alarm
    assert result["status"] == "started" and result["model_name"] == "churn"
    [execution] = stack.executions()
    request = json.loads(execution["input"])
    assert request["trigger"]["kind"] == "quality_alarm"
    assert request["trigger"]["source"] == "retrainer-quality-churn--auc"
    assert request["data"]["s3_uri"] == f"s3://{stack.data_bucket}/incoming/churn/"
    # And the trigger table records the kind (what `retrainer show` and the notices list)
    [trigger] = [i for i in stack.ledger() if i["sk"]["S"].startswith("trigger#")]
    assert trigger["trigger_kind"]["S"] == "quality_alarm"
    # And the same transition delivered again starts nothing
    assert monitor_violation.lambda_handler(copy.deepcopy(QUALITY), context)["status"] == "duplicate"
    assert len(stack.executions()) == 1


def test_a_quality_alarm_without_feedback_tells_the_owner_once_where_labels_go(
    stack: Stack, context: FakeContext
) -> None:
    # Given churn has data but no model-quality run wrote feedback rows
    stack.upload("incoming/churn/part-1.csv")
    # When its quality alarm fires (and the event is delivered again)
    results = [monitor_violation.lambda_handler(copy.deepcopy(QUALITY), context) for _ in range(2)]
    # Then nothing runs and the reason says where ground truth goes
    assert all(r["status"] == "rejected" for r in results)
    assert f"s3://{stack.data_bucket}/ground-truth/churn/yyyy/mm/dd/hh/" in results[0]["reason"]
    assert stack.executions() == []
    # And the owner is told once
    [(subject, body)] = published("action needed")
    assert subject == "retrainer: churn action needed" and "no labelled rows were written" in body["problem"]


def test_feedback_written_by_a_model_quality_run_starts_no_run_and_sends_no_notice(
    stack: Stack, context: FakeContext
) -> None:
    # Given churn has data and a model-quality run writes its window's feedback CSV and .json
    stack.upload("incoming/churn/part-1.csv")
    results = []
    for key in (FEEDBACK_CSV, FEEDBACK_CSV.replace(".csv", ".json")):
        stack.upload(key)
        # When S3's "Object Created" events arrive
        results.append(start_retraining.lambda_handler(upload_event(key), context))
    # Then both are rejected with the reason, nothing runs, nothing is recorded or notified
    assert [r["status"] for r in results] == ["rejected", "rejected"]
    assert all(r["reason"].startswith("feedback data: a quality alarm starts the retraining") for r in results)
    assert stack.executions() == []
    assert [i for i in stack.ledger() if i["sk"]["S"].startswith("trigger#")] == []
    assert published() == []
