"""Model-quality runs (issue 15): merging captures with ground truth, the metrics, the output format, the gate,
the CloudWatch metrics and the feedback data that labelled traffic becomes.

Formats: /work/shared/docs/monitoring-contracts.md ("Model quality"); the developer guide's "Ingest Ground Truth
Labels and Merge Them With Predictions" (ground-truth records) and "Model quality metrics and Amazon CloudWatch
monitoring" (the binary classification example in tests/data/model_quality).
"""

from __future__ import annotations

import ast
import base64
import csv
import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn import metrics as sk

from retrainer_jobs import preprocess
from retrainer_jobs.data_checks import Rules
from retrainer_jobs.monitoring import model_quality_metrics as mq
from retrainer_jobs.monitoring.capture_records import Window, parse_time
from retrainer_jobs.monitoring.ground_truth import ground_truth_line, read_ground_truth
from retrainer_jobs.monitoring.model_quality_job import main
from retrainer_jobs.monitoring.model_quality_merge import MergedWindow, merge_window
from tests.samples import ROOT

DATA = ROOT / "tests" / "data" / "model_quality"
HOUR = "2026-12-01T10"
WINDOW = Window(parse_time(f"{HOUR}:00:00Z"), parse_time("2026-12-01T11:00:00Z"))


# ------------------------------------------------------------------------------------------------- helpers
def capture(
    event_id: str,
    score: str = "0.9",
    row: str = "1,2,3",
    *,
    minute: int = 5,
    inference_id: str | None = None,
    input_encoding: str = "CSV",
    output: dict[str, str] | None = None,
) -> str:
    """A data capture record as SageMaker writes it (eventMetadata.inferenceId only when the client sent one)."""
    meta = {"eventId": event_id, "inferenceTime": f"{HOUR}:{minute:02d}:00Z"}
    if inference_id:
        meta["inferenceId"] = inference_id
    content_type = "application/json" if input_encoding == "JSON" else "text/csv"
    record = {
        "captureData": {
            "endpointInput": {
                "observedContentType": content_type,
                "mode": "INPUT",
                "data": row,
                "encoding": input_encoding,
            },
            "endpointOutput": output
            or {"observedContentType": "text/csv", "mode": "OUTPUT", "data": score, "encoding": "CSV"},
        },
        "eventMetadata": meta,
        "eventVersion": "0",
    }
    return json.dumps(record)


def write_lines(root: Path, hour: str, lines: list[str], *, name: str = "part.jsonl", prefix: str = "") -> None:
    day, hh = hour.split("T")
    folder = root / prefix / day.replace("-", "/") / hh
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("".join(line + "\n" for line in lines))


def write_captures(tmp: Path, lines: list[str], variant: str = "AllTraffic", name: str = "part.jsonl") -> None:
    write_lines(tmp / "capture", HOUR, lines, name=name, prefix=f"churn-endpoint/{variant}")


def write_truth(tmp: Path, hour: str, labels: dict[str, str], name: str = "labels.jsonl") -> None:
    write_lines(tmp / "truth", hour, [ground_truth_line(i, label) for i, label in labels.items()], name=name)


def merged(tmp: Path, lookback_hours: float = 24) -> MergedWindow:
    truth = read_ground_truth(tmp / "truth", WINDOW, timedelta(hours=lookback_hours))
    return merge_window(tmp / "capture", truth, WINDOW)


def run(tmp: Path, *extra: str) -> tuple[int, str]:
    code = main(
        [
            "--capture-dir", str(tmp / "capture"),
            "--ground-truth-dir", str(tmp / "truth"),
            "--output-dir", str(tmp / "report"),
            "--start-time", f"{HOUR}:00:00Z",
            "--end-time", "2026-12-01T11:00:00Z",
            "--endpoint-name", "churn-endpoint",
            "--schedule-name", "churn-quality",
            "--message-file", str(tmp / "message"),
            *extra,
        ]
    )  # fmt: skip
    return code, (tmp / "message").read_text()


def report(tmp: Path, name: str) -> Any:
    return json.loads((tmp / "report" / name).read_text())


