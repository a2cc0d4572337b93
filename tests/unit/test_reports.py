"""The monitoring report and the model history page (issue 14 item 5), rendered from real job output, no AWS.

The monitoring files are produced by the monitoring job code itself (baseline + one drifted window), laid out in a
fake S3 bucket as the product writes them (monitoring/<model>/baseline/<version>/, monitoring/<model>/<schedule>/
yyyy/mm/dd/hh/, runs/<model>/<run-id>/evaluation-report.json); the other inputs are in tests/data/reports/.
"""

from __future__ import annotations

import base64
import copy
import importlib.util
import io
import json
import math
import re
from datetime import UTC, datetime
from html import unescape
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from retrainer.services.monitoring import layout
from retrainer_jobs.monitoring.__main__ import main as monitoring_job
from retrainer_jobs.monitoring.ground_truth import ground_truth_line
from retrainer_jobs.monitoring.model_quality_job import main as model_quality_job
from retrainer_offline.reports.report_data import ReportData
from retrainer_offline.reports.rollout_history import (
    BAKE_STARTS,
    DEPLOYED,
    RESTORE_STARTS,
    load_weight_records,
    weights_from_history,
)
from retrainer_offline.reports.s3_loader import load_report_data

DATA = Path(__file__).resolve().parents[1] / "data" / "reports"
MODEL, SCHEDULE, BUCKET = "car-loans", "car-loans-hourly", "artifacts"
FIRST_HOUR, DRIFT_HOUR = "2026-12-01T10", "2026-12-01T11"
# Two promoted versions (a model-quality schedule each, named after the version's run id).
FIRST_VERSION, SECOND_VERSION = "car-loans-0a1b2c3d4e5f", "car-loans-1b2c3d4e5f60"

needs_matplotlib = pytest.mark.skipif(
    importlib.util.find_spec("matplotlib") is None, reason="matplotlib is not installed (pyproject `offline` extra)"
)


# ---------------------------------------------------------------- producing the files with the job code


def _captures(folder: Path, hour: str, rows: list[str]) -> None:
    day, hh = hour.split("T")
    target = folder / "car-loans-endpoint" / "AllTraffic" / day.replace("-", "/") / hh
    target.mkdir(parents=True, exist_ok=True)
    lines = [
        json.dumps(
            {
                "captureData": {
                    "endpointInput": {
                        "observedContentType": "text/csv",
                        "mode": "INPUT",
                        "data": row,
                        "encoding": "CSV",
                    },
                    "endpointOutput": {
                        "observedContentType": "text/csv",
                        "mode": "OUTPUT",
                        "data": "0.5",
                        "encoding": "CSV",
                    },
                },
                "eventMetadata": {"eventId": f"{hour}-{i}", "inferenceTime": f"{hour}:{i % 60:02d}:{i % 59:02d}Z"},
                "eventVersion": "0",
            }
        )
        for i, row in enumerate(rows)
    ]
    (target / "00-00-000-0.jsonl").write_text("\n".join(lines) + "\n")


