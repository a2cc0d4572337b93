"""The model history page: champion against challenger per run, canary weights, drift and model quality over time.

The model-quality section appears only when model-quality runs exist (issue 15 writes them); every other section
says plainly when it has nothing to show yet.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from . import charts
from .monitoring_page import DRIFT, Cell
from .page_templates import render
from .report_data import QUALITY_METRICS, MonitoringRun, ReportData, RunEvaluation, WeightRecord


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


def render_history_page(data: ReportData) -> str:
    evaluations = data.evaluations
    metric_names = list(dict.fromkeys(m for e in evaluations for m in e.result.metrics))
    drift_features = sorted({f for run in data.monitoring_runs for f in run.drift})
    drift_runs = [run for run in data.monitoring_runs if run.drift]
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
        drift_chart=charts.drift_chart(drift_runs, _thresholds(data), _method(data)) if drift_runs else "",
        quality_metrics=[m for m in QUALITY_METRICS if any(m in r.metrics for r in data.quality_runs)],
        quality_rows=data.quality_runs,
        quality_chart=charts.quality_chart(data.quality_runs) if data.quality_runs else "",
    )
