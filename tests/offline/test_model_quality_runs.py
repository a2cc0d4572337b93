"""Model quality, whole (issue 15 item 2): a promoted model gets a quality alarm; requests sent with an
InferenceId and their labels uploaded as ground truth make the scheduled run score the model (Model Monitor's
model-quality report, metrics in CloudWatch), write the labelled rows as training data, and, with the labels
inverted, put the quality alarm in ALARM."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.metrics import roc_auc_score

from retrainer_offline.commands.demo import MODEL
from retrainer_offline.runtime import ExecutionReport, OfflineRuntime
from retrainer_offline.sample_data.breast_cancer import MODEL_CONFIG, breast_cancer

pytestmark = pytest.mark.e2e

REQUESTS = 60
GROUP = "retrainer-monitoring"


@dataclass
class Traffic:
    """What a client sent and got back, and the labels it uploads later."""

    ids: list[str] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)  # 1 = malignant (the model's positive label, M)


@dataclass
class QualityRun:
    promoted: ExecutionReport
    traffic: Traffic
    first: ExecutionReport
    inverted: ExecutionReport | None = None
    alarm_state: str = ""
    retraining: ExecutionReport | None = None
    alarm_at_promotion: list[dict[str, Any]] = field(default_factory=list)
    first_statistics: dict[str, Any] = field(default_factory=dict)  # read before the second run's report


def send(runtime: OfflineRuntime, endpoint: str) -> Traffic:
    """REQUESTS rows of the data set, each with an InferenceId, as a client that will label them sends them."""
    frame = load_breast_cancer(as_frame=True).frame
    traffic = Traffic()
    client = runtime.client("sagemaker-runtime")
    for index in range(REQUESTS):
        row = frame.iloc[(index * 9) % len(frame)]
        body = ",".join(f"{value:.6g}" for value in row.drop("target"))
        answer = client.invoke_endpoint(
            EndpointName=endpoint, ContentType="text/csv", Body=body, InferenceId=f"order-{index}"
        )
        traffic.ids.append(f"order-{index}")
        traffic.scores.append(float(answer["Body"].read().decode().strip()))
        traffic.labels.append(1 - int(row["target"]))  # sklearn codes malignant as 0
    return traffic


def upload_labels(runtime: OfflineRuntime, traffic: Traffic, name: str, invert: bool = False) -> None:
    """Model Monitor's ground-truth records under ground-truth/<model>/<this hour>/ (the upload's hour)."""
    hour = datetime.now(UTC)  # the runs are scheduled at the next whole minute: this hour's labels are on time
    lines = [
        json.dumps(
            {
                "groundTruthData": {"data": str(1 - label if invert else label), "encoding": "CSV"},
                "eventMetadata": {"eventId": identity},
                "eventVersion": "0",
            }
        )
        for identity, label in zip(traffic.ids, traffic.labels, strict=True)
    ]
    runtime.client("s3").put_object(
        Bucket=runtime.output("DataBucketName"),
        Key=f"ground-truth/{MODEL}/{hour:%Y/%m/%d/%H}/{name}",
        Body="\n".join(lines).encode(),
    )


def fire(runtime: OfflineRuntime, schedule: str) -> ExecutionReport:
    """The schedule's invocation of the next whole minute (a window ends on a whole minute), fired now."""
    assert runtime.scheduler is not None
    next_minute = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    started = runtime.scheduler.fire(schedule, GROUP, scheduled_time=next_minute)
    return runtime.follow(started["execution_arn"], timeout=600)


def retraining_started(runtime: OfflineRuntime) -> ExecutionReport | None:
    try:
        arn = runtime.next_execution(timeout=20, model=MODEL)
    except TimeoutError:
        return None
    return runtime.follow(arn, timeout=900)


def current_schedule(runtime: OfflineRuntime) -> str:
    listed = runtime.client("scheduler").list_schedules(GroupName=GROUP, NamePrefix=f"{MODEL}-")["Schedules"]
    assert len(listed) == 1, listed
    return str(listed[0]["Name"])


@pytest.fixture(scope="module")
def run() -> Iterator[tuple[OfflineRuntime, QualityRun]]:
    with OfflineRuntime() as runtime:
        # Given a model whose labels arrive within the hour (lookback 0) and 20 labelled rows suffice
        config = {**MODEL_CONFIG, "quiet_window_seconds": 0}
        config["monitoring"] = {"quality": {"lookback_hours": 0, "min_labels": 20, "margin": 0.05}}
        runtime.put_model_config(MODEL, config)
        runtime.upload(MODEL, "part-1.csv", breast_cancer(parts=1).parts[0])
        promoted = runtime.follow(runtime.next_execution(model=MODEL))
        assert promoted.status == "SUCCEEDED", promoted.cause
        alarm = promoted.final_state["monitoring"]["started"]["quality_alarm"]
        at_promotion = runtime.client("cloudwatch").describe_alarms(AlarmNames=[alarm])["MetricAlarms"]
        # When a client sends requests with InferenceIds, uploads their labels and the schedule runs
        traffic = send(runtime, promoted.final_state["endpoint_name"])
        upload_labels(runtime, traffic, "a.jsonl")
        schedule = promoted.final_state["monitoring"]["started"]["schedule"]
        result = QualityRun(promoted, traffic, fire(runtime, schedule), alarm_at_promotion=at_promotion)
        # (Reports are foldered by the window's end hour, as Model Monitor's: a second run of the same schedule
        # in the same hour replaces them, so the first one's is read now.)
        published = result.first.final_state.get("quality_published") or {}
        if published.get("report"):
            result.first_statistics = read_json(runtime, published["report"] + "statistics.json")
        # (The feedback CSV is an upload under the model's folder: until StartRetraining ignores feedback/, it
        # starts a retraining that may promote and replace the schedule; follow it, then use the current one.)
        result.retraining = retraining_started(runtime)
        # And then the same requests' labels are corrected to their opposite (a later file wins) and it runs again
        upload_labels(runtime, traffic, "b.jsonl", invert=True)
        result.inverted = fire(runtime, current_schedule(runtime))
        runtime.alarms.evaluate_now()
        described = runtime.client("cloudwatch").describe_alarms(AlarmNames=[alarm])["MetricAlarms"]
        result.alarm_state = described[0]["StateValue"] if described else "missing"
        yield runtime, result


