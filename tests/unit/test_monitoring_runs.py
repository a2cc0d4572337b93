"""Monitoring runs end to end (the job's command line, in process): outcomes, each violation kind, metrics, streaming.

Outcomes and texts follow /work/shared/docs/monitoring-contracts.md ("Statuses and events", "constraint_violations
.json", "CloudWatch") and the SageMaker developer guide's "Schema for Violations" / "CloudWatch Metrics".
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from retrainer_jobs.monitoring import capture_records
from retrainer_jobs.monitoring.__main__ import main
from retrainer_jobs.monitoring.analyze_window import Baseline, analyze
from retrainer_jobs.monitoring.capture_records import Window
from retrainer_jobs.monitoring.job_settings import AnalysisSettings
from retrainer_jobs.monitoring.run_jobs import run_analysis

HOUR = "2026-12-01T10"


def write_captures(root: Path, rows: list[str], *, hour: str = HOUR, files: int = 1, encoding: str = "CSV") -> None:
    """Capture files as data capture lays them out: <endpoint>/<variant>/yyyy/mm/dd/hh/*.jsonl."""
    day, hh = hour.split("T")
    folder = root / "churn-endpoint" / "AllTraffic" / day.replace("-", "/") / hh
    folder.mkdir(parents=True, exist_ok=True)
    for part in range(files):
        lines = []
        for i, row in enumerate(rows[part::files]):
            record = {
                "captureData": {
                    "endpointInput": {
                        "observedContentType": "text/csv",
                        "mode": "INPUT",
                        "data": row,
                        "encoding": encoding,
                    },
                    "endpointOutput": {
                        "observedContentType": "text/csv",
                        "mode": "OUTPUT",
                        "data": "0.5",
                        "encoding": "CSV",
                    },
                },
                "eventMetadata": {"eventId": f"{part}-{i}", "inferenceTime": f"{hour}:{i % 60:02d}:{part % 60:02d}Z"},
                "eventVersion": "0",
            }
            lines.append(json.dumps(record))
        (folder / f"{part:02d}-00-000-{part}.jsonl").write_text("\n".join(lines) + "\n")


def baseline(tmp_path: Path, rows: int = 2000, seed: int = 7) -> None:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 80, rows),
            "car_value": rng.normal(20000, 4000, rows).round(2),
            "region": rng.choice(["north", "south", "east"], rows),
        }
    )
    (tmp_path / "in").mkdir(exist_ok=True)
    frame.to_csv(tmp_path / "in" / "train.csv", index=False)
    assert main(["baseline", "--input-dir", str(tmp_path / "in"), "--output-dir", str(tmp_path / "out")]) == 0


def traffic(
    rows: int, seed: int = 11, car_mean: float = 20000, regions: tuple[str, ...] = ("north", "south", "east")
) -> list[str]:
    rng = np.random.default_rng(seed)
    return [f"{rng.integers(18, 80)},{rng.normal(car_mean, 4000):.2f},{rng.choice(list(regions))}" for _ in range(rows)]


def analysis_run(
    tmp_path: Path, *extra: str, start: str = f"{HOUR}:00:00Z", end: str = "2026-12-01T11:00:00Z"
) -> tuple[int, str, dict[str, Any]]:
    code = main(
        [
            "analysis",
            "--capture-dir", str(tmp_path / "capture"),
            "--baseline-dir", str(tmp_path / "out"),
            "--output-dir", str(tmp_path / "report"),
            "--start-time", start,
            "--end-time", end,
            "--endpoint-name", "churn-endpoint",
            "--schedule-name", "churn-hourly",
            "--message-file", str(tmp_path / "message"),
            *extra,
        ]
    )  # fmt: skip
    message = (tmp_path / "message").read_text()
    violations_file = tmp_path / "report" / "constraint_violations.json"
    violations = json.loads(violations_file.read_text()) if violations_file.exists() else {}
    return code, message, violations


def kinds(violations: dict[str, Any]) -> set[tuple[str, str]]:
    return {(v["feature_name"], v["constraint_check_type"]) for v in violations["violations"]}


def test_traffic_like_the_baseline_completes_with_no_violations(tmp_path: Path) -> None:
    """Given traffic drawn like the training data, when the hourly run analyses it, then the job completes with
    Model Monitor's message and an empty violations list, and writes the three reports."""
    baseline(tmp_path)
    write_captures(tmp_path / "capture", traffic(1000))

    code, message, violations = analysis_run(tmp_path)

    assert code == 0
    assert message == "Completed: Job completed successfully with no violations."
    assert violations == {"violations": []}
    assert {p.name for p in (tmp_path / "report").iterdir()} == {
        "statistics.json",
        "constraints.json",
        "constraint_violations.json",
        "cloudwatch_metrics.json",
    }
    statistics = json.loads((tmp_path / "report" / "statistics.json").read_text())
    assert statistics["dataset"]["item_count"] == 1000


def test_a_window_without_traffic_fails_as_model_monitor_no_data_and_reports_no_violation(tmp_path: Path) -> None:
    """Given captures only in another hour, then the run ends as Model Monitor's: exit 1 (the execution Failed)
    with ExitMessage 'Job inputs had no data', and no violations file (no data is not drift)."""
    baseline(tmp_path)
    write_captures(tmp_path / "capture", traffic(50), hour="2026-12-01T08")

    code, message, violations = analysis_run(tmp_path)

    assert (code, message) == (1, "Job inputs had no data")
    assert violations == {}


def test_drifted_traffic_is_a_baseline_drift_violation_with_the_distance(tmp_path: Path) -> None:
    """Given car values shifted by one standard deviation, then car_value gets a baseline_drift_check whose text
    peers parse ('distance: X exceeds threshold: Y'), and the message counts the violations."""
    baseline(tmp_path)
    write_captures(tmp_path / "capture", traffic(1000, car_mean=24000))

    code, message, violations = analysis_run(tmp_path)

    assert code == 0
    assert kinds(violations) == {("car_value", "baseline_drift_check")}
    assert message == "CompletedWithViolations: Job completed successfully with 1 violations."
    description = violations["violations"][0]["description"]
    found = re.search(r"distance: (.+) exceeds threshold: (.+)", description)
    assert found is not None
    distance, threshold = (float(x) for x in found.groups())
    assert distance > 0.2 and threshold == 0.1


def test_fractional_and_text_values_in_an_integral_feature_are_a_data_type_violation(tmp_path: Path) -> None:
    """The documented text: 'Data type match requirement is not met. Expected data type: Integral, Expected match:
    100.0%. Observed: Only ...% of data is Integral.'"""
    baseline(tmp_path)
    rows = traffic(1000)
    rows[:10] = [f"{30 + i}.5,20000,north" for i in range(10)]
    write_captures(tmp_path / "capture", rows)

    _, _, violations = analysis_run(tmp_path)

    assert ("age", "data_type_check") in kinds(violations)
    text = next(v["description"] for v in violations["violations"] if v["constraint_check_type"] == "data_type_check")
    assert text == (
        "Data type match requirement is not met. Expected data type: Integral, Expected match: 100.0%. "
        "Observed: Only 99.0% of data is Integral."
    )


def test_blank_values_are_a_completeness_violation(tmp_path: Path) -> None:
    baseline(tmp_path)
    rows = traffic(1000)
    rows[:50] = [f"{30 + i % 40},,north" for i in range(50)]
    write_captures(tmp_path / "capture", rows)

    _, _, violations = analysis_run(tmp_path)

    assert ("car_value", "completeness_check") in kinds(violations)


def test_unknown_categories_are_a_categorical_values_violation(tmp_path: Path) -> None:
    baseline(tmp_path)
    write_captures(tmp_path / "capture", traffic(1000, regions=("north", "south", "east", "west")))

    _, _, violations = analysis_run(tmp_path)

    assert ("region", "categorical_values_check") in kinds(violations)
    assert ("region", "baseline_drift_check") in kinds(violations)


def test_short_rows_are_a_missing_column_and_long_rows_an_extra_column(tmp_path: Path) -> None:
    """Headerless CSV is read by position: a row short of the baseline's columns misses the last ones; a longer
    row carries an extra column (Spark's name _c3)."""
    baseline(tmp_path)
    rows = traffic(1000)
    rows[0] = "30,20000"
    rows[1] = "30,20000,north,surprise"
    write_captures(tmp_path / "capture", rows)

    _, _, violations = analysis_run(tmp_path)

    assert {("region", "missing_column_check"), ("_c3", "extra_column_check")} <= kinds(violations)


def test_metrics_are_named_as_model_monitor_publishes_them(tmp_path: Path) -> None:
    """feature_baseline_drift_<f>, feature_non_null_<f>, feature_data_<f> in aws/sagemaker/Endpoints/data-metrics
    with dimensions Endpoint and MonitoringSchedule, stamped with the window's end."""
    baseline(tmp_path)
    write_captures(tmp_path / "capture", traffic(500, car_mean=24000))
    analysis_run(tmp_path)

    requests = json.loads((tmp_path / "report" / "cloudwatch_metrics.json").read_text())
    data = {d["MetricName"]: d for r in requests for d in r["MetricData"]}

    assert {r["Namespace"] for r in requests} == {"aws/sagemaker/Endpoints/data-metrics"}
    assert {
        "feature_baseline_drift_car_value",
        "feature_non_null_age",
        "feature_data_car_value",
        "feature_baseline_drift_region",
    } <= set(data)
    assert data["feature_baseline_drift_car_value"]["Value"] > 0.2
    assert data["feature_non_null_age"]["Value"] == 1.0
    assert data["feature_data_age"]["StatisticValues"]["SampleCount"] == 500
    assert data["feature_non_null_age"]["Dimensions"] == [
        {"Name": "Endpoint", "Value": "churn-endpoint"},
        {"Name": "MonitoringSchedule", "Value": "churn-hourly"},
    ]
    assert data["feature_non_null_age"]["Timestamp"] == "2026-12-01T11:00:00+00:00"


class FakeCloudWatch:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    def put_metric_data(self, **request: Any) -> None:
        self.requests.append(request)


def test_publish_cloudwatch_metrics_enabled_puts_them(tmp_path: Path) -> None:
    """With Model Monitor's publish_cloudwatch_metrics=Enabled, the run puts its metrics itself."""
    baseline(tmp_path)
    write_captures(tmp_path / "capture", traffic(200))
    settings = AnalysisSettings(
        tmp_path / "capture",
        tmp_path / "out",
        tmp_path / "report",
        Window(),
        "churn-endpoint",
        "churn-hourly",
        True,
        None,
    )
    cloudwatch = FakeCloudWatch()

    assert run_analysis(settings, cloudwatch) == 0

    names = {d["MetricName"] for r in cloudwatch.requests for d in r["MetricData"]}
    assert "feature_non_null_region" in names
    assert all(r["Namespace"] == "aws/sagemaker/Endpoints/data-metrics" for r in cloudwatch.requests)


def test_many_capture_files_stream_in_batches_to_the_same_statistics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given 40 capture files read in batches of 64 rows, then the statistics equal those of one batch: the job
    holds a batch, not the window."""
    baseline(tmp_path)
    write_captures(tmp_path / "capture", traffic(3000, car_mean=21000), files=40)
    loaded = Baseline.load(tmp_path / "out" / "statistics.json", tmp_path / "out" / "constraints.json")
    whole = analyze(tmp_path / "capture", loaded, Window())
    batch_sizes: list[int] = []
    real = capture_records.read_batches

    def small_batches(*args: Any, **kwargs: Any) -> Any:
        for batch in real(*args, **{**kwargs, "batch_rows": 64}):
            batch_sizes.append(batch.rows)
            yield batch

    # patched where `analyze` looks it up: a by-name patch missed when another test had re-imported the job package
    monkeypatch.setitem(analyze.__globals__, "read_batches", small_batches)
    streamed = analyze(tmp_path / "capture", loaded, Window())

    assert max(batch_sizes) == 64 and len(batch_sizes) >= 3000 // 64
    assert streamed.records == whole.records == 3000
    stats_whole, stats_streamed = whole.statistics.to_json(), streamed.statistics.to_json()
    for a, b in zip(stats_whole["features"], stats_streamed["features"], strict=True):
        if "numerical_statistics" in a:
            for key in ("mean", "std_dev", "sum", "min", "max"):
                assert b["numerical_statistics"][key] == pytest.approx(a["numerical_statistics"][key])
            assert (
                b["numerical_statistics"]["distribution"]["kll"]["buckets"]
                == a["numerical_statistics"]["distribution"]["kll"]["buckets"]
            )
        else:
            assert a == b
    assert streamed.drift == pytest.approx(whole.drift)


def test_the_job_runs_from_the_published_files_as_the_processing_container_starts_it(tmp_path: Path) -> None:
    """Given the monitoring folder copied as plain files (as the job code is published to
    /opt/ml/processing/input/code), when `python3 <code>/monitoring/__main__.py baseline ...` runs in a fresh
    interpreter without the repository on PYTHONPATH, then it writes the baseline and Model Monitor's ExitMessage."""
    import os
    import shutil
    import subprocess
    import sys

    import retrainer_jobs.monitoring as package

    code = tmp_path / "code"
    shutil.copytree(Path(package.__file__).parent, code / "monitoring", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "in").mkdir()
    pd.DataFrame({"age": [20, 30, 40], "plan": ["a", "b", "a"]}).to_csv(tmp_path / "in" / "train.csv", index=False)
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}

    completed = subprocess.run(
        [sys.executable, str(code / "monitoring" / "__main__.py"), "baseline",
         "--input-dir", str(tmp_path / "in"), "--output-dir", str(tmp_path / "out"),
         "--message-file", str(tmp_path / "message")],
        cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip

    assert completed.returncode == 0, completed.stderr
    assert (tmp_path / "message").read_text() == "Completed: Job completed successfully with no violations."
    assert [f["name"] for f in json.loads((tmp_path / "out" / "statistics.json").read_text())["features"]] == [
        "age",
        "plan",
    ]
