"""CloudWatch metric alarms in the offline runtime: evaluated on the stored metric data, as CloudWatch does.

Docs cited below: AWS CloudWatch user guide "Using Amazon CloudWatch alarms" (AlarmThatSendsEmail.html,
sections "Evaluating an alarm" and "Configuring how CloudWatch alarms treat missing data"), "Alarm
events and EventBridge" (cloudwatch-and-eventbridge.html), the API reference for PutMetricAlarm,
SetAlarmState, DescribeAlarmHistory and AlarmHistoryItem, and sagemaker-contracts.md §8.

Periods are emulated seconds: one period of P seconds covers the last P * scale wall seconds
(alarm_evaluation.wall_window). The tests place datapoints with explicit timestamps in the middle of a period
of an hour (3.6 wall seconds at the default scale), so a test's own slowness cannot move them.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from retrainer_offline.cloudwatch.alarm_evaluation import wall_window
from retrainer_offline.runtime import OfflineRuntime

HOUR = 3600  # a period long enough (in wall time) that datapoints stay where a test put them


def _name(prefix: str = "alarm") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _alarm(runtime: OfflineRuntime, name: str, **overrides: Any) -> dict[str, Any]:
    """A single-metric alarm on AWS/SageMaker Invocation5XXErrors of one endpoint variant."""
    spec: dict[str, Any] = {
        "AlarmName": name,
        "AlarmDescription": f"5XX errors of {name}",
        "Namespace": "AWS/SageMaker",
        "MetricName": "Invocation5XXErrors",
        "Dimensions": [{"Name": "EndpointName", "Value": name}, {"Name": "VariantName", "Value": "challenger"}],
        "Statistic": "Sum",
        "Period": HOUR,
        "EvaluationPeriods": 1,
        "Threshold": 1.0,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        **overrides,
    }
    runtime.client("cloudwatch").put_metric_alarm(**spec)
    return spec


def _put(runtime: OfflineRuntime, spec: dict[str, Any], value: float, periods_ago: float = 0.5) -> datetime:
    """One datapoint for the alarm's metric, `periods_ago` periods before now (0.5: mid current period)."""
    stamp = datetime.now(UTC) - wall_window(spec["Period"]) * periods_ago
    runtime.client("cloudwatch").put_metric_data(
        Namespace=spec["Namespace"],
        MetricData=[
            {"MetricName": spec["MetricName"], "Dimensions": spec["Dimensions"], "Value": value, "Timestamp": stamp}
        ],
    )
    return stamp


def _described(runtime: OfflineRuntime, name: str) -> dict[str, Any]:
    alarm: dict[str, Any] = runtime.client("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
    return alarm


def _state(runtime: OfflineRuntime, name: str) -> str:
    runtime.alarms.evaluate_now()
    return str(_described(runtime, name)["StateValue"])


class AlarmEvents:
    """An SQS queue behind an EventBridge rule for "CloudWatch Alarm State Change" events."""

    def __init__(self, runtime: OfflineRuntime) -> None:
        self.sqs = runtime.client("sqs")
        self.url = self.sqs.create_queue(QueueName="test-alarm-events")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events = runtime.client("events")
        events.put_rule(
            Name="test-alarm-events",
            EventPattern=json.dumps({"source": ["aws.cloudwatch"], "detail-type": ["CloudWatch Alarm State Change"]}),
        )
        events.put_targets(Rule="test-alarm-events", Targets=[{"Id": "queue", "Arn": arn}])

    def received(self, alarm_name: str, count: int, timeout: float = 10) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while len(found) < count and time.monotonic() < deadline:
            for message in self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10).get("Messages", []):
                event = json.loads(message["Body"])
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
                if event["detail"]["alarmName"] == alarm_name:
                    found.append(event)
        return found


@pytest.fixture(scope="module")
def alarm_events(runtime: OfflineRuntime) -> Iterator[AlarmEvents]:
    yield AlarmEvents(runtime)


