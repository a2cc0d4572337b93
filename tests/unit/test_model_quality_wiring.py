"""The model-quality run wired in (issue 15 item 2): the quality alarm made at promotion and removed at
retirement, each scheduled run's window delayed by the labels' lookback and its job's inputs, what a run
publishes, and the monitoring workflow's structure. AWS through fakes only."""

from __future__ import annotations

import json
from typing import Any

import pytest

from retrainer import naming
from retrainer.errors import MonitoringJobFailed
from retrainer.pipeline_config import ModelOverrides, PipelineConfig
from retrainer.ports import MODEL_METRICS_NAMESPACE, DriftAlarmSpec
from retrainer.run_data import Champion
from retrainer.services.monitoring import MonitoringAdapters
from retrainer.services.monitoring.quality_window import MAX_INPUTS
from tests.fakes import FakeNotifier
from tests.unit.test_monitoring_wiring import MODELS, MONITORING, adapters, call, fakes, promote
from tests.unit.test_state_machine_definition import DOMAIN_ERRORS, SERVICE_ERRORS

DATA = "data"
GROUND_TRUTH = "ground-truth/churn/"
FEEDBACK = "incoming/churn/feedback/"
SCHEDULED = "2026-12-02T10:07:31Z"  # lookback 24 h, window 60 min: judges [2026-12-01T09:07, 10:07)


def promote_with_quality(
    a: MonitoringAdapters,
    quality: dict[str, Any] | None = None,
    *,
    metric: str = "auc",
    score: float | None = 0.97,
    standard_error: float | None = None,
) -> dict[str, Any]:
    """`start` as the retraining workflow calls it, with the gate, the test score and the DataBucket."""
    objects, *_ = fakes(a)
    run_id = "churn-bbb"
    baseline = f"s3://artifacts/monitoring/churn/baseline/{run_id}/"
    objects.put("artifacts", baseline.removeprefix("s3://artifacts/") + "constraints.json", b'{"features": []}')
    config = {"metric": metric, "threshold": 0.8 if metric != "logloss" else 0.4}
    config["monitoring"] = {"quality": quality or {"margin": 0.05}}
    merged = ModelOverrides.model_validate(config).apply_to(PipelineConfig())
    return call(
        {
            "action": "start",
            "run_id": run_id,
            "endpoint_name": "retrainer-churn",
            "variant_name": run_id,
            "baseline_uri": baseline,
            "capture_uri": "s3://artifacts/data-capture",
            "config": merged.model_dump(mode="json"),
            "baseline_score": score,
            "baseline_standard_error": standard_error,
            "schema_uri": f"s3://artifacts/runs/{run_id}/preprocessed/schema/schema.json",
            "data_bucket": DATA,
            "data_prefix": "incoming/churn/",
        },
        a,
    )


def schedule_input(a: MonitoringAdapters) -> dict[str, Any]:
    _, schedules, *_ = fakes(a)
    payload: dict[str, Any] = json.loads(schedules.schedules["churn-bbb"].payload)
    return payload


# ---------------------------------------------------------------- the alarm, at promotion and retirement


def test_promotion_creates_the_quality_alarm_below_the_promoted_models_score_minus_the_margin() -> None:
    # Given a model gated on AUC >= 0.8 whose promoted version scored 0.97 on its test rows, margin 0.05
    a = adapters()
    started = promote_with_quality(a)
    # Then its quality alarm watches the hourly minimum AUC of the schedule's runs below 0.92 (the higher bound)
    _, _, _, alarms = fakes(a)
    alarm = alarms.alarms["retrainer-quality-churn--auc"]
    assert started["quality_alarm"] == alarm.name == naming.quality_alarm_name("retrainer", "churn", "auc")
    assert (alarm.namespace, alarm.metric_name, alarm.statistic) == (MODEL_METRICS_NAMESPACE, "auc", "Minimum")
    assert (alarm.comparison, alarm.threshold) == ("LessThanThreshold", 0.92)
    assert (alarm.endpoint_name, alarm.schedule_name) == ("retrainer-churn", "churn-bbb")
    assert "0.92" in alarm.description and f"s3://{DATA}/{GROUND_TRUTH}" in alarm.description
    # And it is not counted among the drift alarms
    assert alarm.name not in started["alarms"]


