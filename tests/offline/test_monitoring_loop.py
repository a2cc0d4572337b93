"""The monitoring loop, whole (issue 14): a promoted model gets a baseline, an hourly schedule and drift alarms;
drifted traffic makes a scheduled run report violations in Model Monitor's layout; a retraining starts; the new
champion's monitoring replaces the old one's."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from retrainer_offline.commands.monitoring_loop import LoopResult, run_loop
from retrainer_offline.runtime import OfflineRuntime

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def loop() -> Iterator[tuple[OfflineRuntime, LoopResult]]:
    with OfflineRuntime(schedules=True) as runtime:
        yield runtime, run_loop(runtime)


def test_promotion_records_a_baseline_schedules_monitoring_and_creates_drift_alarms(
    loop: tuple[OfflineRuntime, LoopResult],
) -> None:
    runtime, result = loop
    # Given the first model promoted
    assert result.promoted.status == "SUCCEEDED" and result.promoted.final_state["failure"] == {}
    # Then its baseline is under monitoring/<model>/baseline/<run-id>/ in Model Monitor's files
    s3, bucket = runtime.client("s3"), runtime.output("ArtifactsBucketName")
    prefix = f"monitoring/breast-cancer/baseline/{result.promoted.name}/"
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]}
    assert {prefix + "statistics.json", prefix + "constraints.json"} <= keys
    constraints = json.loads(s3.get_object(Bucket=bucket, Key=prefix + "constraints.json")["Body"].read())
    features = [f["name"] for f in constraints["features"]]
    assert "mean_radius" in features and "diagnosis" not in features and "id" not in features
    # And one drift alarm per feature, by the convention the DriftAlarm rule starts retrainings on
    assert sorted(result.alarms) == sorted(f"retrainer-drift-breast-cancer--{f}" for f in features)


def test_drifted_traffic_makes_a_scheduled_run_report_violations_and_start_a_retraining(
    loop: tuple[OfflineRuntime, LoopResult],
) -> None:
    runtime, result = loop
    # Then a run the schedule started found the drift, with the distances
    assert result.monitoring is not None and result.monitoring.status == "SUCCEEDED"
    assert {d["feature"] for d in result.drifted} >= {"mean_radius", "mean_area"}
    assert all(d["distance"] > d["threshold"] == 0.1 for d in result.drifted)
    # And its reports are under monitoring/<model>/<schedule>/yyyy/mm/dd/hh/
    assert f"/monitoring/breast-cancer/{result.schedule}/" in result.report_uri
    bucket, _, folder = result.report_uri.removeprefix("s3://").partition("/")
    keys = {o["Key"] for o in runtime.client("s3").list_objects_v2(Bucket=bucket, Prefix=folder)["Contents"]}
    assert {folder + name for name in ("statistics.json", "constraint_violations.json")} <= keys
    # And a retraining started from the violations or the alarm
    assert result.closed and result.retraining_arn
    assert result.trigger["kind"] in {"monitoring_violation", "drift_alarm"}


def test_the_retired_champions_monitoring_goes_when_the_retraining_promotes(
    loop: tuple[OfflineRuntime, LoopResult],
) -> None:
    runtime, result = loop
    if result.retraining is None or result.retraining.status != "SUCCEEDED":
        status = result.retraining.status if result.retraining else "still running"
        pytest.skip(f"the retraining is {status}: the retirement is checked once it promotes")
    schedules = {
        s["Name"] for s in runtime.client("scheduler").list_schedules(GroupName="retrainer-monitoring")["Schedules"]
    }
    if "NoNewData" in {state.name for state in result.retraining.states}:
        # Given the drift retraining found no new data (the loop uploads none): it ends "no new data" (issue 11)
        # Then nothing retires: the champion keeps its schedule and its alarms
        assert schedules == {result.promoted.name}
        return
    assert schedules == {result.retraining.name}
    alarms = runtime.client("cloudwatch").describe_alarms(AlarmNames=result.alarms[:1])["MetricAlarms"]
    dimensions = {d["Name"]: d["Value"] for d in alarms[0]["Dimensions"]}
    assert dimensions["MonitoringSchedule"] == result.retraining.name