def test_new_alarm_is_insufficient_data_then_alarm_on_breaching_data(runtime: OfflineRuntime) -> None:
    """PutMetricAlarm: a new alarm starts in INSUFFICIENT_DATA; "Evaluating an alarm": a breaching datapoint
    puts a 1-of-1 alarm in ALARM, with StateReason in CloudWatch's "Threshold Crossed" text."""
    # Given a new alarm on a variant's 5XX errors, and no data yet
    spec = _alarm(runtime, _name())
    assert _described(runtime, spec["AlarmName"])["StateValue"] == "INSUFFICIENT_DATA"
    # When the variant records 3 errors in the current period
    _put(runtime, spec, 3.0)
    # Then the alarm is in ALARM, saying which datapoint crossed which threshold
    assert _state(runtime, spec["AlarmName"]) == "ALARM"
    alarm = _described(runtime, spec["AlarmName"])
    assert alarm["StateReason"].startswith("Threshold Crossed: 1 datapoint [3.0 (")
    assert alarm["StateReason"].endswith(")] was greater than or equal to the threshold (1.0).")
    reason_data = json.loads(alarm["StateReasonData"])
    assert reason_data["recentDatapoints"] == [3.0] and reason_data["threshold"] == 1.0
    assert reason_data["statistic"] == "Sum" and reason_data["period"] == HOUR
    assert abs(alarm["StateUpdatedTimestamp"] - datetime.now(UTC)) < timedelta(seconds=5)


def test_alarm_goes_back_to_ok_when_the_newest_datapoint_does_not_breach(runtime: OfflineRuntime) -> None:
    """ "Evaluating an alarm": the state follows the most recent EvaluationPeriods datapoints."""
    # Given an alarm in ALARM after a breaching period
    spec = _alarm(runtime, _name())
    _put(runtime, spec, 5.0, periods_ago=1.5)
    assert _state(runtime, spec["AlarmName"]) == "ALARM"
    # When the current period has no errors
    _put(runtime, spec, 0.0)
    # Then the alarm is OK again, with the non-breaching datapoint as its reason
    assert _state(runtime, spec["AlarmName"]) == "OK"
    reason = _described(runtime, spec["AlarmName"])["StateReason"]
    assert reason.startswith("Threshold Crossed: 1 datapoint [0.0 (") and "was not greater than or equal to" in reason


def test_statistic_is_computed_per_period(runtime: OfflineRuntime) -> None:
    """ "Evaluating an alarm": each period's datapoint is the alarm's statistic over that period (Sum here:
    three single errors in one period make 3, which crosses a threshold of 2)."""
    spec = _alarm(runtime, _name(), Threshold=2.0, ComparisonOperator="GreaterThanThreshold")
    for _ in range(2):
        _put(runtime, spec, 1.0)
    assert _state(runtime, spec["AlarmName"]) == "OK"  # Sum 2 is not > 2
    _put(runtime, spec, 1.0)
    assert _state(runtime, spec["AlarmName"]) == "ALARM"  # Sum 3 > 2


def test_m_out_of_n_datapoints_to_alarm(runtime: OfflineRuntime) -> None:
    """ "Evaluating an alarm": with EvaluationPeriods 3 and DatapointsToAlarm 2, two breaching datapoints of
    the last three put the alarm in ALARM; one is not enough."""
    # Given a 2-out-of-3 alarm and one breaching period out of three
    spec = _alarm(runtime, _name(), EvaluationPeriods=3, DatapointsToAlarm=2)
    _put(runtime, spec, 0.0, periods_ago=2.5)
    _put(runtime, spec, 4.0, periods_ago=1.5)
    _put(runtime, spec, 0.0, periods_ago=0.5)
    assert _state(runtime, spec["AlarmName"]) == "OK"
    # When a second period of the three breaches
    _put(runtime, spec, 2.0, periods_ago=0.5)  # the current period's Sum becomes 2
    # Then the alarm is in ALARM, naming both breaching datapoints, oldest first
    assert _state(runtime, spec["AlarmName"]) == "ALARM"
    alarm = _described(runtime, spec["AlarmName"])
    assert alarm["StateReason"].startswith("Threshold Crossed: 2 out of the last 3 datapoints [4.0 (")
    assert "(minimum 2 datapoints for OK -> ALARM transition)" in alarm["StateReason"]
    assert json.loads(alarm["StateReasonData"])["recentDatapoints"] == [0, 4, 2]