def traffic(tmp: Path, rows: int, *, seed: int = 3, skill: float = 2.0, variant: str = "AllTraffic") -> None:
    """`rows` labelled requests whose scores separate the classes by `skill` (0: a coin toss)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, rows)
    scores = 1 / (1 + np.exp(-(skill * (labels - 0.5) + rng.normal(0, 1, rows))))
    ids = [f"{variant}-{seed}-{i}" for i in range(rows)]
    write_captures(tmp, [capture(i, f"{s:.6f}", minute=n % 60) for n, (i, s) in enumerate(zip(ids, scores))], variant)
    write_truth(tmp, "2026-12-01T12", dict(zip(ids, map(str, labels))), name=f"{variant}-{seed}.jsonl")


# ------------------------------------------------------------------------------------------------- the merge
def test_labels_join_by_inference_id_else_event_id_and_unlabelled_records_count_as_missing(tmp_path: Path) -> None:
    """Given a request the client named (InferenceId), one it did not, and one nobody labelled yet, when the
    window is merged, then the first joins by its inferenceId, the second by its eventId, the third is missing."""
    write_captures(
        tmp_path,
        [capture("e-1", "0.8", inference_id="order-17"), capture("e-2", "0.3"), capture("e-3", "0.6")],
    )
    write_truth(tmp_path, "2026-12-01T10", {"order-17": "1", "e-2": "0"})

    window = merged(tmp_path)

    assert (window.scores, window.labels) == ([0.8, 0.3], [1, 0])
    assert [r.key for r in window.records] == ["order-17", "e-2"]
    counts = window.counts
    assert (counts.captured_records, counts.merged_records, counts.missing, counts.late) == (3, 2, 1, 0)


def test_labels_after_the_lookback_are_late_and_within_it_they_join(tmp_path: Path) -> None:
    """Given labels uploaded 5 and 30 hours after the window (lookback 6 h), then the first joins; the second is
    counted late, not missing, and the window's result does not change when the late label arrives."""
    write_captures(tmp_path, [capture("e-1", "0.8"), capture("e-2", "0.2"), capture("e-3", "0.4")])
    write_truth(tmp_path, "2026-12-01T16", {"e-1": "1"})  # window end 11:00 + 5 h
    write_truth(tmp_path, "2026-12-02T17", {"e-2": "0"})  # + 30 h

    window = merged(tmp_path, lookback_hours=6)

    assert window.labels == [1]
    assert (window.counts.merged_records, window.counts.late, window.counts.missing) == (1, 1, 1)


def test_the_lookback_cut_off_is_the_window_end_plus_lookback_exclusive(tmp_path: Path) -> None:
    """Given labels in the last hour folder inside the cut-off (16:00 with lookback 6 h) and in the first outside
    (17:00), then the first joins and the second is late."""
    write_captures(tmp_path, [capture("e-1", "0.8"), capture("e-2", "0.2")])
    write_truth(tmp_path, "2026-12-01T16", {"e-1": "1"})
    write_truth(tmp_path, "2026-12-01T17", {"e-2": "0"})

    counts = merged(tmp_path, lookback_hours=6).counts

    assert (counts.merged_records, counts.late) == (1, 1)


def test_a_corrected_label_replaces_the_first_and_duplicates_are_counted(tmp_path: Path) -> None:
    """Given a label uploaded at 10:00 and corrected at 12:00 (and the same label sent twice), then the last write
    wins, two duplicates are counted and one of them as conflicting."""
    write_captures(tmp_path, [capture("e-1", "0.8"), capture("e-2", "0.1")])
    write_truth(tmp_path, "2026-12-01T10", {"e-1": "0", "e-2": "0"})
    write_truth(tmp_path, "2026-12-01T12", {"e-1": "1", "e-2": "0"})

    window = merged(tmp_path)

    assert window.labels == [1, 0]
    assert (window.counts.duplicate_labels, window.counts.conflicting_labels) == (2, 1)


