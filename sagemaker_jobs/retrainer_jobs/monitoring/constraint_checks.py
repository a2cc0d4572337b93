"""constraints.json suggested from a baseline, and the checks a monitoring run makes against it.

constraints.json (developer guide, "Schema for Constraints (constraints.json file)"): `features[]{name,
inferred_type, completeness, num_constraints.is_non_negative, string_constraints.domains}` and `monitoring_config`.
The `monitoring_config` defaults are the ones the service writes into suggested constraints (SDK
`DataQualityMonitoringConfig`/`DataQualityDistributionConstraints` defaults: type and domain thresholds 1.0,
drift threshold 0.1, Robust, categorical 0.1 LInfinity); a real run's data type violation reads "Expected match:
100.0%", which is threshold 1.0.

constraint_violations.json ("Schema for Violations"): `{"violations": [{feature_name, constraint_check_type,
description}]}`. The data type text is the documented one; the drift text keeps "distance: X exceeds threshold: Y"
that peers parse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .drift_distance import categorical_distance, numerical_distance
from .feature_statistics import (
    FRACTIONAL,
    INTEGRAL,
    STRING,
    DatasetStatistics,
    FeatureAccumulator,
    FeatureKind,
    baseline_counts,
    baseline_sketch,
)

MAX_DOMAIN_VALUES = 120  # "observed values for small cardinality": Deequ profiler's low-cardinality threshold [I]

DEFAULT_MONITORING_CONFIG: dict[str, Any] = {
    "evaluate_constraints": "Enabled",
    "emit_metrics": "Enabled",
    "datatype_check_threshold": 1.0,
    "domain_content_threshold": 1.0,
    "distribution_constraints": {
        "perform_comparison": "Enabled",
        "comparison_threshold": 0.1,
        "comparison_method": "Robust",
        "categorical_comparison_threshold": 0.1,
        "categorical_drift_method": "LInfinity",
    },
}

DATA_TYPE, COMPLETENESS, DRIFT = "data_type_check", "completeness_check", "baseline_drift_check"
MISSING_COLUMN, EXTRA_COLUMN, CATEGORICAL = "missing_column_check", "extra_column_check", "categorical_values_check"


def suggest_constraints(
    statistics: DatasetStatistics, domains: dict[str, list[str]] | None = None, config: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Constraints for the baseline: its types, completeness, signs and small domains; default monitoring config."""
    domains = domains or {}
    features = []
    for feature in statistics.features:
        entry: dict[str, Any] = {
            "name": feature.name,
            "inferred_type": feature.inferred_type,
            "completeness": feature.completeness,
        }
        if feature.kind is FeatureKind.NUMERIC and feature.moments.count:
            entry["num_constraints"] = {"is_non_negative": feature.moments.minimum >= 0}
        elif feature.kind is FeatureKind.TEXT:
            known = domains.get(feature.name) or (
                sorted(feature.counts) if len(feature.counts) <= MAX_DOMAIN_VALUES else []
            )
            if known:
                entry["string_constraints"] = {"domains": known}
        features.append(entry)
    return {"version": 0.0, "features": features, "monitoring_config": config or DEFAULT_MONITORING_CONFIG}


@dataclass(frozen=True)
class Violation:
    feature_name: str
    constraint_check_type: str
    description: str

    def to_json(self) -> dict[str, str]:
        return {
            "feature_name": self.feature_name,
            "constraint_check_type": self.constraint_check_type,
            "description": self.description,
        }


@dataclass(frozen=True)
class ColumnShape:
    """Columns the window's records carried beyond or short of the baseline's (by name, or by CSV position)."""

    missing: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()
    observed_columns: int = 0


def _percent(value: float) -> str:
    return f"{value * 100!r}%"


def feature_config(constraints: dict[str, Any], feature: dict[str, Any]) -> dict[str, Any]:
    merged = {**DEFAULT_MONITORING_CONFIG, **constraints.get("monitoring_config", {})}
    merged["distribution_constraints"] = {
        **DEFAULT_MONITORING_CONFIG["distribution_constraints"],
        **merged.get("distribution_constraints", {}),
    }
    overrides = feature.get("monitoringConfigOverrides") or feature.get("monitoring_config_overrides") or {}
    return {**merged, **{k: v for k, v in overrides.items() if k != "distribution_constraints"}} | {
        "distribution_constraints": {
            **merged["distribution_constraints"],
            **overrides.get("distribution_constraints", {}),
        }
    }