@pytest.mark.parametrize(
    ("treatment", "before", "expected"),
    [
        ("missing", "ALARM", "INSUFFICIENT_DATA"),
        ("breaching", "OK", "ALARM"),
        ("notBreaching", "ALARM", "OK"),
        ("ignore", "ALARM", "ALARM"),
        ("ignore", "OK", "OK"),
    ],
)
def test_treat_missing_data_when_no_datapoint_arrives(
    runtime: OfflineRuntime, treatment: str, before: str, expected: str
) -> None:
    """ "Configuring how CloudWatch alarms treat missing data": with no datapoint at all, `missing` goes to
    INSUFFICIENT_DATA, `breaching` to ALARM, `notBreaching` to OK, and `ignore` keeps the current state."""
    # Given an alarm put in a state by SetAlarmState, and a metric that receives no data
    spec = _alarm(runtime, _name(), TreatMissingData=treatment)
    runtime.client("cloudwatch").set_alarm_state(AlarmName=spec["AlarmName"], StateValue=before, StateReason="test")
    # When the alarm is evaluated
    state = _state(runtime, spec["AlarmName"])
    # Then TreatMissingData decides its state
    assert state == expected
    if treatment == "breaching":
        assert _described(runtime, spec["AlarmName"])["StateReason"] == (
            "Threshold Crossed: no datapoints were received for 1 period and 1 missing datapoint was treated as "
            "[Breaching]."
        )


def test_treat_missing_data_with_fewer_real_datapoints_than_datapoints_to_alarm(runtime: OfflineRuntime) -> None:
    """ "Configuring how CloudWatch alarms treat missing data": when fewer real datapoints than DatapointsToAlarm
    are found, the missing ones are filled as TreatMissingData says; all real ones are evaluated. With 3 of 3:
    one breaching datapoint and two missing is ALARM for `breaching` and `missing`, OK for `notBreaching`,
    unchanged for `ignore`; one non-breaching datapoint is OK for all but `breaching`."""
    outcomes = {}
    for treatment in ("missing", "breaching", "notBreaching", "ignore"):
        for value in (5.0, 0.0):
            spec = _alarm(runtime, _name(), EvaluationPeriods=3, TreatMissingData=treatment)
            _put(runtime, spec, value, periods_ago=1.5)
            outcomes[(treatment, value)] = _state(runtime, spec["AlarmName"])
    assert outcomes == {
        ("missing", 5.0): "ALARM",
        ("missing", 0.0): "OK",
        ("breaching", 5.0): "ALARM",
        ("breaching", 0.0): "OK",  # 2 filled as breaching + 1 real not breaching: 2 of 3 is not enough
        ("notBreaching", 5.0): "OK",
        ("notBreaching", 0.0): "OK",
        ("ignore", 5.0): "INSUFFICIENT_DATA",  # a new alarm's state, kept
        ("ignore", 0.0): "OK",
    }


def test_update_of_an_alarm_keeps_its_state(runtime: OfflineRuntime) -> None:
    """PutMetricAlarm on an existing alarm overwrites its configuration and leaves its state unchanged."""
    spec = _alarm(runtime, _name())
    _put(runtime, spec, 3.0)
    assert _state(runtime, spec["AlarmName"]) == "ALARM"
    runtime.client("cloudwatch").put_metric_alarm(**{**spec, "AlarmDescription": "updated"})
    alarm = _described(runtime, spec["AlarmName"])
    assert alarm["StateValue"] == "ALARM" and alarm["AlarmDescription"] == "updated"


