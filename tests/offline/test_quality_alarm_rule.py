"""template.yaml rule QualityAlarm in the offline runtime: a model-quality alarm going to ALARM reaches
MonitorViolationFunction through the rules imitation (eventbridge/rules.py delivers with moto's pattern matcher,
which must honour the rule's `prefix` on `detail.alarmName` and `state.value`), and the feedback rule of the
trigger holds on the way: no feedback, no run; feedback files themselves start nothing.

AWS docs: "Alarm events and EventBridge" (cloudwatch-and-eventbridge.html), "Content filtering in Amazon
EventBridge event patterns" (prefix matching).
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from retrainer import naming
from retrainer_offline.runtime import OfflineRuntime
from tests.offline.conftest import Notifications


def _quality_alarm(runtime: OfflineRuntime, model: str) -> str:
    """The alarm promotion makes for a model (README "What the wiring needs": Minimum auc, 1 of 1, notBreaching)."""
    name = naming.quality_alarm_name(runtime.stack_name, model, "auc")
    runtime.client("cloudwatch").put_metric_alarm(
        AlarmName=name,
        Namespace="aws/sagemaker/Endpoints/model-metrics",
        MetricName="auc",
        Dimensions=[{"Name": "Endpoint", "Value": naming.endpoint_name(runtime.stack_name, model)}],
        Statistic="Minimum",
        Period=3600,
        EvaluationPeriods=1,
        Threshold=0.9,
        ComparisonOperator="LessThanThreshold",
        TreatMissingData="notBreaching",
    )
    return name


def _fire(runtime: OfflineRuntime, alarm: str) -> None:
    runtime.client("cloudwatch").set_alarm_state(
        AlarmName=alarm, StateValue="ALARM", StateReason="Threshold Crossed: 1 datapoint [0.61] was less than 0.9"
    )


def _notices(notifications: Notifications, model: str, timeout: float = 30) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [json.loads(n["Message"]) for n in notifications.drain()]
        mine = [m for m in found if m.get("model_name") == model]
        if mine:
            return mine
        time.sleep(0.1)
    return []


def test_a_quality_alarm_without_feedback_reaches_the_trigger_and_is_refused_with_a_notice(
    runtime: OfflineRuntime, notifications: Notifications
) -> None:
    # Given a model whose quality alarm exists, and no feedback data in its folder
    model = "qualitynofeedback"
    alarm = _quality_alarm(runtime, model)
    notifications.drain()
    # When the alarm goes to ALARM
    _fire(runtime, alarm)
    # Then the QualityAlarm rule delivers it to MonitorViolationFunction, which tells the owner where labels go
    [notice] = _notices(notifications, model)
    assert notice["outcome"] == "action needed" and notice["alarm"] == alarm
    assert f"ground-truth/{model}/yyyy/mm/dd/hh/" in notice["problem"]
    # And no run starts
    assert not [e for e in runtime.executions() if e["name"].startswith(f"{model}-")]


@pytest.mark.e2e
def test_a_quality_alarm_with_feedback_starts_a_quality_alarm_run_and_feedback_uploads_start_none(
    runtime: OfflineRuntime, dataset: Any, model_config: dict[str, Any]
) -> None:
    model = "qualitywatch"
    # Given a model with data already in its folder (put while the S3 upload rule is disabled)
    events = runtime.client("events")
    upload_rules = [
        r["Name"]
        for r in events.list_rules()["Rules"]
        if "aws.s3" in r.get("EventPattern", "") and r["State"] == "ENABLED"
    ]
    for rule in upload_rules:
        events.disable_rule(Name=rule)
    try:
        runtime.put_model_config(model, model_config)
        runtime.upload(model, "part-1.csv", dataset.parts[0])
    finally:
        for rule in upload_rules:
            events.enable_rule(Name=rule)
    # And a model-quality run's feedback CSV lands with the upload rule enabled
    runtime.upload(model, "feedback/2026-12-01-10.csv", dataset.parts[1])
    runtime.drain(timeout=30)
    # Then that upload started nothing
    assert not [e for e in runtime.executions() if e["name"].startswith(f"{model}-")]
    # When the model's quality alarm goes to ALARM
    _fire(runtime, _quality_alarm(runtime, model))
    # Then a retraining starts, its trigger the quality alarm
    execution = runtime.next_execution(timeout=60, model=model)
    sfn = runtime.client("stepfunctions")
    request = json.loads(sfn.describe_execution(executionArn=execution)["input"])
    sfn.stop_execution(executionArn=execution, error="Test", cause="the start is what this test checks")
    assert request["trigger"]["kind"] == "quality_alarm"
    assert request["trigger"]["source"] == naming.quality_alarm_name(runtime.stack_name, model, "auc")
