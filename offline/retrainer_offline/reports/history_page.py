"""The model history page: champion against challenger per run, canary weights, drift and model quality over time.

Model quality (issue 15) is drawn under the drift, on the same time axis, one series per promoted version with its
alarm bound; every section says plainly when it has nothing to show yet (model quality: where to upload labels).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from retrainer import naming

from . import charts
from .monitoring_page import DRIFT, Cell
from .page_templates import render
from .report_data import (
    QUALITY_METRICS,
    MonitoringRun,
    QualityRun,
    QualityValue,
    ReportData,
    RunEvaluation,
    WeightRecord,
)

DATA_BUCKET_PLACEHOLDER = "<DataBucket>"
NAN_VALUE = "not computable: the window's labels hold one class"
NAN_DEVIATION = "no standard deviation: fewer than 200 labelled rows"


def _when(time: datetime | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC") if time else "-"


def _evaluation_row(evaluation: RunEvaluation) -> dict[str, Any]:
    result = evaluation.result
    return {
        "run_id": evaluation.run_id,
        "time": _when(evaluation.time),
        "metric": result.metric,
        "value": result.value,
        "champion_value": "-" if result.champion_value is None else result.champion_value,
        "gain": "-" if result.gain is None else f"{result.gain:+.4f}",
        "passed": result.passed,
        "metrics": result.metrics,
        "champion_metrics": result.champion.metrics if result.champion else {},
        "verdict": result.verdict or result.champion_note,
    }


def _weights_row(record: WeightRecord) -> dict[str, str]:
    shares = " / ".join(f"{variant} {share:g}%" for variant, share in record.weights.items())
    # To the second: steps of an offline run (emulated clock) are seconds apart.
    return {"time": record.time.strftime("%Y-%m-%d %H:%M:%S UTC"), "run_id": record.run_id, "shares": shares}


def _drift_rows(runs: list[MonitoringRun], features: list[str]) -> list[dict[str, Any]]:
    rows = []
    for run in runs:
        drifted = {v.feature_name: v.description for v in run.violations if v.check == DRIFT}
        cells = [Cell(f"{run.drift[f]:.4f}" if f in run.drift else "-", drifted.get(f, "")) for f in features]
        rows.append({"hour": run.hour.strftime("%Y-%m-%d %H:00"), "schedule": run.schedule, "cells": cells})
    return rows


@dataclass(frozen=True)
class QualityCell:
    text: str
    note: str = ""  # hover text: why a value is NaN, or the violation's description
    css: str = ""


def _metric_cell(run: QualityRun, metric: str, found: QualityValue | None) -> QualityCell:
    if found is None:
        return QualityCell("-")
    violation = next((v.description for v in run.violations if v.feature_name == metric), "")
    if math.isnan(found.value):
        return QualityCell("NaN", NAN_VALUE, "muted")
    if math.isnan(found.deviation):
        return QualityCell(f"{found.value:.4f}", violation or NAN_DEVIATION, "violation" if violation else "")
    return QualityCell(f"{found.value:.4f} ±{found.deviation:.4f}", violation, "violation" if violation else "")


def _labelled(run: QualityRun) -> str:
    merge = run.merge
    labelled = merge.get("merged_records", run.item_count)
    captured = merge.get("captured_records")
    return f"{'-' if labelled is None else labelled} / {'-' if captured is None else captured}"


def _missing(run: QualityRun) -> str:
    if not run.merge:
        return "-"
    late = run.merge.get("late", 0)
    return f"{run.merge.get('missing', 0)}" + (f" ({late} late)" if late else "")


def _outcome(run: QualityRun) -> QualityCell:
    if run.violations:
        return QualityCell("; ".join(v.description for v in run.violations), css="violation")
    if run.judged:
        return QualityCell("none", css="ok")
    if run.merge.get("captured_records", 0) == 0:
        return QualityCell("not judged: no captured traffic in the window", css="muted")
    return QualityCell("not judged: too few labelled rows", css="muted")


def _bound(run: QualityRun) -> str:
    metric = run.gate_metric
    bound = run.bounds.get(metric)
    if bound is None:
        return "-"
    return f"{metric} {'<' if bound.operator == 'LessThanThreshold' else '>'} {bound.threshold:g}"


def _quality_rows(runs: list[QualityRun]) -> list[dict[str, Any]]:
    return [
        {
            "time": run.time.strftime("%Y-%m-%d %H:%M"),
            "schedule": run.schedule,
            "labelled": _labelled(run),
            "missing": _missing(run),
            "cells": [_metric_cell(run, m, run.metrics.get(m)) for m in QUALITY_METRICS],
            "bound": _bound(run),
            "outcome": _outcome(run),
        }
        for run in runs
    ]


def _timeline_charts(data: ReportData, drift_runs: list[MonitoringRun]) -> tuple[str, str]:
    """(drift chart, quality chart): one figure on one time axis when both exist."""
    thresholds, method = _thresholds(data), _method(data)
    if drift_runs and data.quality_runs:
        return "", charts.drift_and_quality_chart(drift_runs, thresholds, method, data.quality_runs)
    if drift_runs:
        return charts.drift_chart(drift_runs, thresholds, method), ""
    return "", charts.quality_chart(data.quality_runs) if data.quality_runs else ""


def _thresholds(data: ReportData) -> dict[str, float]:
    baseline = data.baseline
    if baseline is None:
        return {}
    thresholds = {}
    for feature in baseline.constraints.get("features", []):
        threshold = baseline.drift_threshold(str(feature.get("inferred_type", "")))
        if threshold is not None:
            thresholds[feature["name"]] = threshold
    return thresholds


def _method(data: ReportData) -> str:
    rules = data.baseline.constraints.get("monitoring_config", {}) if data.baseline else {}
    return str(rules.get("distribution_constraints", {}).get("comparison_method", ""))


def render_history_page(data: ReportData, data_bucket: str | None = None) -> str:
    """The page; `data_bucket` names the bucket ground truth is uploaded to (in the no-labels message)."""
    evaluations = data.evaluations
    metric_names = list(dict.fromkeys(m for e in evaluations for m in e.result.metrics))
    drift_features = sorted({f for run in data.monitoring_runs for f in run.drift})
    drift_runs = [run for run in data.monitoring_runs if run.drift]
    drift_chart, quality_chart = _timeline_charts(data, drift_runs)
    labels = f"s3://{data_bucket or DATA_BUCKET_PLACEHOLDER}/{naming.ground_truth_prefix(data.model)}yyyy/mm/dd/hh/"
    return render(
        "history.html",
        title=f"{data.model}: model history",
        model=data.model,
        problems=data.problems,
        evaluations=[_evaluation_row(e) for e in evaluations],
        metric_names=metric_names,
        gate_chart=charts.gate_metric_chart(evaluations) if evaluations else "",
        weights=[_weights_row(r) for r in data.weights],
        weights_chart=charts.weights_chart(data.weights) if data.weights else "",
        drift_features=drift_features,
        drift_rows=_drift_rows(drift_runs, drift_features),
        drift_chart=drift_chart,
        quality_metrics=QUALITY_METRICS,
        quality_rows=_quality_rows(data.quality_runs),
        quality_chart=quality_chart,
        quality_chart_alt=f"{'drift and model quality' if drift_runs else 'model quality'} over time",
        quality_judged=any(run.judged for run in data.quality_runs),
        ground_truth_uri=labels,
    )