def test_the_threshold_bounds_the_alarm_when_the_test_score_minus_the_margin_is_lower() -> None:
    a = adapters()
    promote_with_quality(a, score=0.82)
    assert fakes(a)[3].alarms["retrainer-quality-churn--auc"].threshold == 0.8


def test_a_test_score_measured_on_few_rows_widens_the_margin_to_twice_its_standard_error() -> None:
    # Given a promoted version whose 0.893 AUC was measured on 90 test rows (standard error 0.046), margin 0.02
    a = adapters()
    promote_with_quality(a, {"margin": 0.02}, score=0.893, standard_error=0.046)
    # Then the alarm and the job's gate sit two standard errors below it, not 0.02: a model as good as it ever was
    # must not alarm because its test split was lucky
    assert fakes(a)[3].alarms["retrainer-quality-churn--auc"].threshold == pytest.approx(0.801)
    assert schedule_input(a)["quality"]["margin"] == 0.092
    # And a score measured on many rows keeps the configured margin
    b = adapters()
    promote_with_quality(b, {"margin": 0.02}, score=0.893, standard_error=0.004)
    assert fakes(b)[3].alarms["retrainer-quality-churn--auc"].threshold == pytest.approx(0.873)


def test_a_logloss_gate_alarms_above_the_lower_of_threshold_and_score_plus_margin() -> None:
    a = adapters()
    promote_with_quality(a, metric="logloss", score=0.2)
    alarm = fakes(a)[3].alarms["retrainer-quality-churn--logloss"]
    assert (alarm.comparison, alarm.threshold, alarm.statistic) == ("GreaterThanThreshold", 0.25, "Maximum")


def test_the_schedule_input_carries_the_quality_run_only_when_it_is_on() -> None:
    # Given one model with model quality on and one with it off
    on, off = adapters(), adapters()
    promote_with_quality(on)
    promote_with_quality(off, {"enabled": False})
    # Then the first schedule's Input says where the labels, schema and feedback live, and the gate
    quality = schedule_input(on)["quality"]
    assert quality["ground_truth_uri"] == f"s3://{DATA}/{GROUND_TRUTH}"
    assert quality["feedback_uri"] == f"s3://{DATA}/{FEEDBACK}"
    assert (quality["metric"], quality["threshold"], quality["baseline_score"], quality["margin"]) == (
        "auc",
        0.8,
        0.97,
        0.05,
    )
    # And the second has no quality run and no quality alarm
    assert "quality" not in schedule_input(off)
    assert not any(name.startswith("retrainer-quality-") for name in fakes(off)[3].alarms)


def test_retirement_deletes_the_retired_versions_quality_alarm_and_never_the_promoted_ones() -> None:
    # Given the retired version's alarms (schedule churn-aaa), quality alarm included
    a = adapters()
    promote(a, run_id="churn-aaa")
    alarms = fakes(a)[3]
    old = DriftAlarmSpec("retrainer-quality-churn--auc", "", "auc", "retrainer-churn", "churn-aaa", 0.9)
    alarms.put([old])
    retired = Champion(exists=True, variant_name="churn-aaa").model_dump(mode="json")
    # When the promotion of churn-bbb stops the retired monitoring, then starts its own
    stopped = call({"action": "stop", "run_id": "churn-bbb", "champion": retired}, a)
    promote_with_quality(a)
    # Then the retired quality alarm was deleted, and the alarm of that name is now the promoted version's
    assert "retrainer-quality-churn--auc" in stopped["alarms_deleted"]
    assert alarms.alarms["retrainer-quality-churn--auc"].schedule_name == "churn-bbb"
    # And a retried stop (after start) leaves the promoted version's alarm alone
    call({"action": "stop", "run_id": "churn-bbb", "champion": retired}, a)
    assert "retrainer-quality-churn--auc" in alarms.alarms


# ---------------------------------------------------------------- the window and the job's inputs