def test_unknown_ids_duplicate_captures_and_unusable_records_are_counted_not_merged(tmp_path: Path) -> None:
    """Given a label for an id never captured, a request captured twice under one InferenceId, a label that is no
    class, an output that is no probability and two labels for a one-row request, then each is counted and none
    is merged."""
    write_captures(
        tmp_path,
        [
            capture("e-1", "0.8", inference_id="order-1"),
            capture("e-2", "0.7", inference_id="order-1"),
            capture("e-3", "0.5"),
            capture("e-4", "yes please"),
            capture("e-5", "0.5"),
        ],
    )
    write_truth(tmp_path, "2026-12-01T10", {"order-1": "1", "e-3": "maybe", "e-4": "1", "e-5": "1,0", "ghost": "1"})

    counts = merged(tmp_path).counts

    assert counts.merged_records == 1
    assert (counts.duplicate_captures, counts.invalid_labels, counts.invalid_scores) == (1, 1, 1)
    assert (counts.shape_mismatch, counts.unknown) == (1, 1)


def test_json_and_base64_outputs_and_multi_row_requests_are_merged_row_by_row(tmp_path: Path) -> None:
    """Given a JSON output ({"predictions": [{"score": ...}]}), a BASE64 one, and a two-row CSV request with two
    labels, then every row joins with its own label."""
    json_out = {"observedContentType": "application/json", "mode": "OUTPUT", "encoding": "JSON"}
    json_out["data"] = json.dumps({"predictions": [{"score": 0.9}]})
    b64_out = {"observedContentType": "text/csv", "mode": "OUTPUT", "encoding": "BASE64"}
    b64_out["data"] = base64.b64encode(b"0.25").decode()
    write_captures(
        tmp_path,
        [
            capture("e-1", output=json_out),
            capture("e-2", output=b64_out),
            capture("e-3", "0.7\n0.2", row="1,2,3\n4,5,6"),
        ],
    )
    write_truth(tmp_path, "2026-12-01T10", {"e-1": "1", "e-2": "0", "e-3": "1\n0"})

    window = merged(tmp_path)

    assert (window.scores, window.labels) == ([0.9, 0.25, 0.7, 0.2], [1, 0, 1, 0])
    assert window.counts.merged_rows == 4


# ------------------------------------------------------------------------------------------------- the metrics
@pytest.mark.parametrize("threshold", [0.5, 0.3])
def test_the_metrics_agree_with_scikit_learn(threshold: float) -> None:
    """Given 5,000 scored rows with tied scores, then AUC, accuracy, precision, recall, F0.5/F1/F2, log loss and the
    confusion matrix equal scikit-learn's at the threshold."""
    rng = np.random.default_rng(5)
    labels = rng.integers(0, 2, 5000)
    scores = np.round(np.clip(labels * 0.3 + rng.uniform(0, 0.7, 5000), 0, 1), 2)  # rounding makes ties
    predicted = (scores >= threshold).astype(int)

    block = mq.binary_classification_metrics(labels, scores, threshold)

    expected = {
        "auc": sk.roc_auc_score(labels, scores),
        "accuracy": sk.accuracy_score(labels, predicted),
        "precision": sk.precision_score(labels, predicted),
        "recall": sk.recall_score(labels, predicted),
        "f0_5": sk.fbeta_score(labels, predicted, beta=0.5),
        "f1": sk.f1_score(labels, predicted),
        "f2": sk.fbeta_score(labels, predicted, beta=2),
        "logloss": sk.log_loss(labels, scores),
    }
    assert {name: block[name]["value"] for name in expected} == pytest.approx(expected, abs=1e-12)
    tn, fp, fn, tp = sk.confusion_matrix(labels, predicted).ravel()
    assert block["confusion_matrix"] == {"0": {"0": tn, "1": fp}, "1": {"0": fn, "1": tp}}


