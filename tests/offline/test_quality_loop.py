"""Ground truth closes the loop, whole (issue 15): late labels make a scheduled model-quality run find a drop no
input statistic shows; the quality alarm retrains on the labelled traffic; the challenger is better on drifted rows
nobody trained on; a later run does not write the same labelled rows twice."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sklearn.metrics import roc_auc_score

from retrainer_offline.commands import quality_loop
from retrainer_offline.runtime import OfflineRuntime
from retrainer_offline.sample_data import churn

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def loop() -> Iterator[tuple[OfflineRuntime, quality_loop.QualityLoopResult]]:
    with OfflineRuntime() as runtime:
        runtime.put_model_config(churn.MODEL, {**quality_loop.quality_config(), "quiet_window_seconds": 0})
        runtime.upload(churn.MODEL, "part-1.csv", churn.table(900, seed=21).to_csv(index=False).encode())
        promoted = runtime.follow(runtime.next_execution())
        assert promoted.status == "SUCCEEDED", promoted.error
        yield runtime, quality_loop.run_quality_loop(runtime, promoted, lambda _: None, lambda rt, arn: rt.follow(arn))


def _keys(runtime: OfflineRuntime, bucket: str, prefix: str) -> list[str]:
    listed = runtime.client("s3").list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return sorted(item["Key"] for item in listed)


def _feedback_rows(runtime: OfflineRuntime) -> int:
    s3, bucket = runtime.client("s3"), runtime.buckets.data
    rows = 0
    for key in _keys(runtime, bucket, f"{runtime.buckets.data_prefix}{churn.MODEL}/feedback/"):
        if key.endswith(".csv"):
            rows += s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode().count("\n") - 1
    return rows


def test_before_the_labels_arrive_the_quality_run_judges_nothing(
    loop: tuple[OfflineRuntime, quality_loop.QualityLoopResult],
) -> None:
    _, result = loop
    # Given drifted requests served, when the schedule fires before their outcomes are known,
    # then the model-quality run says no labels arrived yet, and raises nothing
    assert result.before_labels.get("outcome") == "no labels", result.before_labels


def test_late_labels_show_the_quality_drop_in_model_monitors_files_and_metrics(
    loop: tuple[OfflineRuntime, quality_loop.QualityLoopResult],
) -> None:
    runtime, result = loop
    # When the labels arrived late and the schedule fired again, then the run found the drop
    assert result.judged.get("outcome") == "violations", result.judged
    # And its AUC is scikit-learn's on the labelled requests and the scores the endpoint answered them
    assert result.labelled is not None and result.labelled_scores is not None
    expected = roc_auc_score((result.labelled[churn.TARGET] == "Yes").astype(int), result.labelled_scores)
    assert result.judged["value"] == pytest.approx(expected, abs=1e-6)
    # And Model Monitor's model-quality files are under monitoring/<model>/model-quality/<schedule>/yyyy/mm/dd/hh/
    artifacts = runtime.buckets.artifacts
    keys = _keys(runtime, artifacts, f"monitoring/{churn.MODEL}/model-quality/{result.schedule}/")
    statistics = [key for key in keys if key.endswith("/statistics.json")]
    assert statistics, keys
    document = json.loads(runtime.client("s3").get_object(Bucket=artifacts, Key=statistics[-1])["Body"].read())
    assert document["binary_classification_metrics"]["auc"]["value"] == pytest.approx(expected, abs=1e-6)
    # And the metrics are in CloudWatch under Model Monitor's model-quality namespace
    listed = runtime.client("cloudwatch").list_metrics(Namespace="aws/sagemaker/Endpoints/model-metrics")["Metrics"]
    assert "auc" in {metric["MetricName"] for metric in listed}
    # And the labelled requests became training data: one row per labelled request
    assert _feedback_rows(runtime) == quality_loop.LABELLED_REQUESTS


def test_the_quality_alarm_retrains_on_the_feedback_and_the_challenger_is_better_on_drifted_rows(
    loop: tuple[OfflineRuntime, quality_loop.QualityLoopResult],
) -> None:
    _, result = loop
    # Then the alarm started the retraining through the trigger path, and it promoted its challenger
    assert result.trigger.get("kind") == "quality_alarm", result.trigger
    assert result.retraining is not None and result.retraining.status == "SUCCEEDED", result.problems
    # And the gate scored both models on the newest labelled rows beside the holdout
    recent = result.retraining.final_state["evaluation"].get("recent") or {}
    assert recent.get("rows", 0) > 0 and recent.get("champion"), recent
    # And on drifted rows nobody uploaded or trained on, the challenger is measurably better
    assert result.auc_before is not None and result.auc_after is not None
    assert result.auc_after >= result.auc_before + quality_loop.MIN_AUC_GAIN, (result.auc_before, result.auc_after)
    assert result.closed and not result.problems


def test_the_promoted_challenger_is_watched_by_its_own_quality_alarm(
    loop: tuple[OfflineRuntime, quality_loop.QualityLoopResult],
) -> None:
    runtime, result = loop
    assert result.retraining is not None and result.retraining.status == "SUCCEEDED"
    # Then the retired champion's quality alarm went and the new version's watches the new schedule
    schedule = result.retraining.final_state["monitoring"]["started"]["schedule"]
    alarms = runtime.client("cloudwatch").describe_alarms(AlarmNamePrefix="retrainer-quality-churn")["MetricAlarms"]
    assert [alarm["AlarmName"] for alarm in alarms] == ["retrainer-quality-churn--auc"]
    dimensions = {d["Name"]: d["Value"] for d in alarms[0]["Dimensions"]}
    assert dimensions["MonitoringSchedule"] == schedule != result.schedule
    assert alarms[0]["StateValue"] != "ALARM"  # a new alarm: the retired model's ALARM is not the new one's


def test_a_later_run_does_not_write_the_same_labelled_rows_again(
    loop: tuple[OfflineRuntime, quality_loop.QualityLoopResult],
) -> None:
    runtime, result = loop
    assert result.retraining is not None and result.retraining.status == "SUCCEEDED"
    # Given the new champion's schedule, when it fires over a window holding the same labelled requests
    schedule = result.retraining.final_state["monitoring"]["started"]["schedule"]
    before = _feedback_rows(runtime)
    report = quality_loop.fire_and_follow(runtime, schedule)
    # Then the run judged the labelled requests again, and no row is in the feedback folder twice
    assert report.status == "SUCCEEDED"
    judged = quality_loop.quality_outcome(report)
    assert judged.get("outcome") in {"violations", "no violations"}, judged
    # (in the same minute it is the same window, whose file it rewrites; a later window writes no row again)
    assert _feedback_rows(runtime) == before