def _type_match(expected: str, current: FeatureAccumulator) -> float | None:
    """Share of present values of the expected type (an Integral value is also a Fractional one)."""
    if expected == STRING or current.present == 0:
        return None
    matching = current.integral if expected == INTEGRAL else current.integral + current.fractional
    return matching / current.present


def check_feature(
    constraint: dict[str, Any], baseline: dict[str, Any] | None, current: FeatureAccumulator, config: dict[str, Any]
) -> list[Violation]:
    name = constraint["name"]
    found: list[Violation] = []
    expected_type = constraint.get("inferred_type", "")
    share = _type_match(expected_type, current) if expected_type in {INTEGRAL, FRACTIONAL} else None
    threshold = float(config["datatype_check_threshold"])
    if share is not None and share < threshold:
        found.append(
            Violation(
                name,
                DATA_TYPE,
                f"Data type match requirement is not met. Expected data type: {expected_type}, "
                f"Expected match: {_percent(threshold)}. Observed: Only {_percent(share)} of data is {expected_type}.",
            )
        )
    expected_completeness = float(constraint.get("completeness", 0.0))
    if current.present + current.missing and current.completeness < expected_completeness:
        found.append(
            Violation(
                name,
                COMPLETENESS,
                f"Data completeness requirement is not met. Expected completeness: {_percent(expected_completeness)}. "
                f"Observed: Only {_percent(current.completeness)} of data is complete.",
            )
        )
    domain = constraint.get("string_constraints", {}).get("domains") or []
    if domain and current.kind is FeatureKind.TEXT and current.present:
        known = set(domain)
        inside = sum(count for value, count in current.counts.items() if value in known) / current.present
        domain_threshold = float(config["domain_content_threshold"])
        if inside < domain_threshold:
            found.append(
                Violation(
                    name,
                    CATEGORICAL,
                    f"Data content requirement is not met. Expected: {_percent(domain_threshold)} of values in the "
                    f"baseline domain. Observed: Only {_percent(inside)} of data is in the baseline domain.",
                )
            )
    drift = baseline_drift(baseline, current, config) if baseline else None
    if drift is not None and drift[0] > drift[1]:
        found.append(Violation(name, DRIFT, f"Baseline drift distance: {drift[0]!r} exceeds threshold: {drift[1]!r}"))
    return found


def baseline_drift(
    baseline: dict[str, Any], current: FeatureAccumulator, config: dict[str, Any]
) -> tuple[float, float] | None:
    """(distance, threshold) of one feature, or None when comparison is off or either side has no values."""
    rules = config["distribution_constraints"]
    if str(rules.get("perform_comparison", "Enabled")) != "Enabled":
        return None
    method = str(rules.get("comparison_method", "Robust"))
    if current.kind is FeatureKind.TEXT:
        counts = baseline_counts(baseline)
        if not counts or not current.counts:
            return None
        # ChiSquared (a p-value) is not implemented: LInfinity is the documented default.
        return categorical_distance(counts, current.counts, method), float(rules["categorical_comparison_threshold"])
    sketch = baseline_sketch(baseline)
    if sketch is None or current.moments.count == 0:
        return None
    return numerical_distance(sketch, current.sketch, method), float(rules["comparison_threshold"])


def check_window(
    constraints: dict[str, Any],
    baseline_statistics: dict[str, Any],
    window: DatasetStatistics,
    shape: ColumnShape,
) -> list[Violation]:
    if str(constraints.get("monitoring_config", {}).get("evaluate_constraints", "Enabled")) != "Enabled":
        return []
    baseline_by_name = {f["name"]: f for f in baseline_statistics.get("features", [])}
    current_by_name = {f.name: f for f in window.features}
    expected_columns = len(constraints.get("features", []))
    found: list[Violation] = []
    for column in shape.missing:
        found.append(
            Violation(
                column,
                MISSING_COLUMN,
                f"There are missing columns in current dataset. Number of columns in current dataset: "
                f"{shape.observed_columns}, Number of columns in baseline constraints: {expected_columns}",
            )
        )
    for column in shape.extra:
        found.append(
            Violation(
                column,
                EXTRA_COLUMN,
                f"There are extra columns in current dataset. Number of columns in current dataset: "
                f"{shape.observed_columns}, Number of columns in baseline constraints: {expected_columns}",
            )
        )
    for constraint in constraints.get("features", []):
        current = current_by_name.get(constraint["name"])
        if current is None or constraint["name"] in shape.missing:
            continue
        config = feature_config(constraints, constraint)
        if str(config.get("evaluate_constraints", "Enabled")) != "Enabled":
            continue
        found.extend(check_feature(constraint, baseline_by_name.get(constraint["name"]), current, config))
    return found