def test_the_output_has_the_documented_shape_and_values_of_model_monitors_example() -> None:
    """Given the four rows behind the developer guide's binary classification example (one positive, scored
    highest; two negatives above 0.5), then every documented metric is there with the documented value, the
    confusion matrix is the documented one, and each entry is {value, standard_deviation} with "NaN" under 200
    rows."""
    documented = json.loads((DATA / "documented_binary_classification_metrics.json").read_text())
    documented = documented["binary_classification_metrics"]

    ours = mq.binary_classification_metrics(np.array([0, 0, 0, 1]), np.array([0.1, 0.6, 0.7, 0.9]))

    assert set(documented) <= set(ours)
    assert ours["confusion_matrix"] == documented["confusion_matrix"]
    for name, entry in documented.items():
        if "value" in entry:
            assert ours[name] == {"value": pytest.approx(entry["value"]), "standard_deviation": "NaN"}, name
    roc = ours["receiver_operating_characteristic_curve"]
    assert set(roc) == set(documented["receiver_operating_characteristic_curve"])
    assert (roc["false_positive_rates"][0], roc["true_positive_rates"][-1]) == (0.0, 1.0)
    assert set(ours["precision_recall_curve"]) == {"precisions", "recalls"}


def test_standard_deviations_come_from_200_rows_on_and_one_class_leaves_auc_unjudged() -> None:
    """Given 300 rows, then each metric has a numeric standard deviation (five 80% samples, as documented); given
    a window of one class, then AUC and log loss are "NaN" rather than a made-up number."""
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 300)
    block = mq.binary_classification_metrics(labels, np.clip(labels * 0.3 + rng.uniform(0, 0.7, 300), 0, 1))
    assert 0 < block["auc"]["standard_deviation"] < 0.1

    single = mq.binary_classification_metrics(np.ones(10, dtype=int), np.linspace(0.1, 0.9, 10))
    assert single["auc"]["value"] == "NaN" and single["logloss"]["value"] == "NaN"
    assert single["recall"]["value"] == pytest.approx(0.5)


def test_the_gate_takes_the_tighter_bound_and_log_loss_is_judged_from_above() -> None:
    """Given a threshold and the promoted model's score minus a margin, then the tighter bound is the constraint;
    for logloss (lower is better) the bound is the lower of threshold and score plus margin, and a higher value
    violates it."""
    from retrainer_jobs.monitoring.model_quality_checks import QualityGate, check

    auc = QualityGate("auc", 0.8, 0.97, 0.02).constraint()
    assert auc is not None and (auc.threshold, auc.operator) == (0.95, "LessThanThreshold")
    loss = QualityGate("logloss", 0.5, 0.2, 0.05).constraint()
    assert loss is not None and (loss.threshold, loss.operator) == (0.25, "GreaterThanThreshold")
    statistics = {"binary_classification_metrics": {"logloss": {"value": 0.3}, "auc": {"value": "NaN"}}}
    assert [v["metric_name"] for v in check(statistics, [auc, loss])] == ["logloss"]  # NaN judges nothing
    assert QualityGate("auc").constraint() is None


# ------------------------------------------------------------------------------------------------- the run
def test_a_labelled_window_completes_with_the_statistics_metrics_and_merge_counts(tmp_path: Path) -> None:
    """Given 400 labelled requests of a good model, when the run judges them, then it completes with Model
    Monitor's message and writes the statistics, the merge counts and AUC/accuracy/F1 metrics for
    aws/sagemaker/Endpoints/model-metrics under Endpoint and MonitoringSchedule."""
    traffic(tmp_path, 400)
    write_captures(tmp_path, [capture("unlabelled")], name="more.jsonl")

    code, message = run(tmp_path, "--gate-threshold", "0.7")

    assert (code, message) == (0, "Completed: Job completed successfully with no violations.")
    statistics = report(tmp_path, "statistics.json")
    assert statistics["dataset"]["item_count"] == 400
    assert statistics["binary_classification_metrics"]["auc"]["value"] > 0.8
    assert report(tmp_path, "merge_summary.json")["missing"] == 1
    assert report(tmp_path, "constraint_violations.json") == {"violations": []}
    requests = report(tmp_path, "cloudwatch_metrics.json")
    assert {r["Namespace"] for r in requests} == {"aws/sagemaker/Endpoints/model-metrics"}
    data = [d for r in requests for d in r["MetricData"]]
    names = {d["MetricName"] for d in data if len(d["Dimensions"]) == 2}
    assert {"auc", "accuracy", "precision", "recall", "f1", "logloss"} <= names
    assert data[0]["Dimensions"] == [
        {"Name": "Endpoint", "Value": "churn-endpoint"},
        {"Name": "MonitoringSchedule", "Value": "churn-quality"},
    ]


