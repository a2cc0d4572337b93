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
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from retrainer_jobs.monitoring.__main__ import main as monitoring_job
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


def bucket_with(
    job_output: Path, *, quality: bool = False, hours: tuple[str, ...] = (FIRST_HOUR, DRIFT_HOUR)
) -> FakeS3:
    s3 = FakeS3()
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
    if quality:
        s3.put(
            f"monitoring/{MODEL}/{MODEL}-quality/2026/12/01/12/statistics.json",
            json.loads((DATA / "model_quality_statistics.json").read_text()),
        )
    # Another model whose name starts with this one's must not leak into its report.
    s3.put(f"monitoring/{MODEL}-eu/baseline/1/statistics.json", {"features": [{"name": "leaked_feature"}]})
    return s3


def violations_of(job_output: Path, hour: str) -> list[dict[str, str]]:
    return json.loads((job_output / "runs" / hour / "constraint_violations.json").read_text())["violations"]


def history_events() -> list[dict[str, Any]]:
    events = json.loads((DATA / "execution_history_canary.json").read_text())["events"]
    return [{**event, "timestamp": datetime.fromisoformat(event["timestamp"])} for event in events]


# ---------------------------------------------------------------- the loader


def test_loader_reads_the_models_files_from_s3_page_by_page(job_output: Path) -> None:
    """Given a bucket holding a baseline, two hourly runs, three evaluation reports, a model-quality run and another
    model's files, when the report data is loaded (3 keys per page), then each is found where the product writes it
    and nothing of the other model is."""
    data = load_report_data(bucket_with(job_output, quality=True), BUCKET, MODEL)

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
    assert [(q.hour.hour, q.item_count, q.metrics["auc"]) for q in data.quality_runs] == [(12, 412, 0.9561)]
    assert "leaked_feature" not in json.dumps([b.statistics for b in data.baselines])


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


@needs_matplotlib
def test_model_quality_section_appears_only_with_model_quality_runs(
    job_output: Path, history_page: tuple[ReportData, str]
) -> None:
    """Given no model-quality run, the page has no model-quality section (no placeholder); given one, it shows its
    AUC, accuracy, precision, recall and F1 with a chart."""
    from retrainer_offline.reports.history_page import render_history_page

    _, without = history_page
    with_quality = render_history_page(load_report_data(bucket_with(job_output, quality=True), BUCKET, MODEL))

    assert "Model quality" not in without
    assert "<h2>Model quality over time</h2>" in with_quality
    quality = with_quality.split('class="quality"', 1)[1].split("</table>", 1)[0]
    assert "<th>auc</th><th>accuracy</th><th>precision</th><th>recall</th><th>f1</th>" in quality
    assert "<td>0.9561</td>" in quality and "<td>412</td>" in quality


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