def plan(a: MonitoringAdapters, scheduled: str = SCHEDULED, **quality: Any) -> dict[str, Any]:
    promote_with_quality(a)
    run = {**schedule_input(a)["quality"], **quality}
    return call(
        {
            "action": "plan_quality_window",
            "endpoint_name": "retrainer-churn",
            "schedule_name": "churn-bbb",
            "capture_uri": "s3://artifacts/data-capture",
            "scheduled_time": scheduled,
            "window_minutes": 60,
            "quality": run,
        },
        a,
    )


def put(a: MonitoringAdapters, bucket: str, key: str, body: bytes = b"{}\n") -> None:
    fakes(a)[0].put(bucket, key, body)


def capture(a: MonitoringAdapters, variant: str, hour: str) -> None:
    put(a, "artifacts", f"data-capture/retrainer-churn/{variant}/{hour}/x.jsonl")


def sources(result: dict[str, Any]) -> dict[str, str]:
    return {i["S3Input"]["LocalPath"]: i["S3Input"]["S3Uri"] for i in result["inputs"]}


def test_the_window_ends_the_lookback_before_the_scheduled_time_and_reads_labels_up_to_it() -> None:
    # Given captures of two variants in the judged hours and labels uploaded before and after the window
    a = adapters()
    capture(a, "churn-aaa", "2026/12/01/09")
    capture(a, "churn-bbb", "2026/12/01/10")
    capture(a, "churn-bbb", "2026/12/02/09")  # a day later: not this window's
    put(a, DATA, f"{GROUND_TRUTH}2026/12/01/09/a.jsonl")
    put(a, DATA, f"{GROUND_TRUTH}2026/12/02/10/b.jsonl")  # the cut-off's hour: labels up to 10:07 count
    put(a, DATA, f"{GROUND_TRUTH}2026/12/01/08/old.jsonl")  # before the window
    put(a, DATA, f"{FEEDBACK}2026-11-30-09.json")
    # When the run scheduled at 2026-12-02T10:07:31Z plans its model-quality window
    result = plan(a)
    # Then it judges the 60 minutes ending 24 h before, to the minute, and reads labels up to the scheduled time
    assert (result["start"], result["end"], result["cutoff"]) == (
        "2026-12-01T09:07:00Z",
        "2026-12-01T10:07:00Z",
        "2026-12-02T10:07:00Z",
    )
    assert result["has_data"] is True
    assert result["output_uri"] == "s3://artifacts/monitoring/churn/model-quality/churn-bbb/2026/12/01/10/"
    # And its inputs are the prefixes that hold objects, laid out as the job reads them
    assert sources(result) == {
        "/opt/ml/processing/input/code": "s3://artifacts/job-code/abc/",
        "/opt/ml/processing/input/schema": "s3://artifacts/runs/churn-bbb/preprocessed/schema/schema.json",
        "/opt/ml/processing/input/feedback": f"s3://{DATA}/{FEEDBACK}",
        "/opt/ml/processing/input/endpoint/churn-aaa/2026/12/01/09": (
            "s3://artifacts/data-capture/retrainer-churn/churn-aaa/2026/12/01/09/"
        ),
        "/opt/ml/processing/input/endpoint/churn-bbb/2026/12/01/10": (
            "s3://artifacts/data-capture/retrainer-churn/churn-bbb/2026/12/01/10/"
        ),
        "/opt/ml/processing/input/ground_truth/2026/12/01/09": f"s3://{DATA}/{GROUND_TRUTH}2026/12/01/09/",
        "/opt/ml/processing/input/ground_truth/2026/12/02/10": f"s3://{DATA}/{GROUND_TRUTH}2026/12/02/10/",
    }
    assert result["feedback_file"] == f"s3://{DATA}/{FEEDBACK}2026-12-01-0907--2026-12-01-1007.json"


