"""monitor_violation: a drift alarm or a Model Monitor run with violations retrains the guarded model."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from functions.monitor_violation import app
from tests.aws_stack import Stack
from tests.samples import FakeContext, load_event
from tests.sns_messages import published

ALARM = load_event("alarm_state_change.json")
MONITORING = load_event("monitoring_run_completed.json")


def test_drift_alarm_retrains_the_model_it_guards(stack: Stack, context: FakeContext) -> None:
    # Given churn has data and its drift alarm (retrainer-drift-churn--feature-age) goes to ALARM
    stack.upload("incoming/churn/part-1.csv")
    # When the alarm's state-change event arrives
    result = app.lambda_handler(ALARM, context)
    # Then churn retrains on its latest data, and the trigger names the alarm
    assert result["status"] == "started" and result["model_name"] == "churn"
    request = json.loads(stack.executions()[0]["input"])
    assert request["trigger"]["kind"] == "drift_alarm"
    assert request["trigger"]["source"] == "retrainer-drift-churn--feature-age"
    assert request["data"]["prefix"] == "incoming/churn/"


def test_the_same_alarm_transition_delivered_twice_runs_once(stack: Stack, context: FakeContext) -> None:
    stack.upload("incoming/churn/part-1.csv")
    app.lambda_handler(ALARM, context)
    again = app.lambda_handler(copy.deepcopy(ALARM), context)
    assert again["status"] == "duplicate"
    assert len(stack.executions()) == 1


def alarm_named(name: str) -> dict[str, Any]:
    event = copy.deepcopy(ALARM)
    event["detail"]["alarmName"] = name
    return event


def test_an_alarm_one_hyphen_off_the_convention_names_the_rule_and_notifies_once(
    stack: Stack, context: FakeContext
) -> None:
    # Given churn has data, and its drift alarm was named with one hyphen where the convention wants two
    stack.upload("incoming/churn/part-1.csv")
    # When the alarm fires (and fires again)
    results = [app.lambda_handler(alarm_named("retrainer-drift-churn-feature-age"), context) for _ in range(2)]
    # Then the rejection names the convention and the name to use, instead of "no data"; nothing runs
    assert all(r["status"] == "rejected" for r in results)
    assert "one hyphen off" in results[0]["reason"] and "retrainer-drift-churn--feature-age" in results[0]["reason"]
    assert stack.executions() == []
    # And the owner is told once
    [(subject, body)] = published("action needed")
    assert subject == "retrainer: churn action needed" and "retrainer-drift-churn--feature-age" in body["problem"]


def test_a_model_with_a_hyphen_in_its_name_is_not_taken_for_a_misnamed_alarm(
    stack: Stack, context: FakeContext
) -> None:
    # Given both churn and churn-v2 have data
    stack.upload("incoming/churn/part-1.csv")
    stack.upload("incoming/churn-v2/part-1.csv")
    # When churn-v2's alarm (no suffix) fires, Then churn-v2 retrains
    result = app.lambda_handler(alarm_named("retrainer-drift-churn-v2"), context)
    assert result["status"] == "started" and result["model_name"] == "churn-v2"
    assert published("action needed") == []


def test_an_alarm_of_another_stack_is_rejected_without_a_notice(stack: Stack, context: FakeContext) -> None:
    stack.upload("incoming/churn/part-1.csv")
    result = app.lambda_handler(alarm_named("prod-drift-churn"), context)
    assert result["status"] == "rejected" and "convention" in result["reason"]
    assert published() == []


def test_monitoring_run_with_violations_retrains_the_endpoint_model(stack: Stack, context: FakeContext) -> None:
    stack.upload("incoming/churn/part-1.csv")
    result = app.lambda_handler(MONITORING, context)
    assert result["status"] == "started" and result["model_name"] == "churn"
    request = json.loads(stack.executions()[0]["input"])
    assert request["trigger"]["kind"] == "monitoring_violation"
    assert request["trigger"]["detail"].startswith("CompletedWithViolations")


def _alarm(**state: Any) -> dict[str, Any]:
    event = copy.deepcopy(ALARM)
    event["detail"]["state"].update(state)
    return event


def _monitoring(**detail: Any) -> dict[str, Any]:
    event = copy.deepcopy(MONITORING)
    event["detail"].update(detail)
    return event


REJECTED = [
    ("alarm back to OK", _alarm(value="OK"), "not in ALARM state"),
    (
        "alarm of another stack",
        {**ALARM, "detail": {**ALARM["detail"], "alarmName": "other-drift-churn"}},
        "convention",
    ),
    (
        "alarm with no model",
        {**ALARM, "detail": {**ALARM["detail"], "alarmName": "retrainer-drift-"}},
        "convention",
    ),
    (
        "run without violations",
        _monitoring(ExitMessage="Completed: Job completed successfully with no violations."),
        "without violations",
    ),
    ("run that failed", _monitoring(ProcessingJobStatus="Failed"), "did not complete"),
    (
        "run for a foreign endpoint",
        _monitoring(Environment={"sagemaker_endpoint_name": "prod-fraud"}),
        "not for one of this stack's endpoints",
    ),
    ("not an event at all", {"hello": "world"}, "event is not the expected AlarmStateChangeEvent"),
]


@pytest.mark.parametrize(("case", "event", "reason"), REJECTED, ids=[r[0] for r in REJECTED])
def test_violations_that_do_not_apply_are_rejected(
    stack: Stack, context: FakeContext, case: str, event: dict[str, Any], reason: str
) -> None:
    stack.upload("incoming/churn/part-1.csv")
    result = app.lambda_handler(event, context)
    assert result["status"] == "rejected" and reason in result["reason"]
    assert stack.executions() == []
