"""What the report pages are drawn from: the JSON files the product leaves in S3, loaded once.

- Baselines: `monitoring/<model>/baseline/<version>/{statistics,constraints}.json` (the monitoring job's baseline run).
- Monitoring runs: `monitoring/<model>/<schedule>/yyyy/mm/dd/hh/` with `statistics.json`, `constraints.json`,
  `constraint_violations.json` and `cloudwatch_metrics.json` (Model Monitor's formats, see
  sagemaker_jobs/retrainer_jobs/monitoring/README.md).
- Model-quality runs (issue 15): `monitoring/<model>/model-quality/<schedule>/yyyy/mm/dd/hh/` (hh = the judged
  window's end hour; one schedule per promoted version) with `statistics.json` (Model Monitor's
  `binary_classification_metrics`, each metric a `{"value", "standard_deviation"}` pair, "NaN" when it cannot be
  computed, plus `logloss`), `constraints.json` (the alarm's bound), `constraint_violations.json` and
  `merge_summary.json` (captured, labelled, missing and late counts). A window without enough labels has only
  `merge_summary.json`.
- Evaluation reports: `runs/<model>/<run-id>/evaluation-report.json` (retrainer.services.evaluation).
- Canary weights: records `{time, weights: {variant: percent}}`, from the executions' histories or given as such.

Pure data: nothing here reads S3 or draws anything, so tests build it from fixture files.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from retrainer.services.evaluation import EvaluationResult

# The text the monitoring job writes for a drift violation (the one peers parse).
DRIFT_TEXT = re.compile(r"distance: (?P<distance>\S+) exceeds threshold: (?P<threshold>\S+)")
DRIFT_METRIC_PREFIX = "feature_baseline_drift_"
QUALITY_METRICS = ("auc", "accuracy", "precision", "recall", "f1", "logloss")
DEFAULT_GATE_METRIC = "auc"  # the quality gate's default (model_quality_settings)


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
class QualityValue:
    """One metric of a model-quality run; NaN (float) where the job wrote "NaN" (one class: no AUC or log loss;
    fewer than 200 rows: no standard deviation)."""

    value: float
    deviation: float = math.nan


@dataclass(frozen=True)
class AlarmBound:
    """A model-quality constraint: the quality alarm fires when the metric crosses `threshold` this way."""

    threshold: float
    operator: str  # LessThanThreshold (a value below violates) or GreaterThanThreshold (logloss)


@dataclass(frozen=True)
class QualityRun:
    """One model-quality run of one promoted version (its schedule) over one window.

    `metrics` is empty when the window had too few labels to judge (no statistics.json); `merge` holds
    merge_summary.json's counts (`captured_records`, `merged_records`, `missing`, `late`, ...) when it was written."""

    schedule: str
    time: datetime  # the window's end: statistics.json's dataset.evaluation_time, else the folder's hour
    metrics: dict[str, QualityValue] = field(default_factory=dict)
    item_count: int | None = None  # labelled rows the metrics were computed on
    merge: dict[str, int] = field(default_factory=dict)
    bounds: dict[str, AlarmBound] = field(default_factory=dict)
    violations: list[Violation] = field(default_factory=list)

    @property
    def judged(self) -> bool:
        return bool(self.metrics)

    @property
    def gate_metric(self) -> str:
        """The metric the alarm watches: the one constraints.json bounds (the gate writes one), else auc."""
        return next(iter(self.bounds), DEFAULT_GATE_METRIC)

    def value(self, metric: str) -> float:
        found = self.metrics.get(metric)
        return found.value if found else math.nan

    def violated(self, metric: str) -> bool:
        return any(v.feature_name == metric for v in self.violations)


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
    """A constraint_violations.json's violations; a model-quality violation names its metric (`metric_name`)."""
    return [
        Violation(
            str(v.get("feature_name") or v.get("metric_name") or ""),
            str(v.get("constraint_check_type", "")),
            str(v.get("description", "")),
        )
        for v in document.get("violations", [])
    ]


def _number(raw: Any) -> float:
    """A metric's value or deviation: a number, or NaN for "NaN", absent or anything else."""
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        return math.nan
    try:
        return float(raw)
    except ValueError:
        return math.nan


def quality_metrics(document: dict[str, Any]) -> dict[str, QualityValue]:
    """The shown binary classification metrics of a model-quality statistics.json (those it has at all)."""
    block = document.get("binary_classification_metrics", {})
    return {
        name: QualityValue(_number(block[name].get("value")), _number(block[name].get("standard_deviation")))
        for name in QUALITY_METRICS
        if isinstance(block.get(name), dict)
    }


def alarm_bounds(document: dict[str, Any]) -> dict[str, AlarmBound]:
    """A model-quality constraints.json's bounds (`binary_classification_constraints`)."""
    rules = document.get("binary_classification_constraints") or {}
    return {
        str(metric): AlarmBound(float(rule["threshold"]), str(rule.get("comparison_operator", "LessThanThreshold")))
        for metric, rule in rules.items()
        if isinstance(rule, dict) and "threshold" in rule
    }


def evaluation_from(document: dict[str, Any], run_id: str, time: datetime | None) -> RunEvaluation:
    return RunEvaluation(str(document.get("run_id") or run_id), time, EvaluationResult.model_validate(document))
