"""Monitoring run: one window of captured requests against the baseline, as a Model Monitor execution reports it.

Reads the capture files (streamed, batch by batch), computes the window's statistics, checks the baseline
constraints and writes, into the output folder:
- `statistics.json` (the window's statistics), `constraints.json` (constraints suggested from the window, under the
  baseline's monitoring_config, as a Model Monitor execution writes them), `constraint_violations.json`;
- `cloudwatch_metrics.json`: the PutMetricData requests of the run (see cloudwatch_metrics).

Outcomes (Model Monitor's): `Completed: Job completed successfully with no violations.` or `CompletedWithViolations:
Job completed successfully with N violations.` (exit 0 either way); a window without a single captured record in
[start, end) fails the job (exit 1) with `Job inputs had no data`, and writes no report: no data is not drift.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from .capture_records import ShapeTracker, Window, batch_frames, capture_files, read_batches
from .cloudwatch_metrics import metric_data, put_requests
from .constraint_checks import Violation, baseline_drift, check_window, feature_config, suggest_constraints
from .feature_statistics import STRING, DatasetStatistics, FeatureKind

NO_DATA = "Job inputs had no data"


class NoDataInWindow(Exception):
    """No captured record falls in the window (Model Monitor: the execution fails with 'Job inputs had no data')."""


@dataclass(frozen=True)
class Baseline:
    statistics: dict[str, Any]
    constraints: dict[str, Any]

    @classmethod
    def load(cls, statistics: Path, constraints: Path) -> Baseline:
        return cls(
            json.loads(statistics.read_text(encoding="utf-8")), json.loads(constraints.read_text(encoding="utf-8"))
        )

    def kinds(self) -> dict[str, FeatureKind]:
        return {
            f["name"]: FeatureKind.TEXT if f.get("inferred_type") == STRING else FeatureKind.NUMERIC
            for f in self.constraints.get("features", [])
        }


@dataclass(frozen=True)
class WindowReport:
    statistics: DatasetStatistics
    violations: list[Violation]
    drift: dict[str, float]
    records: int

    @property
    def exit_message(self) -> str:
        if not self.violations:
            return "Completed: Job completed successfully with no violations."
        return f"CompletedWithViolations: Job completed successfully with {len(self.violations)} violations."


def window_statistics(
    capture_dir: Path, baseline: Baseline, window: Window
) -> tuple[DatasetStatistics, ShapeTracker, int]:
    kinds = baseline.kinds()
    statistics = DatasetStatistics.for_columns(kinds)
    tracker = ShapeTracker(list(kinds))
    text_columns = {name for name, kind in kinds.items() if kind is FeatureKind.TEXT}
    records = 0
    for batch in read_batches(capture_files(capture_dir, window), window):
        records += batch.records
        for frame in batch_frames(batch, text_columns, tracker):
            statistics.observe(frame)
    return statistics, tracker, records


def analyze(capture_dir: Path, baseline: Baseline, window: Window) -> WindowReport:
    statistics, tracker, records = window_statistics(capture_dir, baseline, window)
    if records == 0:
        raise NoDataInWindow(NO_DATA)
    violations = check_window(baseline.constraints, baseline.statistics, statistics, tracker.shape())
    baseline_features = {f["name"]: f for f in baseline.statistics.get("features", [])}
    drift = {}
    for constraint in baseline.constraints.get("features", []):
        name = constraint["name"]
        current = next(f for f in statistics.features if f.name == name)
        if name in baseline_features:
            measured = baseline_drift(
                baseline_features[name], current, feature_config(baseline.constraints, constraint)
            )
            if measured is not None:
                drift[name] = measured[0]
    return WindowReport(statistics, violations, drift, records)


def write_report(
    report: WindowReport, baseline: Baseline, output_dir: Path, *, endpoint: str, schedule: str, end: datetime
) -> list[dict[str, Any]]:
    """The three Model Monitor files and the metrics file; returns the PutMetricData requests."""
    output_dir.mkdir(parents=True, exist_ok=True)
    config = baseline.constraints.get("monitoring_config")
    files: dict[str, Any] = {
        "statistics.json": report.statistics.to_json(),
        "constraints.json": suggest_constraints(report.statistics, config=config),
        "constraint_violations.json": {"violations": [v.to_json() for v in report.violations]},
    }
    requests: list[dict[str, Any]] = []
    if str((config or {}).get("emit_metrics", "Enabled")) == "Enabled":
        data = metric_data(report.statistics, report.drift, endpoint=endpoint, schedule=schedule, timestamp=end)
        requests = put_requests(data)
    files["cloudwatch_metrics.json"] = requests
    for name, document in files.items():
        (output_dir / name).write_text(json.dumps(document, indent=2), encoding="utf-8")
    return requests