def test_the_job_arguments_are_the_gate_the_window_and_the_feedback_folders() -> None:
    a = adapters()
    capture(a, "churn-bbb", "2026/12/01/09")
    put(a, DATA, f"{GROUND_TRUTH}2026/12/01/20/a.jsonl")
    arguments = plan(a, "2026-12-02T10:00:00Z")["arguments"]
    pairs = dict(zip(arguments[::2], arguments[1::2], strict=True))
    assert pairs == {
        "--capture-dir": "/opt/ml/processing/input/endpoint",
        "--ground-truth-dir": "/opt/ml/processing/input/ground_truth",
        "--output-dir": "/opt/ml/processing/output",
        "--start-time": "2026-12-01T09:00:00Z",
        "--end-time": "2026-12-01T10:00:00Z",
        "--lookback-hours": "24",
        "--gate-metric": "auc",
        "--gate-threshold": "0.8",
        "--margin": "0.05",
        "--min-labels": "50",
        "--baseline-score": "0.97",
        "--schema": "/opt/ml/processing/input/schema/schema.json",
        "--feedback-dir": "/opt/ml/processing/input/feedback",
        "--feedback-output-dir": "/opt/ml/processing/feedback",
        "--endpoint-name": "retrainer-churn",
        "--schedule-name": "churn-bbb",
        "--message-file": "/opt/ml/output/message",
    }


def test_a_window_without_captures_or_without_labels_needs_no_job() -> None:
    # Given labels but no capture in the window
    a = adapters()
    put(a, DATA, f"{GROUND_TRUTH}2026/12/01/09/a.jsonl")
    nothing = plan(a)
    assert nothing["has_data"] is False and nothing["outcome"].startswith("no data")
    # Given captures but no label uploaded yet
    b = adapters()
    capture(b, "churn-bbb", "2026/12/01/09")
    unlabelled = plan(b)
    assert unlabelled["has_data"] is False and unlabelled["outcome"].startswith("no labels")
    assert "inputs" not in unlabelled


def test_many_label_hours_are_read_as_their_days_within_sagemakers_ten_inputs() -> None:
    # Given labels uploaded in every hour of the lookback (26 hour folders over two days)
    a = adapters()
    capture(a, "churn-bbb", "2026/12/01/09")
    for day, first, last in (("01", 9, 23), ("02", 0, 10)):
        for hour in range(first, last + 1):
            put(a, DATA, f"{GROUND_TRUTH}2026/12/{day}/{hour:02d}/labels.jsonl")
    # When the window is planned
    result = plan(a)
    # Then the job has at most 10 inputs, the ground truth as its day folders (the job reads the hours under them)
    assert len(result["inputs"]) <= MAX_INPUTS
    labels = {k: v for k, v in sources(result).items() if "ground_truth" in k}
    assert labels == {
        "/opt/ml/processing/input/ground_truth/2026/12/01": f"s3://{DATA}/{GROUND_TRUTH}2026/12/01/",
        "/opt/ml/processing/input/ground_truth/2026/12/02": f"s3://{DATA}/{GROUND_TRUTH}2026/12/02/",
    }


# ---------------------------------------------------------------- what a run publishes

REPORT = "s3://artifacts/monitoring/churn/model-quality/churn-bbb/2026/12/01/10/"
FEEDBACK_FILE = f"s3://{DATA}/{FEEDBACK}2026-12-01-09.json"


def report(a: MonitoringAdapters, auc: float | str, violations: list[dict[str, Any]]) -> None:
    folder = REPORT.removeprefix("s3://artifacts/")
    metric = {
        "MetricName": "auc",
        "Dimensions": [{"Name": "Endpoint", "Value": "retrainer-churn"}],
        "Timestamp": "2026-12-01T10:00:00+00:00",
        "Value": 0.61,
        "Unit": "None",
    }
    documents = {
        "cloudwatch_metrics.json": [{"Namespace": MODEL_METRICS_NAMESPACE, "MetricData": [metric]}],
        "statistics.json": {"binary_classification_metrics": {"auc": {"value": auc, "standard_deviation": 0.01}}},
        "constraint_violations.json": {"violations": violations},
    }
    for name, document in documents.items():
        put(a, "artifacts", folder + name, json.dumps(document).encode())