def test_a_model_that_fell_below_its_test_score_by_more_than_the_margin_is_a_violation(tmp_path: Path) -> None:
    """Given traffic the model now judges poorly (AUC ~0.6) and a promoted model's test AUC of 0.97 with a margin
    of 0.05, then the run completes with one LessThanThreshold violation on auc, and constraints.json holds the
    bound as Model Monitor's model-quality constraints."""
    traffic(tmp_path, 400, skill=0.5)

    code, message = run(tmp_path, "--gate-threshold", "0.5", "--baseline-score", "0.97", "--margin", "0.05")

    assert (code, message) == (0, "CompletedWithViolations: Job completed successfully with 1 violations.")
    (violation,) = report(tmp_path, "constraint_violations.json")["violations"]
    assert (violation["metric_name"], violation["constraint_check_type"]) == ("auc", "LessThanThreshold")
    assert violation["description"].startswith("Metric auc with 0.")
    assert "was LessThanThreshold 0.92" in violation["description"]
    bound = report(tmp_path, "constraints.json")["binary_classification_constraints"]["auc"]
    assert bound == {"threshold": pytest.approx(0.92), "comparison_operator": "LessThanThreshold"}


def test_each_variant_gets_its_own_statistics_and_metrics(tmp_path: Path) -> None:
    """Given a good champion variant and a poor challenger, then variant_statistics.json tells them apart and the
    metrics carry a VariantName dimension for each."""
    traffic(tmp_path, 300, variant="champion", skill=3.0)
    traffic(tmp_path, 300, variant="challenger", skill=0.0, seed=4)

    code, _ = run(tmp_path)

    assert code == 0
    by_variant = report(tmp_path, "variant_statistics.json")
    auc = {name: doc["binary_classification_metrics"]["auc"]["value"] for name, doc in by_variant.items()}
    assert auc["champion"] > 0.9 > 0.65 > auc["challenger"]
    data = [d for r in report(tmp_path, "cloudwatch_metrics.json") for d in r["MetricData"]]
    assert {d["Dimensions"][2]["Value"] for d in data if len(d["Dimensions"]) == 3} == {"champion", "challenger"}


def test_a_window_without_traffic_or_without_labels_yet_is_no_data_not_a_quality_drop(tmp_path: Path) -> None:
    """Given no capture in the window, then the run fails as Model Monitor's 'Job inputs had no data'; given
    captures nobody labelled yet, then the message starts the same and says how many are missing, with no
    violations file."""
    (tmp_path / "capture").mkdir()
    (tmp_path / "truth").mkdir()
    assert run(tmp_path) == (1, "Job inputs had no data")

    write_captures(tmp_path, [capture("e-1"), capture("e-2")])
    code, message = run(tmp_path)

    assert code == 1 and message.startswith("Job inputs had no data: 0 of 2 captured records have ground truth")
    assert not (tmp_path / "report" / "constraint_violations.json").exists()
    assert report(tmp_path, "merge_summary.json")["missing"] == 2


def test_the_run_publishes_its_metrics_when_asked(tmp_path: Path) -> None:
    """Given publish_cloudwatch_metrics=Enabled, then the run puts the metrics itself, timestamps as datetimes."""
    from retrainer_jobs.monitoring.model_quality_job import run_model_quality
    from retrainer_jobs.monitoring.model_quality_settings import ModelQualitySettings, parser

    traffic(tmp_path, 50)
    args = parser({"publish_cloudwatch_metrics": "Enabled", "start_time": f"{HOUR}:00:00Z"}).parse_args(
        ["--capture-dir", str(tmp_path / "capture"), "--ground-truth-dir", str(tmp_path / "truth"),
         "--output-dir", str(tmp_path / "report"), "--end-time", "2026-12-01T11:00:00Z"]
    )  # fmt: skip
    put: list[dict[str, Any]] = []

    class Client:
        def put_metric_data(self, **request: Any) -> None:
            put.append(request)

    assert run_model_quality(ModelQualitySettings.from_args(args), Client()) == 0
    assert put and put[0]["Namespace"] == "aws/sagemaker/Endpoints/model-metrics"
    assert put[0]["MetricData"][0]["Timestamp"] == parse_time("2026-12-01T11:00:00Z")


