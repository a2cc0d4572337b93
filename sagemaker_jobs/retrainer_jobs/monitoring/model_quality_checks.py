"""The model-quality gate of a monitoring run: its constraints, its violations and its CloudWatch metrics.

The gate (settings of the run): the gate metric (the quality gate's, `auc` by default; `logloss` is lower-is-better)
must not fall below an absolute threshold, nor below the promoted model's test score minus a margin. The tighter
of the two is written as Model Monitor's model-quality `constraints.json`
(`{"version": 0.0, "binary_classification_constraints": {"auc": {"threshold": t, "comparison_operator":
"LessThanThreshold"}}}`); a Model Monitor constraints file given to the run is checked as well.

constraint_violations.json: `{"violations": [{"constraint_check_type": "LessThanThreshold", "description": "Metric
auc with 0.91 was LessThanThreshold 0.95 ...", "metric_name": "auc"}]}` (the shape and text of AWS's custom
model-monitoring sample, which mimics the analyzer's [I]). A metric that cannot be computed (NaN: one class in
the window) violates nothing: nothing to judge is not a failure.

Metrics: namespace `aws/sagemaker/Endpoints/model-metrics`, dimensions `Endpoint` and `MonitoringSchedule`, one
metric per scalar of `binary_classification_metrics` named as its key (`auc`, `accuracy`, `f1`, ...: the names
Model Monitor publishes and AWS's dashboards read), plus the same with a `VariantName` dimension per variant.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .cloudwatch_metrics import MAX_DATA_PER_REQUEST
from .model_quality_metrics import LOWER_IS_BETTER, metric_value

NAMESPACE = "aws/sagemaker/Endpoints/model-metrics"
LESS, GREATER = "LessThanThreshold", "GreaterThanThreshold"


@dataclass(frozen=True)
class Constraint:
    metric: str
    threshold: float
    operator: str  # LessThanThreshold: a value below the threshold violates
    why: str = ""

    def violated_by(self, value: float) -> bool:
        if math.isnan(value):
            return False
        return value < self.threshold if self.operator == LESS else value > self.threshold

    def to_json(self) -> dict[str, Any]:
        return {"threshold": self.threshold, "comparison_operator": self.operator}


@dataclass(frozen=True)
class QualityGate:
    metric: str = "auc"
    threshold: float | None = None
    baseline_score: float | None = None  # the promoted model's score on its test split
    margin: float = 0.0

    def constraint(self) -> Constraint | None:
        lower = self.metric in LOWER_IS_BETTER
        bounds = []
        if self.threshold is not None:
            bounds.append((self.threshold, f"threshold {self.threshold!r}"))
        if self.baseline_score is not None:
            bound = self.baseline_score + self.margin if lower else self.baseline_score - self.margin
            bound = round(bound, 12)  # 0.97 - 0.05 reads 0.92, not 0.9199999999999999
            sign = "+" if lower else "-"
            bounds.append((bound, f"promoted model's test score {self.baseline_score!r} {sign} margin {self.margin!r}"))
        if not bounds:
            return None
        value, why = min(bounds) if lower else max(bounds)
        return Constraint(self.metric, value, GREATER if lower else LESS, why)


def constraints_from_file(document: dict[str, Any]) -> list[Constraint]:
    """The constraints of a Model Monitor model-quality constraints.json."""
    found = []
    for metric, rule in (document.get("binary_classification_constraints") or {}).items():
        operator = str(rule.get("comparison_operator", LESS))
        found.append(Constraint(metric, float(rule["threshold"]), operator, "constraints file"))
    return found


def constraints_document(constraints: list[Constraint]) -> dict[str, Any]:
    return {"version": 0.0, "binary_classification_constraints": {c.metric: c.to_json() for c in constraints}}


def check(statistics: dict[str, Any], constraints: list[Constraint]) -> list[dict[str, str]]:
    violations = []
    for constraint in constraints:
        value = metric_value(statistics, constraint.metric)
        if constraint.violated_by(value):
            violations.append(
                {
                    "constraint_check_type": constraint.operator,
                    "description": f"Metric {constraint.metric} with {value!r} was {constraint.operator} "
                    f"{constraint.threshold!r} ({constraint.why})",
                    "metric_name": constraint.metric,
                }
            )
    return violations


def _scalars(statistics: dict[str, Any]) -> dict[str, float]:
    block = statistics.get("binary_classification_metrics", {})
    values = {}
    for name, entry in block.items():
        if isinstance(entry, dict) and isinstance(entry.get("value"), (int, float)) and math.isfinite(entry["value"]):
            values[name] = float(entry["value"])
    return values


def metric_requests(
    statistics: dict[str, Any],
    by_variant: dict[str, dict[str, Any]],
    *,
    endpoint: str,
    schedule: str,
    timestamp: datetime,
) -> list[dict[str, Any]]:
    """PutMetricData requests (timestamps as ISO strings, as in the data-quality run's cloudwatch_metrics.json)."""
    base = [{"Name": "Endpoint", "Value": endpoint}, {"Name": "MonitoringSchedule", "Value": schedule}]
    data: list[dict[str, Any]] = []
    sets = [(base, statistics)] + [
        ([*base, {"Name": "VariantName", "Value": variant}], document) for variant, document in by_variant.items()
    ]
    for dimensions, document in sets:
        for name, value in _scalars(document).items():
            data.append(
                {
                    "MetricName": name,
                    "Dimensions": dimensions,
                    "Timestamp": timestamp.isoformat(),
                    "Value": value,
                    "Unit": "None",
                }
            )
    return [
        {"Namespace": NAMESPACE, "MetricData": data[i : i + MAX_DATA_PER_REQUEST]}
        for i in range(0, len(data), MAX_DATA_PER_REQUEST)
    ]