def test_state_change_event_on_the_default_bus(runtime: OfflineRuntime, alarm_events: AlarmEvents) -> None:
    """ "Alarm events and EventBridge" / sagemaker-contracts.md §8: each state change puts a "CloudWatch Alarm
    State Change" event (source aws.cloudwatch, resources [alarm ARN]) with state, previousState and the
    alarm's metric configuration; rules match it as any other event."""
    # Given an alarm and a rule that sends alarm events to a queue
    spec = _alarm(runtime, _name())
    runtime.alarms.evaluate_now()  # INSUFFICIENT_DATA already: no change, no event
    # When a breaching datapoint arrives
    _put(runtime, spec, 3.0)
    runtime.alarms.evaluate_now()
    # Then the queue receives one event, shaped as CloudWatch sends it
    event = alarm_events.received(spec["AlarmName"], 1)[0]  # the evaluator may send a later one
    arn = _described(runtime, spec["AlarmName"])["AlarmArn"]
    assert event["source"] == "aws.cloudwatch" and event["detail-type"] == "CloudWatch Alarm State Change"
    assert event["resources"] == [arn] and arn == f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{spec['AlarmName']}"
    detail = event["detail"]
    assert detail["alarmName"] == spec["AlarmName"]
    assert detail["state"]["value"] == "ALARM" and detail["state"]["reason"].startswith("Threshold Crossed: ")
    assert json.loads(detail["state"]["reasonData"])["recentDatapoints"] == [3]
    assert datetime.strptime(detail["state"]["timestamp"], "%Y-%m-%dT%H:%M:%S.%f%z")
    assert detail["previousState"]["value"] == "INSUFFICIENT_DATA"
    assert detail["previousState"]["reason"] == "Unchecked: Initial alarm creation"
    assert detail["configuration"]["description"] == spec["AlarmDescription"]
    [metric] = detail["configuration"]["metrics"]
    assert metric["metricStat"] == {
        "metric": {
            "dimensions": {"EndpointName": spec["AlarmName"], "VariantName": "challenger"},
            "name": "Invocation5XXErrors",
            "namespace": "AWS/SageMaker",
        },
        "period": HOUR,
        "stat": "Sum",
    }
    assert metric["returnData"] is True and metric["id"]


def test_set_alarm_state_also_sends_the_event(runtime: OfflineRuntime, alarm_events: AlarmEvents) -> None:
    """SetAlarmState: the state changes and the change is sent as any other (API reference SetAlarmState)."""
    spec = _alarm(runtime, _name())
    runtime.client("cloudwatch").set_alarm_state(AlarmName=spec["AlarmName"], StateValue="ALARM", StateReason="test")
    event = alarm_events.received(spec["AlarmName"], 1)[0]  # the evaluator may send a later one
    assert event["detail"]["state"]["value"] == "ALARM" and event["detail"]["state"]["reason"] == "test"


def test_describe_alarm_history_lists_state_updates_newest_first(runtime: OfflineRuntime) -> None:
    """DescribeAlarmHistory (absent from moto): AlarmHistoryItems of HistoryItemType StateUpdate, newest first,
    with HistorySummary "Alarm updated from X to Y" and HistoryData {"version","oldState","newState"}
    (API reference AlarmHistoryItem; aws-cli example describe-alarm-history)."""
    # Given an alarm that went to ALARM and back to OK between two checks
    cloudwatch = runtime.client("cloudwatch")
    spec = _alarm(runtime, _name())
    since = datetime.now(UTC) - timedelta(seconds=1)
    _put(runtime, spec, 3.0, periods_ago=1.5)
    assert _state(runtime, spec["AlarmName"]) == "ALARM"
    _put(runtime, spec, 0.0)
    assert _state(runtime, spec["AlarmName"]) == "OK"
    # When its state history since the first check is asked for
    items = cloudwatch.describe_alarm_history(
        AlarmName=spec["AlarmName"],
        HistoryItemType="StateUpdate",
        StartDate=since,
        EndDate=datetime.now(UTC) + timedelta(seconds=1),
    )["AlarmHistoryItems"]
    # Then both transitions are there, newest first, in the documented shape
    assert [i["HistorySummary"] for i in items] == [
        "Alarm updated from ALARM to OK",
        "Alarm updated from INSUFFICIENT_DATA to ALARM",
    ]
    newest = items[0]
    assert newest["AlarmName"] == spec["AlarmName"] and newest["AlarmType"] == "MetricAlarm"
    assert newest["HistoryItemType"] == "StateUpdate" and newest["Timestamp"] >= items[1]["Timestamp"]
    data = json.loads(newest["HistoryData"])
    assert data["version"] == "1.0"
    assert data["oldState"]["stateValue"] == "ALARM" and data["newState"]["stateValue"] == "OK"
    assert data["newState"]["stateReasonData"]["recentDatapoints"] == [0]
    # And a window that ends before the changes holds none of them; configuration items are a separate type
    assert not cloudwatch.describe_alarm_history(
        AlarmName=spec["AlarmName"], HistoryItemType="StateUpdate", EndDate=since
    )["AlarmHistoryItems"]
    [created] = cloudwatch.describe_alarm_history(AlarmName=spec["AlarmName"], HistoryItemType="ConfigurationUpdate")[
        "AlarmHistoryItems"
    ]
    assert created["HistorySummary"] == f'Alarm "{spec["AlarmName"]}" created'