# ------------------------------------------------------------------------------------------------- feedback
SCHEMA = {
    "columns": [{"name": "age", "type": "numeric"}, {"name": "plan", "type": "categorical"}],
    "target": "churned",
    "positive_label": "yes",
    "negative_label": "no",
    "drop_columns": ["customer_id"],
    "id_column": "customer_id",
}


def feedback_run(tmp: Path, *, end: str = "2026-12-01T11:00:00Z", start: str = f"{HOUR}:00:00Z") -> int:
    (tmp / "schema.json").write_text(json.dumps(SCHEMA))
    code = main(
        [
            "--capture-dir", str(tmp / "capture"), "--ground-truth-dir", str(tmp / "truth"),
            "--output-dir", str(tmp / "report"), "--start-time", start, "--end-time", end,
            "--schema", str(tmp / "schema.json"),
            "--feedback-dir", str(tmp / "feedback"), "--feedback-output-dir", str(tmp / "feedback"),
        ]
    )  # fmt: skip
    return code


def read_csv(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text())))


def test_feedback_is_the_raw_inputs_with_the_models_label_values_in_upload_column_order(tmp_path: Path) -> None:
    """Given a CSV request and a JSON request (keys in another order) labelled 1 and 0, then the window's feedback
    file holds their raw inputs under the schema's columns, the id column filled with the request's id, and the
    target in the model's own label values."""
    json_input = json.dumps({"plan": "gold, annual", "age": 41})
    write_captures(
        tmp_path,
        [
            capture("e-1", "0.8", row="35,basic", inference_id="c-9"),
            capture("e-2", "0.3", row=json_input, input_encoding="JSON"),
        ],
    )
    write_truth(tmp_path, "2026-12-01T11", {"c-9": "1", "e-2": "0"})

    assert feedback_run(tmp_path) == 0

    assert read_csv(tmp_path / "feedback" / "2026-12-01-10.csv") == [
        ["age", "plan", "customer_id", "churned"],
        ["35", "basic", "c-9", "yes"],
        ["41", "gold, annual", "e-2", "no"],
    ]
    ids = json.loads((tmp_path / "feedback" / "2026-12-01-10.json").read_text())
    assert ids["event_ids"] == ["e-1", "e-2"] and ids["rows"] == 2


def test_re_running_a_window_overwrites_its_file_and_other_windows_skip_rows_already_written(tmp_path: Path) -> None:
    """Given a window whose feedback was written, when the same window runs again after one more label arrived,
    then its one file is rewritten with both rows; when a day-long window covering it runs, then it writes only the
    requests no earlier window wrote."""
    write_captures(tmp_path, [capture("e-1", "0.8", row="35,basic"), capture("e-2", "0.3", row="50,gold")])
    write_truth(tmp_path, "2026-12-01T11", {"e-1": "1"})
    assert feedback_run(tmp_path) == 0
    write_truth(tmp_path, "2026-12-01T12", {"e-2": "0"})

    assert feedback_run(tmp_path) == 0
    assert sorted(p.name for p in (tmp_path / "feedback").iterdir()) == ["2026-12-01-10.csv", "2026-12-01-10.json"]
    assert len(read_csv(tmp_path / "feedback" / "2026-12-01-10.csv")) == 3

    write_lines(tmp_path / "capture", "2026-12-01T15", [capture("e-3", "0.6", row="60,gold").replace("T10:", "T15:")],
                prefix="churn-endpoint/AllTraffic")  # fmt: skip
    write_truth(tmp_path, "2026-12-01T16", {"e-3": "1"})
    assert feedback_run(tmp_path, start="2026-12-01T00:00:00Z", end="2026-12-02T00:00:00Z") == 0

    day = read_csv(tmp_path / "feedback" / "2026-12-01-0000--2026-12-02-0000.csv")
    assert day == [["age", "plan", "customer_id", "churned"], ["60", "gold", "e-3", "yes"]]
    assert report(tmp_path, "statistics.json")["dataset"]["item_count"] == 3  # judged on all, fed back once


