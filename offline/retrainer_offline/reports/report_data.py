"""What the report pages are drawn from: the JSON files the product leaves in S3, loaded once.

- Baselines: `monitoring/<model>/baseline/<version>/{statistics,constraints}.json` (the monitoring job's baseline run).
- Monitoring runs: `monitoring/<model>/<schedule>/yyyy/mm/dd/hh/` with `statistics.json`, `constraints.json`,
  `constraint_violations.json` and `cloudwatch_metrics.json` (Model Monitor's formats, see
  sagemaker_jobs/retrainer_jobs/monitoring/README.md).
- Model-quality runs: a `statistics.json` holding Model Monitor's `binary_classification_metrics` (each metric a
  `{"value", "standard_deviation"}` pair); issue 15 writes them, the history page shows them when present.
- Evaluation reports: `runs/<model>/<run-id>/evaluation-report.json` (retrainer.services.evaluation).
- Canary weights: records `{time, weights: {variant: percent}}`, from the executions' histories or given as such.

Pure data: nothing here reads S3 or draws anything, so tests build it from fixture files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from retrainer.services.evaluation import EvaluationResult

# The text the monitoring job writes for a drift violation (the one peers parse).
DRIFT_TEXT = re.compile(r"distance: (?P<distance>\S+) exceeds threshold: (?P<threshold>\S+)")
DRIFT_METRIC_PREFIX = "feature_baseline_drift_"
QUALITY_METRICS = ("auc", "accuracy", "precision", "recall", "f1")


@dataclass(frozen=True)
class Baseline:
    version: str
    statistics: dict[str, Any]
    constraints: dict[str, Any]

    def feature(self, name: str) -> dict[str, Any] | None:
        return next((f for f in self.statistics.get("features", []) if f.get("name") == name), None)

    def constraint(self, name: str) -> dict[str, Any]:
        return next((f for f in self.constraints.get("features", []) if f.get("name") == name), {})

    @property
    def drift_method(self) -> str:
        """How distances were measured (Robust subtracts the sampling noise, floored at 0)."""
        rules = self.constraints.get("monitoring_config", {}).get("distribution_constraints", {})
        method = str(rules.get("comparison_method", "Robust"))
        categorical = str(rules.get("categorical_drift_method", "LInfinity"))
        return f"{method} L-infinity (numeric), {categorical} (categorical)"

    def drift_threshold(self, inferred_type: str) -> float | None:
        rules = self.constraints.get("monitoring_config", {}).get("distribution_constraints", {})
        key = "categorical_comparison_threshold" if inferred_type == "String" else "comparison_threshold"
        return float(rules[key]) if key in rules else None


@dataclass(frozen=True)
class Violation:
    feature_name: str
    check: str
    description: str

    @property
    def drift(self) -> tuple[float, float] | None:
        """(distance, threshold) of a baseline_drift_check, as its description states them."""
        found = DRIFT_TEXT.search(self.description)
        return (float(found["distance"]), float(found["threshold"])) if found else None


@dataclass(frozen=True)
class MonitoringRun:
    """One scheduled data-quality run: the window's statistics, its violations and the metrics it published."""

    schedule: str
    hour: datetime
    statistics: dict[str, Any]
    violations: list[Violation]
    metrics: list[dict[str, Any]] = field(default_factory=list)

    def feature(self, name: str) -> dict[str, Any] | None:
        return next((f for f in self.statistics.get("features", []) if f.get("name") == name), None)

    def violations_of(self, name: str) -> list[Violation]:
        return [v for v in self.violations if v.feature_name == name]

    @property
    def drift(self) -> dict[str, float]:
        """Drift distance per feature: the published `feature_baseline_drift_<f>` metrics (every compared feature),
        else what the violations state (only the features that crossed the threshold)."""
        measured = {
            datum["MetricName"].removeprefix(DRIFT_METRIC_PREFIX): float(datum["Value"])
            for request in self.metrics
            for datum in request.get("MetricData", [])
            if str(datum.get("MetricName", "")).startswith(DRIFT_METRIC_PREFIX) and "Value" in datum
        }
        for violation in self.violations:
            stated = violation.drift
            if stated is not None:
                measured.setdefault(violation.feature_name, stated[0])
        return measured


@dataclass(frozen=True)
class QualityRun:
    """One model-quality run (Model Monitor's model-quality statistics.json)."""

    hour: datetime
    item_count: int
    metrics: dict[str, float]


@dataclass(frozen=True)
class RunEvaluation:
    run_id: str
    time: datetime | None
    result: EvaluationResult


@dataclass(frozen=True)
class WeightRecord:
    """The endpoint's traffic shares (percent per variant) from `time` on."""

    time: datetime
    weights: dict[str, float]
    run_id: str = ""


@dataclass
class ReportData:
    model: str
    baselines: list[Baseline] = field(default_factory=list)
    monitoring_runs: list[MonitoringRun] = field(default_factory=list)
    quality_runs: list[QualityRun] = field(default_factory=list)
    evaluations: list[RunEvaluation] = field(default_factory=list)
    weights: list[WeightRecord] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # files found but unreadable, shown on the history page

    @property
    def baseline(self) -> Baseline | None:
        """The newest baseline (versions are the model package's version numbers)."""
        if not self.baselines:
            return None
        return max(self.baselines, key=lambda b: (int(b.version) if b.version.isdigit() else -1, b.version))

    def latest_runs(self) -> list[MonitoringRun]:
        """The newest run of each schedule."""
        latest: dict[str, MonitoringRun] = {}
        for run in sorted(self.monitoring_runs, key=lambda r: r.hour):
            latest[run.schedule] = run
        return list(latest.values())


def violations_from(document: dict[str, Any]) -> list[Violation]:
    return [
        Violation(
            str(v.get("feature_name", "")), str(v.get("constraint_check_type", "")), str(v.get("description", ""))
        )
        for v in document.get("violations", [])
    ]


def quality_metrics(document: dict[str, Any]) -> dict[str, float]:
    """The binary classification metrics of a model-quality statistics.json that have a numeric value."""
    metrics = document.get("binary_classification_metrics", {})
    values: dict[str, float] = {}
    for name in QUALITY_METRICS:
        value = metrics.get(name, {}).get("value") if isinstance(metrics.get(name), dict) else None
        if isinstance(value, int | float):
            values[name] = float(value)
    return values


def evaluation_from(document: dict[str, Any], run_id: str, time: datetime | None) -> RunEvaluation:
    return RunEvaluation(str(document.get("run_id") or run_id), time, EvaluationResult.model_validate(document))