def publish(a: MonitoringAdapters, **fields: Any) -> dict[str, Any]:
    return call(
        {
            "action": "publish_quality",
            "endpoint_name": "retrainer-churn",
            "schedule_name": "churn-bbb",
            "output_uri": REPORT,
            "job_name": "churn-bbb-q12011000-abcdef",
            "metric": "auc",
            "feedback_file": FEEDBACK_FILE,
            **fields,
        },
        a,
    )


DROP = {
    "constraint_check_type": "LessThanThreshold",
    "metric_name": "auc",
    "description": "Metric auc with 0.61 was LessThanThreshold 0.92 (promoted model's test score 0.97 - margin 0.05)",
}


def test_a_quality_drop_puts_the_metrics_and_a_notice_with_the_report_and_the_feedback_rows() -> None:
    # Given a run whose AUC fell to 0.61 and that wrote 120 labelled rows of 100 requests to the feedback data
    a = adapters()
    report(a, 0.61, [DROP])
    written = {"window": {}, "rows": 120, "event_ids": [f"r{i}" for i in range(100)]}
    put(a, DATA, FEEDBACK_FILE.removeprefix(f"s3://{DATA}/"), json.dumps(written).encode())
    # When it is published
    result = publish(a, exit_message="CompletedWithViolations: Job completed successfully with 1 violations.")
    # Then the metrics are put, stamped now, and the gate value and feedback are in the result
    alarms = fakes(a)[3]
    assert result["metrics"] == 1 and alarms.metric_requests[0]["Namespace"] == MODEL_METRICS_NAMESPACE
    assert alarms.metric_requests[0]["MetricData"][0]["Timestamp"] != "2026-12-01T10:00:00+00:00"
    assert (result["outcome"], result["value"]) == ("violations", 0.61)
    assert result["feedback"] == {"rows": 120, "records": 100, "file": FEEDBACK_FILE.removesuffix(".json") + ".csv"}
    # And the topic says what dropped, by how much, where the report is and what became training data
    assert isinstance(a.notifier, FakeNotifier)
    notice = a.notifier.sent[0]["message"]
    assert notice["headline"] == (
        "model quality dropped: auc 0.61 < 0.92 (promoted model's test score 0.97 - margin 0.05)"
    )
    assert notice["report"] == REPORT and notice["feedback_rows_written"] == 120
    # And no retraining event is put: the quality alarm starts the retraining
    assert fakes(a)[0] is a.objects and a.bus.events == []  # type: ignore[attr-defined]


def test_the_headline_rounds_the_jobs_full_precision_figures() -> None:
    # Given a violation as the job writes it (every digit of the window's AUC)
    a = adapters()
    long = {**DROP, "description": "Metric auc with 0.7229495309129655 was LessThanThreshold 0.873196 (why)"}
    report(a, 0.7229495309129655, [long])
    # When it is published, then the notice's headline reads at a glance
    publish(a, exit_message="CompletedWithViolations: Job completed successfully with 1 violations.")
    assert isinstance(a.notifier, FakeNotifier)
    assert a.notifier.sent[0]["message"]["headline"] == "model quality dropped: auc 0.7229 < 0.8732 (why)"


def test_a_run_without_violations_publishes_quietly_and_a_nan_auc_reads_none() -> None:
    a = adapters()
    report(a, "NaN", [])
    result = publish(a, exit_message="Completed: Job completed successfully with no violations.")
    assert (result["outcome"], result["value"], result["feedback"]["rows"]) == ("no violations", None, 0)
    assert a.notifier.sent == []  # type: ignore[attr-defined]


def test_too_few_labels_is_a_quiet_no_labels_that_says_how_many_had_ground_truth() -> None:
    a = adapters()
    cause = (
        "AlgorithmError: Job inputs had no data: 12 of 240 captured records have ground truth "
        "(228 missing, 0 late; at least 50 labelled rows needed)"
    )
    result = publish(a, failure={"Error": "States.TaskFailed", "Cause": cause})
    assert result["outcome"] == "no labels"
    assert (result["labelled_records"], result["captured_records"]) == (12, 240)
    assert result["detail"] == "12 of 240 captured records had ground truth"
    assert a.notifier.sent == [] and fakes(a)[3].metric_requests == []  # type: ignore[attr-defined]


