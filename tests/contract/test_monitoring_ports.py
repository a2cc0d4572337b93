"""MonitoringSchedules and DriftAlarms: what the monitoring services rely on, on the fakes and on moto."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest

from retrainer.adapters.cloudwatch_drift import CloudWatchDriftAlarms
from retrainer.adapters.s3 import S3Objects
from retrainer.adapters.scheduler import SchedulerMonitoringSchedules
from retrainer.ports import (
    MODEL_METRICS_NAMESPACE,
    DriftAlarms,
    DriftAlarmSpec,
    FolderReader,
    MonitoringSchedules,
    ScheduleSpec,
)
from tests.contract.conftest import IMPLEMENTATIONS
from tests.fakes import FakeDriftAlarms, FakeObjects, FakeSchedules

MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:retrainer-monitoring"


@pytest.fixture(params=IMPLEMENTATIONS)
def schedules(request: pytest.FixtureRequest) -> Iterator[MonitoringSchedules]:
    if request.param == "fake":
        yield FakeSchedules()
        return
    request.getfixturevalue("aws")
    client = boto3.client("scheduler")
    client.create_schedule_group(Name="retrainer-monitoring")
    yield SchedulerMonitoringSchedules(client, "retrainer-monitoring", "arn:aws:iam::123456789012:role/scheduler")


@pytest.fixture(params=IMPLEMENTATIONS)
def alarms(request: pytest.FixtureRequest) -> Iterator[DriftAlarms]:
    if request.param == "fake":
        yield FakeDriftAlarms()
        return
    request.getfixturevalue("aws")
    yield CloudWatchDriftAlarms(boto3.client("cloudwatch"))


def _schedule(payload: str = "{}") -> ScheduleSpec:
    return ScheduleSpec("churn-aaa", "cron(0 * ? * * *)", MACHINE, payload)


def test_a_schedule_put_twice_is_replaced_and_deleted_once(schedules: MonitoringSchedules) -> None:
    # Given a schedule put, then put again (a promotion retried)
    schedules.put(_schedule('{"v": 1}'))
    schedules.put(_schedule('{"v": 2}'))
    # When it is deleted twice (a retirement retried)
    # Then the first delete finds it and the second does not
    assert schedules.delete("churn-aaa") is True
    assert schedules.delete("churn-aaa") is False


def _alarm(feature: str, schedule: str) -> DriftAlarmSpec:
    return DriftAlarmSpec(
        f"retrainer-drift-churn--{feature}",
        "drift",
        f"feature_baseline_drift_{feature}",
        "retrainer-churn",
        schedule,
        0.1,
    )


def test_drift_alarms_are_found_by_their_schedule_and_deleted(alarms: DriftAlarms) -> None:
    # Given two alarms on one schedule's metrics and one on another schedule's
    alarms.put([_alarm("age", "churn-old"), _alarm("plan", "churn-old"), _alarm("city", "churn-new")])
    # Then the old schedule's alarms are found by the model's prefix and that schedule
    old = alarms.of_schedule("retrainer-drift-churn--", "churn-old")
    assert sorted(old) == ["retrainer-drift-churn--age", "retrainer-drift-churn--plan"]
    # And deleting them leaves the other schedule's alarm
    alarms.delete(old)
    assert alarms.of_schedule("retrainer-drift-churn--", "churn-old") == []
    assert alarms.of_schedule("retrainer-drift-churn--", "churn-new") == ["retrainer-drift-churn--city"]


def test_metric_requests_are_put_with_their_iso_timestamps(alarms: DriftAlarms) -> None:
    request = {
        "Namespace": "aws/sagemaker/Endpoints/data-metrics",
        "MetricData": [
            {
                "MetricName": "feature_baseline_drift_age",
                "Dimensions": [{"Name": "Endpoint", "Value": "e"}, {"Name": "MonitoringSchedule", "Value": "s"}],
                "Timestamp": "2026-12-01T11:00:00+00:00",
                "Value": 0.42,
            }
        ],
    }
    assert alarms.put_metric_data([request]) == 1


def _quality_alarm(schedule: str) -> DriftAlarmSpec:
    return DriftAlarmSpec(
        "retrainer-quality-churn--auc",
        "auc below 0.95",
        "auc",
        "retrainer-churn",
        schedule,
        0.95,
        namespace=MODEL_METRICS_NAMESPACE,
        statistic="Minimum",
        comparison="LessThanThreshold",
    )


def test_a_quality_alarm_belongs_to_the_schedule_it_was_last_put_for(alarms: DriftAlarms) -> None:
    # Given the retired version's quality alarm beside a drift alarm of the same schedule
    alarms.put([_quality_alarm("churn-old"), _alarm("age", "churn-old")])
    # Then it is found by the quality prefix and its schedule, and the drift prefix does not find it
    assert alarms.of_schedule("retrainer-quality-churn--", "churn-old") == ["retrainer-quality-churn--auc"]
    assert alarms.of_schedule("retrainer-drift-churn--", "churn-old") == ["retrainer-drift-churn--age"]
    # When the promoted version's alarm of the same name is put (its schedule in the dimensions)
    alarms.put([_quality_alarm("churn-new")])
    # Then the retired schedule no longer owns it: a late retirement cannot delete the new version's alarm
    assert alarms.of_schedule("retrainer-quality-churn--", "churn-old") == []
    assert alarms.of_schedule("retrainer-quality-churn--", "churn-new") == ["retrainer-quality-churn--auc"]


def test_a_quality_alarm_on_aws_watches_the_model_metrics_minimum_below_the_bound(aws: None) -> None:
    # Given the quality alarm put through the CloudWatch adapter
    client = boto3.client("cloudwatch")
    CloudWatchDriftAlarms(client).put([_quality_alarm("churn-new")])
    # Then CloudWatch holds the shape the README documents
    alarm = client.describe_alarms(AlarmNames=["retrainer-quality-churn--auc"])["MetricAlarms"][0]
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == (MODEL_METRICS_NAMESPACE, "auc", "Minimum")
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("LessThanThreshold", 0.95)
    assert (alarm["Period"], alarm["EvaluationPeriods"], alarm["TreatMissingData"]) == (3600, 1, "notBreaching")
    assert {d["Name"]: d["Value"] for d in alarm["Dimensions"]} == {
        "Endpoint": "retrainer-churn",
        "MonitoringSchedule": "churn-new",
    }


@pytest.fixture(params=IMPLEMENTATIONS)
def folders(request: pytest.FixtureRequest) -> Iterator[FolderReader]:
    keys = ["capture/ep/v-1/2026/12/01/09/a.jsonl", "capture/ep/v-2/2026/12/01/10/b.jsonl", "capture/ep/x.txt"]
    if request.param == "fake":
        fake = FakeObjects()
        for key in keys:
            fake.put("artifacts", key, b"{}")
        yield fake
        return
    request.getfixturevalue("aws")
    client = boto3.client("s3")
    client.create_bucket(Bucket="artifacts")
    for key in keys:
        client.put_object(Bucket="artifacts", Key=key, Body=b"{}")
    yield S3Objects(client)


def test_folders_are_the_immediate_sub_folders_and_a_prefix_holds_objects_or_not(folders: FolderReader) -> None:
    # Given captures of two variants (and a file beside their folders)
    # Then the endpoint's folders are the variants', and an hour folder holds objects only when written
    assert folders.list_folders("artifacts", "capture/ep/") == ["capture/ep/v-1/", "capture/ep/v-2/"]
    assert folders.has_objects("artifacts", "capture/ep/v-1/2026/12/01/09/") is True
    assert folders.has_objects("artifacts", "capture/ep/v-1/2026/12/01/10/") is False