def test_the_next_retraining_trains_on_the_uploaded_data_and_the_feedback_together(tmp_path: Path) -> None:
    """Given a model trained on an upload, when its feedback file lands in the model's data folder, then Preprocess
    reads both (by column name), keeps the schema's column order and trains on more rows."""
    rng = np.random.default_rng(0)
    data = tmp_path / "incoming" / "churn"
    data.mkdir(parents=True)
    lines = ["customer_id,churned,age,plan"] + [
        f"c{i},{'yes' if i % 3 else 'no'},{rng.integers(18, 80)},{rng.choice(['basic', 'gold'])}" for i in range(120)
    ]
    (data / "upload.csv").write_text("\n".join(lines) + "\n")
    rules = Rules(target="churned", drop_columns=("customer_id",))
    preprocess.run(data, tmp_path / "first", rules, id_column="customer_id")
    schema = json.loads((tmp_path / "first" / "schema" / "schema.json").read_text())
    schema_from_run = tmp_path / "schema.json"
    schema_from_run.write_text(json.dumps(schema))
    write_captures(tmp_path, [capture(f"e-{i}", "0.7", row=f"{30 + i},gold") for i in range(20)])
    write_truth(tmp_path, "2026-12-01T11", {f"e-{i}": str(i % 2) for i in range(20)})
    code = main(
        ["--capture-dir", str(tmp_path / "capture"), "--ground-truth-dir", str(tmp_path / "truth"),
         "--output-dir", str(tmp_path / "report"), "--start-time", f"{HOUR}:00:00Z",
         "--end-time", "2026-12-01T11:00:00Z", "--schema", str(schema_from_run),
         "--feedback-output-dir", str(data / "feedback")]
    )  # fmt: skip
    assert code == 0

    preprocess.run(data, tmp_path / "second", rules, id_column="customer_id")

    second = json.loads((tmp_path / "second" / "schema" / "schema.json").read_text())
    assert [c["name"] for c in second["columns"]] == [c["name"] for c in schema["columns"]] == ["age", "plan"]
    assert sum(second["rows"].values()) == sum(schema["rows"].values()) + 20
    assert (second["positive_label"], second["negative_label"]) == ("yes", "no")


# ------------------------------------------------------------------------------------------------- the image
MODEL_QUALITY_FILES = sorted(
    p
    for p in (ROOT / "sagemaker_jobs" / "retrainer_jobs" / "monitoring").glob("*.py")
    if p.name.startswith(("model_quality", "ground_truth"))
)


@pytest.mark.parametrize("path", MODEL_QUALITY_FILES, ids=lambda p: p.name)
def test_the_job_code_parses_as_python_3_9_which_the_scikit_learn_image_runs(path: Path) -> None:
    ast.parse(path.read_text(), feature_version=(3, 9))


def test_the_job_runs_as_a_plain_file_from_the_published_folder(tmp_path: Path) -> None:
    """Given the monitoring folder copied alone (as the job code is published), when the entry file runs with a
    bare interpreter path, then it imports its siblings and completes."""
    import shutil
    import subprocess
    import sys

    code = tmp_path / "code" / "monitoring"
    shutil.copytree(ROOT / "sagemaker_jobs" / "retrainer_jobs" / "monitoring", code)
    traffic(tmp_path, 20)
    command = [
        sys.executable, str(code / "model_quality_job.py"),
        "--capture-dir", str(tmp_path / "capture"), "--ground-truth-dir", str(tmp_path / "truth"),
        "--output-dir", str(tmp_path / "report"),
        "--start-time", f"{HOUR}:00:00Z", "--end-time", "2026-12-01T11:00:00Z",
    ]  # fmt: skip

    done = subprocess.run(command, check=False, capture_output=True, text=True, env={"PATH": "/usr/bin"}, cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["merge"]["merged_records"] == 20