def read_json(runtime: OfflineRuntime, uri: str) -> Any:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return json.loads(runtime.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())


def test_promotion_creates_the_quality_alarm_on_the_gate_metric(run: tuple[OfflineRuntime, QualityRun]) -> None:
    _, result = run
    started = result.promoted.final_state["monitoring"]["started"]
    assert started["quality_alarm"] == f"retrainer-quality-{MODEL}--auc"
    [alarm] = result.alarm_at_promotion
    score = result.promoted.final_state["evaluation"]["value"]
    assert alarm["Threshold"] == pytest.approx(max(0.7, score - 0.05))
    assert {d["Name"]: d["Value"] for d in alarm["Dimensions"]}["MonitoringSchedule"] == started["schedule"]


def test_the_scheduled_run_scores_the_labelled_requests_as_scikit_learn_does(
    run: tuple[OfflineRuntime, QualityRun],
) -> None:
    runtime, result = run
    # Then the run succeeded and judged the window's labelled requests
    assert result.first.status == "SUCCEEDED", result.first.cause
    published = result.first.final_state["quality_published"]
    assert published["outcome"] == "no violations"
    # And the report's AUC is scikit-learn's on the scores the client got and the labels it uploaded
    statistics = result.first_statistics
    expected = roc_auc_score(result.traffic.labels, result.traffic.scores)
    auc = statistics["binary_classification_metrics"]["auc"]["value"]
    assert auc == pytest.approx(expected, abs=1e-9) and published["value"] == pytest.approx(expected, abs=1e-9)
    assert statistics["dataset"]["item_count"] == REQUESTS
    # And the metrics are in CloudWatch, on the schedule's dimensions
    listed = runtime.client("cloudwatch").list_metrics(
        Namespace="aws/sagemaker/Endpoints/model-metrics", MetricName="auc"
    )["Metrics"]
    schedules = {d["Value"] for m in listed for d in m["Dimensions"] if d["Name"] == "MonitoringSchedule"}
    assert result.promoted.final_state["monitoring"]["started"]["schedule"] in schedules


def test_the_labelled_requests_become_a_feedback_csv_in_the_models_data_folder(
    run: tuple[OfflineRuntime, QualityRun],
) -> None:
    runtime, result = run
    feedback = result.first.final_state["quality_published"]["feedback"]
    assert feedback["rows"] == REQUESTS
    bucket = runtime.output("DataBucketName")
    prefix = f"{runtime.output('DataPrefix')}{MODEL}/feedback/"
    keys = [o["Key"] for o in runtime.client("s3").list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]]
    assert any(key.endswith(".csv") for key in keys) and feedback["file"].endswith(".csv")
    body = runtime.client("s3").get_object(Bucket=bucket, Key=feedback["file"].split(f"{bucket}/", 1)[1])["Body"]
    lines = body.read().decode().splitlines()
    assert len(lines) == REQUESTS + 1 and lines[0].split(",")[-1] == "diagnosis"


def test_inverted_labels_drop_the_quality_below_the_bound_and_the_alarm_fires(
    run: tuple[OfflineRuntime, QualityRun],
) -> None:
    _, result = run
    assert result.inverted is not None and result.inverted.status == "SUCCEEDED", result.inverted
    published = result.inverted.final_state["quality_published"]
    assert published["outcome"] == "violations"
    assert published["value"] == pytest.approx(1 - result.first.final_state["quality_published"]["value"], abs=1e-9)
    assert published["headline"].startswith("model quality dropped: auc ")
    assert result.alarm_state == "ALARM"


def test_a_promotion_deletes_the_retired_versions_quality_alarm_and_creates_its_own(
    run: tuple[OfflineRuntime, QualityRun],
) -> None:
    runtime, result = run
    if result.retraining is None or "Promote" not in {state.name for state in result.retraining.states}:
        pytest.skip("no retraining promoted a new version during the test (the feedback upload no longer starts one)")
    # Given a retraining promoted a new version: the retired version's schedule and quality alarm went
    started = result.retraining.final_state["monitoring"]["started"]
    retired = result.retraining.final_state["retired_monitoring"]
    assert f"retrainer-quality-{MODEL}--auc" in retired["alarms_deleted"]
    # Then the alarm of that name is the promoted version's (its schedule in the dimensions)
    [alarm] = runtime.client("cloudwatch").describe_alarms(AlarmNames=[started["quality_alarm"]])["MetricAlarms"]
    assert {d["Name"]: d["Value"] for d in alarm["Dimensions"]}["MonitoringSchedule"] == result.retraining.name