def test_evaluator_runs_by_itself_on_the_scaled_clock(runtime: OfflineRuntime) -> None:
    """The evaluator judges alarms every EVALUATION_TICK_SECONDS of emulated time, without evaluate_now."""
    spec = _alarm(runtime, _name())
    _put(runtime, spec, 3.0)
    deadline = time.monotonic() + 10
    while _described(runtime, spec["AlarmName"])["StateValue"] != "ALARM" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _described(runtime, spec["AlarmName"])["StateValue"] == "ALARM"


def test_endpoint_invocation_metrics_feed_a_variant_alarm(runtime: OfflineRuntime) -> None:
    """The metrics InvokeEndpoint records (AWS/SageMaker Invocations, EndpointName + VariantName) are what the
    evaluator reads: SampleCount of Invocations counts the requests of one variant."""
    name = _name("ep")
    spec = _alarm(
        runtime,
        name,
        MetricName="Invocations",
        Statistic="SampleCount",
        Threshold=3.0,
        Dimensions=[{"Name": "EndpointName", "Value": name}, {"Name": "VariantName", "Value": "AllTraffic"}],
    )
    for _ in range(3):
        runtime.endpoints.record_metrics("us-east-1", name, "AllTraffic", 200, 1500.0)
    assert _state(runtime, spec["AlarmName"]) == "ALARM"


@pytest.mark.e2e
def test_drift_alarm_fed_breaching_data_starts_a_retraining_run(
    runtime: OfflineRuntime, dataset: Any, model_config: dict[str, Any]
) -> None:
    """template.yaml rule DriftAlarm: an alarm named <stack>-drift-<model> going to ALARM retrains the model,
    now end to end: put_metric_data -> evaluation -> "CloudWatch Alarm State Change" -> rule -> Lambda -> run."""
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
        runtime.put_model_config("driftwatch", model_config)
        runtime.upload("driftwatch", "part-1.csv", dataset.parts[0])
    finally:
        for rule in upload_rules:
            events.enable_rule(Name=rule)
    # And a drift alarm on a feature's distance metric, following the naming convention
    spec = _alarm(
        runtime,
        "retrainer-drift-driftwatch--feature-mean_radius",
        Namespace="aws/sagemaker/Endpoints/data-metrics",
        MetricName="feature_baseline_drift_mean_radius",
        Dimensions=[{"Name": "Endpoint", "Value": "retrainer-driftwatch"}],
        Statistic="Maximum",
        Threshold=0.1,
        ComparisonOperator="GreaterThanThreshold",
    )
    # When the monitor publishes a drift above the threshold
    _put(runtime, spec, 0.31)
    runtime.alarms.evaluate_now()
    # Then a retraining run starts for the model, triggered by that alarm
    execution = runtime.next_execution(timeout=60)
    request = json.loads(runtime.client("stepfunctions").describe_execution(executionArn=execution)["input"])
    assert request["trigger"]["kind"] == "drift_alarm"
    assert request["trigger"]["source"] == spec["AlarmName"]
    assert "0.31" in request["trigger"]["detail"]
