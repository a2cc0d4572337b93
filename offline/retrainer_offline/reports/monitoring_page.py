"""The monitoring page: per feature, the violations table and the window's distribution against the baseline.

As the seed's `show_violation_df`: one row per feature with its data type, completeness, baseline drift and
categorical values, the cells of the checks that failed highlighted (the violation's text as a tooltip, and every
violation listed below the table); then `show_distributions`' bar charts, one image per feature.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import charts
from .page_templates import render
from .report_data import Baseline, MonitoringRun, ReportData, Violation

DATA_TYPE, COMPLETENESS, DRIFT = "data_type_check", "completeness_check", "baseline_drift_check"
CATEGORICAL = "categorical_values_check"
COLUMN_CHECKS = ("missing_column_check", "extra_column_check")
COLUMNS = ("Data type", "Completeness", "Baseline drift", "Categorical values")


@dataclass(frozen=True)
class Cell:
    text: str
    note: str = ""  # the violation's description when the check failed

    @property
    def css(self) -> str:
        return "violation" if self.note else ""


@dataclass(frozen=True)
class FeatureRow:
    feature: str
    cells: tuple[Cell, ...]


def _common(feature: dict[str, Any] | None) -> dict[str, Any]:
    if not feature:
        return {}
    stats = feature.get("numerical_statistics") or feature.get("string_statistics") or {}
    return dict(stats.get("common", {}))


def _completeness(feature: dict[str, Any] | None) -> float | None:
    common = _common(feature)
    total = float(common.get("num_present", 0)) + float(common.get("num_missing", 0))
    return float(common.get("num_present", 0)) / total if total else None


def categorical_counts(feature: dict[str, Any] | None) -> dict[str, float]:
    buckets = ((feature or {}).get("string_statistics") or {}).get("distribution", {}).get("categorical", {})
    return {str(b["value"]): float(b["count"]) for b in buckets.get("buckets", [])}


def kll_buckets(feature: dict[str, Any] | None) -> list[dict[str, Any]]:
    kll = ((feature or {}).get("numerical_statistics") or {}).get("distribution", {}).get("kll", {})
    return list(kll.get("buckets", []))


def _note(violations: list[Violation], check: str) -> str:
    return " ".join(v.description for v in violations if v.check == check)


def _percent(share: float | None) -> str:
    return "-" if share is None else f"{share:.1%}"


class _RowBuilder:
    def __init__(self, baseline: Baseline | None, run: MonitoringRun) -> None:
        self.baseline, self.run = baseline, run

    def row(self, name: str) -> FeatureRow:
        window = self.run.feature(name)
        constraint = self.baseline.constraint(name) if self.baseline else {}
        violations = self.run.violations_of(name)
        expected_type = str(constraint.get("inferred_type", "?"))
        observed_type = str((window or {}).get("inferred_type", "?"))
        type_cell = Cell(f"{expected_type} -> {observed_type}", _note(violations, DATA_TYPE))
        expected = constraint.get("completeness")
        completeness = Cell(
            f"{_percent(_completeness(window))} (baseline {_percent(expected)})",
            _note(violations, COMPLETENESS),
        )
        column_note = " ".join(v.description for v in violations if v.check in COLUMN_CHECKS)
        return FeatureRow(
            name,
            (
                Cell(type_cell.text, type_cell.note or column_note),
                completeness,
                self._drift_cell(name, expected_type, violations),
                self._domain_cell(constraint, window, violations),
            ),
        )

    def _drift_cell(self, name: str, inferred_type: str, violations: list[Violation]) -> Cell:
        note = _note(violations, DRIFT)
        distance = self.run.drift.get(name)
        threshold = self.baseline.drift_threshold(inferred_type) if self.baseline else None
        stated = next((v.drift for v in violations if v.drift is not None), None)
        if stated is not None:
            threshold = stated[1]
        if distance is None:
            return Cell("-", note)
        return Cell(f"{distance:.4f}" + (f" (threshold {threshold:g})" if threshold is not None else ""), note)

    @staticmethod
    def _domain_cell(constraint: dict[str, Any], window: dict[str, Any] | None, violations: list[Violation]) -> Cell:
        domain = set(constraint.get("string_constraints", {}).get("domains") or [])
        counts = categorical_counts(window)
        if not domain or not counts:
            return Cell("-", _note(violations, CATEGORICAL))
        inside = sum(c for v, c in counts.items() if v in domain) / (sum(counts.values()) or 1.0)
        outside = sorted(v for v in counts if v not in domain)
        text = f"{inside:.1%} in the baseline's {len(domain)} values"
        if outside:
            text += f"; new: {', '.join(outside[:5])}" + (" ..." if len(outside) > 5 else "")
        return Cell(text, _note(violations, CATEGORICAL))


def feature_names(baseline: Baseline | None, run: MonitoringRun) -> list[str]:
    """The baseline's features in its order, then any column only the window or its violations name."""
    names = [f["name"] for f in (baseline.statistics.get("features", []) if baseline else [])]
    names += [f["name"] for f in run.statistics.get("features", [])]
    names += [v.feature_name for v in run.violations]
    return list(dict.fromkeys(names))


def violation_table(baseline: Baseline | None, run: MonitoringRun) -> list[FeatureRow]:
    builder = _RowBuilder(baseline, run)
    return [builder.row(name) for name in feature_names(baseline, run)]


def distribution_plot(name: str, baseline: Baseline | None, run: MonitoringRun) -> str | None:
    reference, window = baseline.feature(name) if baseline else None, run.feature(name)
    if kll_buckets(reference) or kll_buckets(window):
        return charts.numeric_distribution(name, kll_buckets(reference), kll_buckets(window))
    if categorical_counts(reference) or categorical_counts(window):
        return charts.categorical_distribution(name, categorical_counts(reference), categorical_counts(window))
    return None


def _run_context(baseline: Baseline | None, run: MonitoringRun) -> dict[str, Any]:
    plots = []
    for name in feature_names(baseline, run):
        uri = distribution_plot(name, baseline, run)
        if uri is not None:
            plots.append({"feature": name, "uri": uri})
    return {
        "schedule": run.schedule,
        "hour": run.hour.strftime("%Y-%m-%d %H:00 UTC"),
        "rows": run.statistics.get("dataset", {}).get("item_count", "?"),
        "violations": run.violations,
        "table": violation_table(baseline, run),
        "plots": plots,
    }


def render_monitoring_page(data: ReportData) -> str:
    """The newest run of each schedule against the newest baseline, as one self-contained HTML page."""
    baseline = data.baseline
    return render(
        "monitoring.html",
        title=f"{data.model}: data-quality monitoring",
        model=data.model,
        baseline_version=baseline.version if baseline else "(none found)",
        method=baseline.drift_method if baseline else "Model Monitor's default (Robust)",
        columns=COLUMNS,
        runs=[_run_context(baseline, run) for run in data.latest_runs()],
    )