def _traffic(rows: int, seed: int, car_mean: float, regions: list[str], missing_age_every: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    lines = []
    for i in range(rows):
        age = "" if missing_age_every and i % missing_age_every == 0 else str(rng.integers(18, 80))
        lines.append(f"{age},{rng.normal(car_mean, 4000):.2f},{rng.choice(regions)}")
    return lines


def _analysis(root: Path, hour: str, output: Path) -> None:
    start = f"{hour}:00:00Z"
    end = datetime.fromisoformat(f"{hour}:00:00+00:00").replace(minute=59, second=59).strftime("%Y-%m-%dT%H:%M:%SZ")
    code = monitoring_job(
        ["analysis", "--capture-dir", str(root / "capture"), "--baseline-dir", str(root / "baseline"),
         "--output-dir", str(output), "--start-time", start, "--end-time", end,
         "--endpoint-name", "car-loans-endpoint", "--schedule-name", SCHEDULE]
    )  # fmt: skip
    assert code == 0


@pytest.fixture(scope="module")
def job_output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Baseline from 2,000 training rows; an hour of traffic like it; an hour of drifted traffic (car values up by
    two standard deviations, a region the baseline never saw, one age in ten missing)."""
    root = tmp_path_factory.mktemp("monitoring")
    rng = np.random.default_rng(7)
    training = pd.DataFrame(
        {
            "age": rng.integers(18, 80, 2000),
            "car_value": rng.normal(20000, 4000, 2000).round(2),
            "region": rng.choice(["north", "south", "east"], 2000),
        }
    )
    (root / "train").mkdir()
    training.to_csv(root / "train" / "train.csv", index=False)
    assert monitoring_job(["baseline", "--input-dir", str(root / "train"), "--output-dir", str(root / "baseline")]) == 0
    _captures(root / "capture", FIRST_HOUR, _traffic(600, 11, 20000, ["north", "south", "east"]))
    _captures(root / "capture", DRIFT_HOUR, _traffic(600, 12, 28000, ["north", "west"], missing_age_every=10))
    _analysis(root, FIRST_HOUR, root / "runs" / FIRST_HOUR)
    _analysis(root, DRIFT_HOUR, root / "runs" / DRIFT_HOUR)
    return root


# ---------------------------------------------------------------- model-quality runs, produced by the job code

# (version, window start hour, labelled requests, skill, labels): skill separates the classes (0: a coin toss); the
# labels "mixed", "one class" (every label 1) or "none" (nothing uploaded).
QUALITY_WINDOWS = (
    (FIRST_VERSION, 10, 300, 4.0, "mixed"),  # good: no violation
    (FIRST_VERSION, 11, 300, 0.6, "mixed"),  # the drifted hour: AUC falls below the bound, a violation
    (SECOND_VERSION, 12, 120, 4.0, "mixed"),  # under 200 rows: standard deviations "NaN"
    (SECOND_VERSION, 13, 250, 4.0, "one class"),  # AUC and log loss "NaN"
    (SECOND_VERSION, 14, 40, 4.0, "none"),  # no labels yet: only merge_summary.json
)
BASELINE_SCORE, MARGIN = 0.97, 0.02  # the alarm bound: auc < 0.95


def _quality_window(root: Path, start: int, rows: int, skill: float, labels: str) -> int:
    """Captured predictions of one hour and (unless "none") their labels uploaded an hour after the window."""
    rng = np.random.default_rng(start)
    truth = np.ones(rows, dtype=int) if labels == "one class" else rng.integers(0, 2, rows)
    scores = 1 / (1 + np.exp(-(skill * (truth - 0.5) + rng.normal(0, 1, rows))))
    hour = f"2026-12-01T{start:02d}"
    records = [
        json.dumps(
            {
                "captureData": {
                    "endpointInput": {
                        "observedContentType": "text/csv",
                        "mode": "INPUT",
                        "data": "30,21000.00,north",
                        "encoding": "CSV",
                    },
                    "endpointOutput": {
                        "observedContentType": "text/csv",
                        "mode": "OUTPUT",
                        "data": f"{score:.6f}",
                        "encoding": "CSV",
                    },
                },
                "eventMetadata": {"eventId": f"{hour}-{i}", "inferenceTime": f"{hour}:{i % 60:02d}:00Z"},
                "eventVersion": "0",
            }
        )
        for i, score in enumerate(scores)
    ]
    _write_lines(root / "capture" / "car-loans-endpoint" / "AllTraffic", hour, records)
    if labels != "none":
        upload = f"2026-12-01T{start + 2:02d}"
        _write_lines(root / "truth", upload, [ground_truth_line(f"{hour}-{i}", str(t)) for i, t in enumerate(truth)])
    return model_quality_job(
        ["--capture-dir", str(root / "capture"), "--ground-truth-dir", str(root / "truth"),
         "--output-dir", str(root / "report"), "--start-time", f"{hour}:00:00Z",
         "--end-time", f"2026-12-01T{start + 1:02d}:00:00Z", "--gate-metric", "auc", "--gate-threshold", "0.8",
         "--baseline-score", str(BASELINE_SCORE), "--margin", str(MARGIN), "--endpoint-name", "car-loans-endpoint",
         "--schedule-name", "quality", "--message-file", str(root / "message")]
    )  # fmt: skip


def _write_lines(folder: Path, hour: str, lines: list[str]) -> None:
    day, hh = hour.split("T")
    target = folder / day.replace("-", "/") / hh
    target.mkdir(parents=True, exist_ok=True)
    (target / "part.jsonl").write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def quality_output(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, int], Path]:
    """(version, window end hour) -> the report folder the model-quality job wrote for that window."""
    reports = {}
    for version, start, rows, skill, labels in QUALITY_WINDOWS:
        root = tmp_path_factory.mktemp(f"quality-{start}")
        code = _quality_window(root, start, rows, skill, labels)
        assert code == (1 if labels == "none" else 0), (root / "message").read_text()
        reports[(version, start + 1)] = root / "report"
    return reports


def quality_report(quality_output: dict[tuple[str, int], Path], end_hour: int, name: str) -> Any:
    folder = next(path for (_, end), path in quality_output.items() if end == end_hour)
    return json.loads((folder / name).read_text())


# ---------------------------------------------------------------- a fake S3 bucket (ListObjectsV2 + GetObject)


class FakeS3:
    """Honours Prefix, MaxKeys and ContinuationToken as S3 does (keys in UTF-8 order)."""

    def __init__(self, page_size: int = 3) -> None:
        self.objects: dict[tuple[str, str], tuple[bytes, datetime]] = {}
        self.page_size = page_size
        self.read: list[str] = []

    def put(self, key: str, document: Any, modified: datetime | None = None, bucket: str = BUCKET) -> None:
        self.objects[(bucket, key)] = (json.dumps(document).encode(), modified or datetime(2026, 12, 1, tzinfo=UTC))

    def list_objects_v2(self, **request: Any) -> dict[str, Any]:
        keys = sorted(k for b, k in self.objects if b == request["Bucket"] and k.startswith(request.get("Prefix", "")))
        start = int(request.get("ContinuationToken", 0))
        size = min(self.page_size, request.get("MaxKeys", 1000))
        page = keys[start : start + size]
        answer: dict[str, Any] = {
            "Contents": [{"Key": k, "LastModified": self.objects[(request["Bucket"], k)][1]} for k in page],
            "IsTruncated": start + size < len(keys),
        }
        if answer["IsTruncated"]:
            answer["NextContinuationToken"] = str(start + size)
        return answer

    def get_object(self, **request: Any) -> dict[str, Any]:
        self.read.append(request["Key"])
        return {"Body": io.BytesIO(self.objects[(request["Bucket"], request["Key"])][0])}


def _hour_prefix(hour: str) -> str:
    day, hh = hour.split("T")
    return f"monitoring/{MODEL}/{SCHEDULE}/{day.replace('-', '/')}/{hh}/"


def put_quality_runs(s3: FakeS3, quality_output: dict[tuple[str, int], Path]) -> None:
    """Each model-quality run's files where the product writes them: layout.quality_report_uri."""
    for (version, end_hour), folder in quality_output.items():
        uri = layout.quality_report_uri(BUCKET, MODEL, version, datetime(2026, 12, 1, end_hour, tzinfo=UTC))
        _, prefix = layout.split_uri(uri)
        for file in folder.iterdir():
            s3.put(prefix + file.name, json.loads(file.read_text()))


def bucket_with(
    job_output: Path | None,
    *,
    quality: dict[tuple[str, int], Path] | None = None,
    hours: tuple[str, ...] = (FIRST_HOUR, DRIFT_HOUR),
) -> FakeS3:
    s3 = FakeS3()
    if quality:
        put_quality_runs(s3, quality)
    if job_output is None:
        return s3
    for name in ("statistics.json", "constraints.json"):
        s3.put(f"monitoring/{MODEL}/baseline/3/{name}", json.loads((job_output / "baseline" / name).read_text()))
    for hour in hours:
        for file in (job_output / "runs" / hour).iterdir():
            s3.put(_hour_prefix(hour) + file.name, json.loads(file.read_text()))
    for number, report in enumerate(sorted(DATA.glob("evaluation-report-*.json"))):
        document = json.loads(report.read_text())
        s3.put(
            f"runs/{MODEL}/{document['run_id']}/evaluation-report.json",
            document,
            datetime(2026, 11, 20 + number, tzinfo=UTC),
        )
    s3.put(f"runs/{MODEL}/car-loans-0a1b2c3d4e5f/model/model.tar.gz", {})  # other run files are not reports
    # Another model whose name starts with this one's must not leak into its report.
    s3.put(f"monitoring/{MODEL}-eu/baseline/1/statistics.json", {"features": [{"name": "leaked_feature"}]})
    return s3


def violations_of(job_output: Path, hour: str) -> list[dict[str, str]]:
    return json.loads((job_output / "runs" / hour / "constraint_violations.json").read_text())["violations"]


def history_events() -> list[dict[str, Any]]:
    events = json.loads((DATA / "execution_history_canary.json").read_text())["events"]
    return [{**event, "timestamp": datetime.fromisoformat(event["timestamp"])} for event in events]


# ---------------------------------------------------------------- the loader


def test_loader_reads_the_models_files_from_s3_page_by_page(
    job_output: Path, quality_output: dict[tuple[str, int], Path]
) -> None:
    """Given a bucket holding a baseline, two hourly runs, three evaluation reports, five model-quality runs and
    another model's files, when the report data is loaded (3 keys per page), then each is found where the product
    writes it and nothing of the other model is."""
    data = load_report_data(bucket_with(job_output, quality=quality_output), BUCKET, MODEL)

    assert [b.version for b in data.baselines] == ["3"]
    assert [(r.schedule, r.hour) for r in data.monitoring_runs] == [
        (SCHEDULE, datetime(2026, 12, 1, 10, tzinfo=UTC)),
        (SCHEDULE, datetime(2026, 12, 1, 11, tzinfo=UTC)),
    ]
    assert {(v.feature_name, v.check) for v in data.monitoring_runs[1].violations} == {
        (v["feature_name"], v["constraint_check_type"]) for v in violations_of(job_output, DRIFT_HOUR)
    }
    assert [e.run_id for e in data.evaluations] == [
        "car-loans-0a1b2c3d4e5f",
        "car-loans-1b2c3d4e5f60",
        "car-loans-2c3d4e5f6071",
    ]
    assert [(q.schedule, q.time.hour) for q in data.quality_runs] == [(v, end) for v, end in quality_output]
    assert "leaked_feature" not in json.dumps([b.statistics for b in data.baselines])


def test_every_model_quality_run_is_loaded_with_its_values_counts_bound_and_violations(
    quality_output: dict[tuple[str, int], Path],
) -> None:
    """Given five model-quality windows of two promoted versions written by the job (one violating, one under 200
    rows, one of one class, one without labels), when they are loaded, then each window has its evaluation time,
    the values of statistics.json (NaN where the job wrote "NaN"), merge_summary.json's counts, the alarm bound of
    constraints.json and its violations; the window without labels has counts only."""
    runs = load_report_data(bucket_with(None, quality=quality_output), BUCKET, MODEL).quality_runs

    for run in runs:
        end = run.time.hour
        merge = quality_report(quality_output, end, "merge_summary.json")
        assert run.merge["captured_records"] == merge["captured_records"]
        assert run.merge["merged_records"] == merge["merged_records"]
        if end == 15:
            assert not run.judged and run.merge["missing"] == 40 and run.violations == []
            continue
        statistics = quality_report(quality_output, end, "statistics.json")
        assert run.time == datetime.fromisoformat(statistics["dataset"]["evaluation_time"])
        for metric in ("auc", "accuracy", "precision", "recall", "f1", "logloss"):
            written = statistics["binary_classification_metrics"][metric]["value"]
            assert run.value(metric) == pytest.approx(float(written), nan_ok=True)
        assert run.bounds["auc"].threshold == pytest.approx(BASELINE_SCORE - MARGIN)
        assert run.gate_metric == "auc"
    by_end = {run.time.hour: run for run in runs}
    assert [v.feature_name for v in by_end[12].violations] == ["auc"] and by_end[12].value("auc") < 0.95
    assert all(not by_end[end].violations for end in (11, 13, 14))
    assert math.isnan(by_end[13].metrics["auc"].deviation) and not math.isnan(by_end[13].metrics["auc"].value)
    assert math.isnan(by_end[14].value("auc")) and math.isnan(by_end[14].value("logloss"))


def test_a_model_monitor_statistics_file_without_the_other_files_is_read(tmp_path: Path) -> None:
    """Given only a statistics.json in the developer guide's example layout (no merge summary, no constraints),
    when it is loaded, then its window has the values, the labelled row count and the evaluation time."""
    s3 = FakeS3()
    _, prefix = layout.split_uri(
        layout.quality_report_uri(BUCKET, MODEL, FIRST_VERSION, datetime(2026, 12, 1, 12, tzinfo=UTC))
    )
    s3.put(prefix + "statistics.json", json.loads((DATA / "model_quality_statistics.json").read_text()))

    (run,) = load_report_data(s3, BUCKET, MODEL).quality_runs

    assert (run.schedule, run.item_count, run.value("auc"), run.merge) == (FIRST_VERSION, 412, 0.9561, {})
    assert run.time == datetime(2026, 12, 1, 12, 4, 12, 311000, tzinfo=UTC)
    assert math.isnan(run.value("logloss"))  # the example has no log loss


def test_only_the_newest_runs_statistics_are_downloaded(job_output: Path) -> None:
    """Given two hourly runs, when the report data is loaded, then the older run's statistics.json (the largest
    file: it carries the sketches) is not downloaded, while its drift still is, from its metrics."""
    s3 = bucket_with(job_output)

    data = load_report_data(s3, BUCKET, MODEL)

    assert _hour_prefix(FIRST_HOUR) + "statistics.json" not in s3.read
    assert _hour_prefix(DRIFT_HOUR) + "statistics.json" in s3.read
    assert set(data.monitoring_runs[0].drift) == {"age", "car_value", "region"}


def test_drift_per_feature_comes_from_the_published_metrics_for_every_compared_feature(job_output: Path) -> None:
    """Given the drifted hour, when its drift is read, then every feature has a distance (not only the violating
    ones), and a violating feature's distance is the one its violation states."""
    run = load_report_data(bucket_with(job_output), BUCKET, MODEL).monitoring_runs[1]

    assert set(run.drift) == {"age", "car_value", "region"}
    for violation in run.violations:
        if violation.drift is not None:
            assert run.drift[violation.feature_name] == pytest.approx(violation.drift[0])


@needs_matplotlib
def test_a_malformed_file_is_named_on_the_page_and_the_rest_still_renders(job_output: Path) -> None:
    """Given a half-written statistics.json and a report that is not an evaluation report, when the pages are
    rendered, then the history page names both files and why, and every other run is still shown."""
    from retrainer_offline.reports.history_page import render_history_page

    s3 = bucket_with(job_output)
    s3.objects[(BUCKET, _hour_prefix("2026-12-01T12") + "statistics.json")] = (
        b'{"version": 0, "feat',
        datetime(2026, 12, 1, tzinfo=UTC),
    )
    s3.put(
        f"runs/{MODEL}/car-loans-3d4e5f607182/evaluation-report.json", {"run_id": "car-loans-3d4e5f607182", "auc": 0.9}
    )

    data = load_report_data(s3, BUCKET, MODEL)
    html = render_history_page(data)

    assert len(data.monitoring_runs) == 2 and len(data.evaluations) == 3
    assert f"s3://{BUCKET}/{_hour_prefix('2026-12-01T12')}statistics.json: not JSON" in html
    assert (
        f"s3://{BUCKET}/runs/{MODEL}/car-loans-3d4e5f607182/evaluation-report.json: not an evaluation report (metrics: Field required)"
        in html
    )


# ---------------------------------------------------------------- the monitoring page


@pytest.fixture(scope="module")
def drifted_monitoring_page(job_output: Path) -> str:
    """The monitoring page of both hours (the newest drifted), rendered once for the tests that read it."""
    from retrainer_offline.reports.monitoring_page import render_monitoring_page

    return render_monitoring_page(load_report_data(bucket_with(job_output), BUCKET, MODEL))


@pytest.fixture(scope="module")
def history_page(job_output: Path) -> tuple[ReportData, str]:
    """The history page of the three runs and both hours, without model-quality runs, rendered once."""
    from retrainer_offline.reports.history_page import render_history_page

    data = load_report_data(bucket_with(job_output), BUCKET, MODEL)
    return data, render_history_page(data)


def _cells(html: str, feature: str) -> list[tuple[str, str]]:
    """(css class, text) of the cells of the feature's row in the violations table."""
    table = html.split('class="violations-table"', 1)[1].split("</table>", 1)[0]
    row = re.search(rf"<tr><td>{re.escape(feature)}</td>(.*?)</tr>", table, re.S)
    assert row, f"no row for {feature}"
    return re.findall(r'<td class="([^"]*)"[^>]*>(.*?)</td>', row[1], re.S)


@needs_matplotlib
def test_monitoring_page_names_each_violating_feature_with_its_check_and_distance(
    job_output: Path, drifted_monitoring_page: str
) -> None:
    """Given the drifted hour (car_value drifted, a new region, ages missing), when its page is rendered, then each
    violation is listed with its feature and check type, the failed check's cell is highlighted, and the drift
    cells show the distance the job measured."""
    violations = violations_of(job_output, DRIFT_HOUR)
    assert {(v["feature_name"], v["constraint_check_type"]) for v in violations} >= {
        ("car_value", "baseline_drift_check"),
        ("region", "categorical_values_check"),
        ("age", "completeness_check"),
    }

    html = drifted_monitoring_page

    column = {"data_type_check": 0, "completeness_check": 1, "baseline_drift_check": 2, "categorical_values_check": 3}
    for violation in violations:
        listed = f"<tr><td>{violation['feature_name']}</td><td>{violation['constraint_check_type']}</td>"
        assert listed in html
        css, text = _cells(html, violation["feature_name"])[column[violation["constraint_check_type"]]]
        assert css == "violation"
        found = re.search(r"distance: (\S+) exceeds", violation["description"])
        if found:
            assert text.startswith(f"{float(found[1]):.4f}")
    assert [css for css, _ in _cells(html, "car_value")] == ["", "", "violation", ""]


@needs_matplotlib
def test_monitoring_page_has_one_distribution_image_per_feature(drifted_monitoring_page: str) -> None:
    """Given the drifted hour, when its page is rendered, then it holds one embedded PNG per feature (KLL buckets for
    the numeric ones, categories for region), and the page needs no other file."""
    html = drifted_monitoring_page

    images = re.findall(
        r'<img class="distribution" alt="distribution of ([^"]+)" src="data:image/png;base64,([^"]+)"', html
    )
    assert [feature for feature, _ in images] == ["age", "car_value", "region"]
    assert all(base64.b64decode(png).startswith(b"\x89PNG") for _, png in images)
    assert "11:00 UTC" in html  # the newest hour of the schedule
    assert not re.search(r'src="(?!data:)', html)


@needs_matplotlib
def test_traffic_like_the_baseline_shows_no_highlighted_cell(job_output: Path) -> None:
    """Given only the undrifted hour, when its page is rendered, then it says there are no violations and no cell is
    highlighted."""
    from retrainer_offline.reports.monitoring_page import render_monitoring_page

    data = load_report_data(bucket_with(job_output, hours=(FIRST_HOUR,)), BUCKET, MODEL)

    html = render_monitoring_page(data)

    assert "10:00 UTC" in html and "600 rows in the window" in html and "No violations." in html
    assert 'class="violation"' not in html
    assert html.count('<img class="distribution"') == 3


# ---------------------------------------------------------------- the history page


@needs_matplotlib
def test_history_page_lists_each_runs_champion_and_challenger_metrics(history_page: tuple[ReportData, str]) -> None:
    """Given three evaluation reports (a first model, a promoted challenger, one the gate rejected), when the history
    page is rendered, then each run's row shows both models' gate metric and the gate's outcome."""
    _, html = history_page

    table = html.split('class="evaluations"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr><td>(car-loans-[0-9a-f]+)</td>(.*?)</tr>", table, re.S)
    assert [run for run, _ in rows] == ["car-loans-0a1b2c3d4e5f", "car-loans-1b2c3d4e5f60", "car-loans-2c3d4e5f6071"]
    for (run, row), report in zip(rows, sorted(DATA.glob("evaluation-report-*.json")), strict=True):
        document = json.loads(report.read_text())
        assert f"<td>{document['value']}</td>" in row
        assert f"<td>{document['champion_value'] if document['champion_value'] is not None else '-'}</td>" in row
        assert ("passed" if document["passed"] else "failed") in row
    assert "0.9561" in rows[1][1] and "+0.0127" in rows[1][1]


@needs_matplotlib
def test_history_page_shows_drift_per_feature_hour_by_hour(history_page: tuple[ReportData, str]) -> None:
    """Given an undrifted and a drifted hour, when the history page is rendered, then both hours are listed with each
    feature's distance, and only the drifted hour's car_value cell is highlighted."""
    data, html = history_page

    table = html.split('class="drift"', 1)[1].split("</table>", 1)[0]
    assert "<th>age</th><th>car_value</th><th>region</th>" in table
    for run in data.monitoring_runs:
        assert f"{run.drift['car_value']:.4f}" in table
    drifted = re.search(r"<td>2026-12-01 11:00</td>.*?</tr>", table, re.S)
    assert drifted and f'<td class="violation">{data.monitoring_runs[1].drift["car_value"]:.4f}</td>' in drifted[0]
    assert '<img class="history" alt="drift per feature over time" src="data:image/png;base64,' in html


@pytest.fixture(scope="module")
def quality_history_page(job_output: Path, quality_output: dict[tuple[str, int], Path]) -> tuple[ReportData, str]:
    """The history page of both drift hours and the five model-quality windows, rendered once."""
    from retrainer_offline.reports.history_page import render_history_page

    data = load_report_data(bucket_with(job_output, quality=quality_output), BUCKET, MODEL)
    return data, render_history_page(data, "car-loans-data")


QUALITY_COLUMNS = ("time", "version", "labelled", "missing", "auc", "accuracy", "precision", "recall", "f1", "logloss",
                   "bound", "violations")  # fmt: skip
CELL = re.compile(r'<td(?: class="(?P<css>[^"]*)")?(?: title="(?P<title>[^"]*)")?>(?P<text>.*?)</td>', re.S)


def quality_table(html: str) -> dict[str, dict[str, tuple[str, str, str]]]:
    """Window end -> column -> (css class, hover text, text) of the model-quality table."""
    table = html.split('class="quality"', 1)[1].split("</table>", 1)[0]
    rows = {}
    for row in re.findall(r"<tr><td>.*?</tr>", table, re.S):
        cells = [(m["css"] or "", unescape(m["title"] or ""), unescape(m["text"].strip())) for m in CELL.finditer(row)]
        rows[cells[0][2]] = dict(zip(QUALITY_COLUMNS, cells, strict=True))
    return rows


def _shown(entry: dict[str, Any]) -> str:
    return f"{entry['value']:.4f}" + (
        "" if entry["standard_deviation"] == "NaN" else f" ±{entry['standard_deviation']:.4f}"
    )


@needs_matplotlib
def test_history_page_lists_every_model_quality_window_with_its_values(
    quality_output: dict[tuple[str, int], Path], quality_history_page: tuple[ReportData, str]
) -> None:
    """Given five model-quality windows of two promoted versions, when the history page is rendered, then each
    window is a row (oldest first) with its version, labelled and captured requests, AUC, accuracy, F1 and log
    loss as the job wrote them, the alarm bound, and the violation's text highlighted where it failed."""
    _, html = quality_history_page

    rows = quality_table(html)

    assert list(rows) == [f"2026-12-01 {end:02d}:00" for end in (11, 12, 13, 14, 15)]
    for (version, end), _ in quality_output.items():
        row = rows[f"2026-12-01 {end:02d}:00"]
        merge = quality_report(quality_output, end, "merge_summary.json")
        assert row["version"][2] == version
        assert row["labelled"][2] == f"{merge['merged_records']} / {merge['captured_records']}"
        if end in (11, 12, 13):
            metrics = quality_report(quality_output, end, "statistics.json")["binary_classification_metrics"]
            for metric in ("auc", "accuracy", "f1", "logloss"):
                assert row[metric][2] == _shown(metrics[metric])
            assert row["bound"][2] == "auc < 0.95"
    violation = quality_report(quality_output, 12, "constraint_violations.json")["violations"][0]["description"]
    assert rows["2026-12-01 12:00"]["violations"] == ("violation", "", violation)
    assert rows["2026-12-01 12:00"]["auc"][:2] == ("violation", violation)
    assert violation.startswith("Metric auc with 0.") and "LessThanThreshold 0.95" in violation
    assert rows["2026-12-01 11:00"]["violations"] == ("ok", "", "none")
    assert "No labelled traffic yet" not in html


@needs_matplotlib
def test_nan_values_and_a_window_without_labels_render_as_such(quality_history_page: tuple[ReportData, str]) -> None:
    """Given a window under 200 rows (no standard deviations), one whose labels hold one class (AUC "NaN") and one
    without labels (no statistics.json), when the history page is rendered, then the first shows values without a
    deviation, the second "NaN" with the reason on hover, the third its missing labels and that it was not judged."""
    _, html = quality_history_page

    rows = quality_table(html)

    few, one_class, unlabelled = rows["2026-12-01 13:00"], rows["2026-12-01 14:00"], rows["2026-12-01 15:00"]
    assert re.fullmatch(r"0\.\d{4}", few["auc"][2]) and "fewer than 200" in few["auc"][1]
    assert one_class["auc"] == ("muted", "not computable: the window's labels hold one class", "NaN")
    assert one_class["logloss"][2] == "NaN" and re.fullmatch(r"0\.\d{4} ±0\.\d{4}", one_class["accuracy"][2])
    assert (unlabelled["labelled"][2], unlabelled["missing"][2]) == ("0 / 40", "40")
    assert [unlabelled[m][2] for m in ("auc", "accuracy", "f1", "logloss", "bound")] == ["-"] * 5
    assert unlabelled["violations"] == ("muted", "", "not judged: too few labelled rows")


@needs_matplotlib
def test_model_quality_is_drawn_under_the_drift_on_one_time_axis(quality_history_page: tuple[ReportData, str]) -> None:
    """Given drift hours and model-quality windows, when the page is rendered, then one image holds both; its quality
    panel shares the drift panel's time axis and has one AUC series per promoted version, each with its alarm
    bound, the violating window ringed, and the windows without an AUC ticked."""
    from matplotlib.dates import date2num

    from retrainer_offline.reports.charts import timeline_figure

    data, html = quality_history_page
    image = re.search(r'<img class="history" alt="drift and model quality over time" src="data:image/png;base64,'
                      r'([^"]+)"', html)  # fmt: skip
    assert image and base64.b64decode(image[1]).startswith(b"\x89PNG")
    assert 'alt="drift per feature over time"' not in html  # not drawn twice

    drift_axes, quality_axes = timeline_figure(data.monitoring_runs, {}, "", data.quality_runs).axes

    assert drift_axes.get_shared_x_axes().joined(drift_axes, quality_axes)
    low, high = quality_axes.get_xlim()
    hours = [date2num(datetime(2026, 12, 1, h, tzinfo=UTC)) for h in (10, 11, 15)]
    assert low <= hours[0] and hours[2] <= high  # drift from 10:00, quality up to 15:00
    lines = {line.get_label(): line for line in quality_axes.get_lines()}
    assert quality_axes.get_ylabel() == "auc"
    assert list(lines[FIRST_VERSION].get_ydata()) == [run.value("auc") for run in data.quality_runs[:2]]
    for version in (FIRST_VERSION, SECOND_VERSION):
        assert list(lines[f"{version} alarm bound"].get_ydata()) == pytest.approx([BASELINE_SCORE - MARGIN] * 2)
    assert list(lines["violation"].get_xdata()) == [date2num(data.quality_runs[1].time)]
    assert len(lines["no auc: too few labels, or one class"].get_xdata()) == 2


@needs_matplotlib
def test_without_model_quality_runs_the_page_says_where_to_upload_labels(
    history_page: tuple[ReportData, str], tmp_path: Path, job_output: Path
) -> None:
    """Given no model-quality run, when the page is rendered, then it says there is no labelled traffic yet and
    names the ground-truth folder (the stack's data bucket when given), and the drift chart stands alone."""
    from retrainer_offline.reports.write_reports import write_reports

    _, without_bucket = history_page
    _, history = write_reports(bucket_with(job_output), BUCKET, MODEL, tmp_path, data_bucket="car-loans-data")

    assert (
        "No labelled traffic yet: upload ground truth to s3://car-loans-data/ground-truth/car-loans/yyyy/mm/dd/hh/"
        in history.read_text()
    )
    assert "upload ground truth to s3://&lt;DataBucket&gt;/ground-truth/car-loans/yyyy/mm/dd/hh/" in without_bucket
    assert 'class="quality"' not in without_bucket
    assert '<img class="history" alt="drift per feature over time"' in without_bucket


@needs_matplotlib
def test_model_quality_without_drift_or_labels_still_renders(quality_output: dict[tuple[str, int], Path]) -> None:
    """Given only the window without labels (no drift run yet), when the page is rendered, then it says no labelled
    traffic yet, lists the window with its missing labels, and draws the quality chart alone."""
    from retrainer_offline.reports.history_page import render_history_page

    unlabelled = {key: path for key, path in quality_output.items() if key[1] == 15}
    html = render_history_page(load_report_data(bucket_with(None, quality=unlabelled), BUCKET, MODEL))

    assert "No labelled traffic yet" in html
    assert quality_table(html)["2026-12-01 15:00"]["missing"][2] == "40"
    assert '<img class="history" alt="model quality over time" src="data:image/png;base64,' in html


# ---------------------------------------------------------------- canary weights


def test_canary_weights_are_read_from_the_execution_history() -> None:
    """Given a weighted canary's execution history, when the weights are read, then they follow the steps 90/10,
    50/50, 0/100, each from the time the step began (the deployment notice confirms 0/100 and adds no record)."""
    records = weights_from_history(history_events(), "car-loans-1b2c3d4e5f60")

    champion, challenger = "car-loans-0a1b2c3d4e5f", "car-loans-1b2c3d4e5f60"
    assert [(r.time.strftime("%H:%M"), r.weights) for r in records] == [
        ("09:40", {champion: 90.0, challenger: 10.0}),
        ("09:52", {champion: 50.0, challenger: 50.0}),
        ("10:04", {champion: 0.0, challenger: 100.0}),
    ]


def _entered(state: str, minute: int, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "PassStateEntered",
        "timestamp": datetime(2026, 12, 1, 9, minute, tzinfo=UTC),
        "stateEnteredEventDetails": {"name": state, "input": json.dumps(data)},
    }


def test_a_first_deployment_and_a_rollback_show_in_the_weights() -> None:
    """Given a first deployment (no champion) and a canary rolled back at its first step, when the weights are read,
    then the first model serves alone from its deployment, and the champion is back at 100% from the restore."""
    first = [_entered(DEPLOYED, 5, {"run_id": "car-loans-0a1b2c3d4e5f", "champion": {"exists": False}})]
    step = {"challenger": 10, "champion": 90}
    data = {"run_id": "car-loans-1b2c3d4e5f60", "champion": {"variant_name": "car-loans-0a1b2c3d4e5f"}}
    rolled_back = [
        {**_entered(BAKE_STARTS, 40, {}), "type": "PassStateExited", "stateEnteredEventDetails": None,
         "stateExitedEventDetails": {"name": BAKE_STARTS, "output": json.dumps({**data, "rollout": {"current": step}})}},
        _entered(RESTORE_STARTS, 43, data),
    ]  # fmt: skip

    assert [r.weights for r in weights_from_history(first)] == [{"car-loans-0a1b2c3d4e5f": 100.0}]
    assert [(r.time.minute, r.weights) for r in weights_from_history(rolled_back)] == [
        (40, {"car-loans-0a1b2c3d4e5f": 90.0, "car-loans-1b2c3d4e5f60": 10.0}),
        (43, {"car-loans-0a1b2c3d4e5f": 100.0, "car-loans-1b2c3d4e5f60": 0.0}),
    ]


def test_the_states_the_weights_are_read_from_are_in_the_state_machine() -> None:
    """Given the rendered state machine, the Pass states the weights come from exist, and the bake starts where the
    step's shares are set (a renamed state would silently empty the weights chart)."""
    asl = json.loads((Path(__file__).resolve().parents[2] / "statemachines" / "retraining.asl.json").read_text())
    states = asl["States"]

    for name in (BAKE_STARTS, RESTORE_STARTS, DEPLOYED):
        assert states[name]["Type"] == "Pass"
    assert states["PickStep"]["Parameters"]["current.$"].startswith("States.ArrayGetItem($.rollout_plan.steps")
    assert states["ShiftWeights"]["Parameters"]["DesiredWeightsAndCapacities"] == [
        {"VariantName.$": "$.champion.variant_name", "DesiredWeight.$": "$.rollout.current.champion"},
        {"VariantName.$": "$.run_id", "DesiredWeight.$": "$.rollout.current.challenger"},
    ]


class FakeStepFunctions:
    def __init__(self, executions: dict[str, list[dict[str, Any]]]) -> None:
        self.executions = executions

    def list_executions(self, **request: Any) -> dict[str, Any]:
        assert request["stateMachineArn"] == "arn:aws:states:us-east-1:123456789012:stateMachine:retrainer-retraining"
        names = sorted(self.executions)
        start = int(request.get("nextToken", 0))
        answer: dict[str, Any] = {
            "executions": [{"name": n, "executionArn": f"arn:exec:{n}"} for n in names[start : start + 1]]
        }
        if start + 1 < len(names):
            answer["nextToken"] = str(start + 1)
        return answer

    def get_execution_history(self, **request: Any) -> dict[str, Any]:
        return {"events": self.executions[request["executionArn"].removeprefix("arn:exec:")]}


def test_weights_come_only_from_the_models_own_runs() -> None:
    """Given executions of this model and of a model whose name extends it, when the weights are loaded, then only
    this model's runs count."""
    other = [{**e, "timestamp": e["timestamp"].replace(day=2)} for e in copy.deepcopy(history_events())]
    client = FakeStepFunctions({"car-loans-1b2c3d4e5f60": history_events(), "car-loans-eu-aaaaaaaaaaaa": other})

    records = load_weight_records(
        client, "arn:aws:states:us-east-1:123456789012:stateMachine:retrainer-retraining", MODEL
    )

    assert {r.run_id for r in records} == {"car-loans-1b2c3d4e5f60"}
    assert len(records) == 3


@needs_matplotlib
def test_write_reports_writes_both_pages_with_the_weights_given(job_output: Path, tmp_path: Path) -> None:
    """Given the bucket and plain weight records, when the reports are written, then two self-contained pages exist
    and the history page lists each weight change."""
    from retrainer_offline.reports.write_reports import write_reports

    weights = [
        {"time": "2026-12-01T09:40:00Z", "weights": {"blue": 90, "green": 10}, "run_id": "car-loans-1b2c3d4e5f60"},
        {"time": "2026-12-01T09:52:00Z", "weights": {"blue": 50, "green": 50}, "run_id": "car-loans-1b2c3d4e5f60"},
    ]

    paths = write_reports(bucket_with(job_output), BUCKET, MODEL, tmp_path / "out", weights=weights)

    assert [p.name for p in paths] == ["car-loans-monitoring.html", "car-loans-history.html"]
    history = paths[1].read_text()
    assert "blue 90% / green 10%" in history and "blue 50% / green 50%" in history
    assert '<img class="history" alt="canary weights over time" src="data:image/png;base64,' in history


@needs_matplotlib
def test_an_empty_bucket_renders_pages_that_say_so(tmp_path: Path) -> None:
    """Given a model with nothing in S3 yet, when the reports are written, then both pages say what is missing."""
    from retrainer_offline.reports.write_reports import write_reports

    monitoring, history = write_reports(FakeS3(), BUCKET, MODEL, tmp_path)

    assert "No monitoring run has written a report for car-loans yet." in monitoring.read_text()
    assert "No evaluation report under runs/car-loans/ yet." in history.read_text()