def test_any_other_job_failure_is_an_error() -> None:
    a = adapters()
    with pytest.raises(MonitoringJobFailed, match="GroundTruthFormatError"):
        publish(a, failure={"Cause": "AlgorithmError: GroundTruthFormatError: x.jsonl line 3: not a record"})


# ---------------------------------------------------------------- the monitoring workflow, structurally

STATES: dict[str, Any] = MONITORING["States"]


@pytest.mark.parametrize("name", sorted(n for n, body in STATES.items() if body["Type"] in {"Task", "Parallel"}))
def test_every_monitoring_task_retries_and_catches_known_errors_only(name: str) -> None:
    # Given a Task of the monitoring workflow (the checks test_state_machine_definition applies to retraining)
    body = STATES[name]
    # Then it retries transient errors and catches the rest, by Step Functions', integrations' or domain names
    assert "Retry" in body and "Catch" in body, name
    matched = {error for rule in body["Retry"] + body["Catch"] for error in rule["ErrorEquals"]}
    assert {e for e in matched if not e.startswith("States.")} <= SERVICE_ERRORS | DOMAIN_ERRORS
    assert "States.TaskFailed" not in {e for rule in body["Retry"] for e in rule["ErrorEquals"]}


@pytest.mark.parametrize("name", ["PlanQualityWindow", "PublishQuality", "JudgeQualityFailure"])
def test_each_quality_payload_is_what_its_action_model_reads(name: str) -> None:
    parameters = STATES[name]["Parameters"]
    model = MODELS[parameters["action"]]
    fields = {key.removesuffix(".$") for key in parameters}
    required = {n for n, info in model.model_fields.items() if info.is_required()}
    assert required <= fields <= set(model.model_fields), (name, required - fields)


def test_the_quality_run_follows_the_data_quality_run_and_neither_failure_stops_the_other() -> None:
    # Given the workflow: data quality first, every one of its endings goes on to the model-quality part
    assert {STATES[s]["Next"] for s in ("NoData", "Publish", "DataQualityFailed")} == {"QualityOn"}
    # Then the model-quality part runs when the schedule's Input carries `quality`
    assert STATES["QualityOn"]["Choices"] == [{"Variable": "$.quality", "IsPresent": True, "Next": "PlanQualityWindow"}]
    assert STATES["QualityOn"]["Default"] == "Outcome"
    assert STATES["Labelled"]["Choices"] == [
        {"Variable": "$.quality_window.has_data", "BooleanEquals": True, "Next": "AnalyzeQuality"}
    ]
    # And its job writes the report and the feedback CSV, and its failure is judged (no labels) before an error
    job = STATES["AnalyzeQuality"]["Parameters"]
    assert job["AppSpecification"]["ContainerEntrypoint"][-1].endswith("/code/monitoring/model_quality_job.py")
    outputs = {o["OutputName"]: o["S3Output"] for o in job["ProcessingOutputConfig"]["Outputs"]}
    assert outputs["report"]["S3Uri.$"] == "$.quality_window.output_uri"
    assert (outputs["feedback"]["S3Uri.$"], outputs["feedback"]["LocalPath"]) == (
        "$.quality_window.feedback_uri",
        "/opt/ml/processing/feedback",
    )
    assert [c["Next"] for c in STATES["AnalyzeQuality"]["Catch"]] == ["JudgeQualityFailure"]
    assert {
        c["Next"] for s in ("PlanQualityWindow", "PublishQuality", "JudgeQualityFailure") for c in STATES[s]["Catch"]
    } == {"QualityFailed"}
    # And the execution fails at the end when either part failed
    assert [(c["Variable"], c["Next"]) for c in STATES["Outcome"]["Choices"]] == [
        ("$.data_quality_failed", "MonitoringFailed"),
        ("$.quality_failed", "MonitoringFailed"),
    ]
    assert STATES["Outcome"]["Default"] == "Monitored"
