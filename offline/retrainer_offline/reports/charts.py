"""The report's plots, drawn with matplotlib (Agg, no display) and embedded in the pages as PNG data URIs.

Distributions follow the seed's `show_distributions`: the 10 KLL buckets of a numeric feature and the top 10
categories of a string feature, window against baseline. Each function returns one `data:image/png;base64,...`.
"""

from __future__ import annotations

import base64
import io
import math
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, date2num
from matplotlib.figure import Figure

from .report_data import DEFAULT_GATE_METRIC, MonitoringRun, QualityRun, RunEvaluation, WeightRecord

BASELINE_COLOUR, WINDOW_COLOUR, VIOLATION_COLOUR = "#4c72b0", "#dd8452", "#c0392b"
TOP_CATEGORIES = 10


def _x(times: list[datetime]) -> list[float]:
    """Times as matplotlib's date numbers (what its date axis plots)."""
    return [float(date2num(time)) for time in times]


def _time_axis(axes: Axes, times: list[datetime]) -> None:
    """Dates as short as they can be; one point in time gets an hour either side rather than years."""
    locator = AutoDateLocator()
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    if times and min(times) == max(times):
        axes.set_xlim(*_x([min(times) - timedelta(hours=1), max(times) + timedelta(hours=1)]))


@contextmanager
def _figure(width: float = 6.4, height: float = 3.2) -> Iterator[tuple[Axes, list[str]]]:
    """An Axes to draw on; on exit the figure is rendered into the list as a PNG data URI."""
    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    uri: list[str] = []
    yield axes, uri
    uri.append(_png(figure))


def _png(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def numeric_distribution(name: str, baseline: list[dict[str, Any]], window: list[dict[str, Any]]) -> str:
    """Both sets of KLL buckets as densities over their own ranges (the two sides' min..max differ)."""
    bounds = [float(b[side]) for b in [*baseline, *window] for side in ("lower_bound", "upper_bound")]
    # A constant feature has buckets of no width: draw it over a tenth of the whole range (or 1) instead.
    fallback = (max(bounds) - min(bounds)) / 10 if bounds and max(bounds) > min(bounds) else 1.0
    with _figure() as (axes, uri):
        for buckets, label, colour in ((baseline, "baseline", BASELINE_COLOUR), (window, "window", WINDOW_COLOUR)):
            total = sum(float(b["count"]) for b in buckets) or 1.0
            lows = [float(b["lower_bound"]) for b in buckets]
            widths = [float(b["upper_bound"]) - float(b["lower_bound"]) or fallback for b in buckets]
            heights = [float(b["count"]) / total / w for b, w in zip(buckets, widths, strict=True)]
            axes.bar(lows, heights, width=widths, align="edge", alpha=0.55, label=label, color=colour)
        axes.set_title(f"{name}: 10 KLL buckets, window against baseline")
        axes.set_xlabel(name)
        axes.set_ylabel("share of rows per unit")
        axes.legend()
    return uri[0]


def categorical_distribution(name: str, baseline: dict[str, float], window: dict[str, float]) -> str:
    """Share of rows of the top categories (by the larger of the two shares), side by side."""
    base_total, window_total = sum(baseline.values()) or 1.0, sum(window.values()) or 1.0
    shares = {v: (baseline.get(v, 0.0) / base_total, window.get(v, 0.0) / window_total) for v in {*baseline, *window}}
    top = sorted(shares, key=lambda v: (-max(shares[v]), v))[:TOP_CATEGORIES]
    with _figure() as (axes, uri):
        positions = range(len(top))
        for side, (label, colour) in enumerate((("baseline", BASELINE_COLOUR), ("window", WINDOW_COLOUR))):
            offsets = [p - 0.2 + 0.4 * side for p in positions]
            axes.bar(offsets, [shares[v][side] for v in top], 0.4, label=label, color=colour)
        axes.set_xticks(list(positions), top, rotation=30, ha="right")
        axes.set_title(f"{name}: top {len(top)} categories, window against baseline")
        axes.set_ylabel("share of rows")
        axes.legend()
    return uri[0]


def gate_metric_chart(evaluations: list[RunEvaluation]) -> str:
    """The gate metric of the challenger and of the champion it was measured against, run by run."""
    with _figure(7.5, 3.4) as (axes, uri):
        runs = [e.run_id for e in evaluations]
        axes.plot(runs, [e.result.value for e in evaluations], "o-", label="challenger", color=WINDOW_COLOUR)
        champion = [(e.run_id, e.result.champion_value) for e in evaluations if e.result.champion_value is not None]
        if champion:
            axes.plot(*zip(*champion, strict=True), "s--", label="champion", color=BASELINE_COLOUR)
        thresholds = {e.result.threshold for e in evaluations}
        for threshold in thresholds:
            axes.axhline(threshold, color="grey", linestyle=":", label=f"threshold {threshold}")
        axes.set_title(f"{evaluations[0].result.metric} per run (same test split for both models)")
        axes.tick_params(axis="x", labelrotation=20)
        axes.legend()
    return uri[0]


def weights_chart(records: list[WeightRecord]) -> str:
    """Each variant's traffic share as a step line: a share holds until the next record."""
    variants = list(dict.fromkeys(v for r in records for v in r.weights))
    with _figure(7.5, 3.4) as (axes, uri):
        current: dict[str, float] = {}
        times: list[datetime] = []
        series: dict[str, list[float]] = {v: [] for v in variants}
        for record in records:
            current = {**{v: 0.0 for v in current}, **record.weights}  # a variant a record leaves out serves no more
            times.append(record.time)
            for variant in variants:
                series[variant].append(current.get(variant, 0.0))
        for variant, shares in series.items():
            axes.step(_x(times), shares, where="post", marker="o", label=variant)
        axes.set_ylim(-5, 105)
        axes.set_ylabel("traffic share (%)")
        axes.set_title("Canary weights over time")
        axes.legend(fontsize="small")
        _time_axis(axes, times)
    return uri[0]


def _draw_drift(
    axes: Axes, runs: list[MonitoringRun], thresholds: dict[str, float], method: str, beside: bool = False
) -> None:
    for feature in sorted({f for run in runs for f in run.drift}):
        points = [(run.hour, run.drift[feature]) for run in runs if feature in run.drift]
        axes.plot(_x([p[0] for p in points]), [p[1] for p in points], "o-", label=feature)
    for threshold in sorted(set(thresholds.values())):
        axes.axhline(threshold, color="grey", linestyle=":", label=f"threshold {threshold}")
    axes.set_ylabel(f"{method} L-infinity distance".strip())
    axes.set_title("Baseline drift per feature")
    if beside:  # above the quality panel: legends beside both, so both panels keep the same width
        axes.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))
    else:
        axes.legend(fontsize="small", ncols=2)


def gate_metric_of(runs: list[QualityRun]) -> str:
    """The metric the quality alarm watches, as most runs' constraints.json state it (auc without any)."""
    named = Counter(run.gate_metric for run in runs if run.bounds)
    return named.most_common(1)[0][0] if named else DEFAULT_GATE_METRIC


def _draw_quality(axes: Axes, runs: list[QualityRun]) -> None:
    """The gate metric per window, one series per promoted version (schedule) with its alarm bound; windows that
    violated are ringed in red; windows with no value (too few labels, or NaN) are ticked along the bottom."""
    metric = gate_metric_of(runs)
    for schedule in dict.fromkeys(run.schedule for run in runs):
        own = [run for run in runs if run.schedule == schedule]
        judged = [run for run in own if run.judged]
        (line,) = axes.plot(_x([r.time for r in judged]), [r.value(metric) for r in judged], "o-", label=schedule)
        bounded = [(r.time, r.bounds[metric].threshold) for r in own if metric in r.bounds]
        if bounded:
            # a dash per window (so a version judged once still shows its bound), joined while it holds
            axes.plot(_x([b[0] for b in bounded]), [b[1] for b in bounded], linestyle="--", drawstyle="steps-post",
                      marker="_", markersize=14, color=line.get_color(), label=f"{schedule} alarm bound")  # fmt: skip
    violated = [run for run in runs if run.violations and not math.isnan(run.value(metric))]
    if violated:
        axes.plot(_x([r.time for r in violated]), [r.value(metric) for r in violated], "o", markersize=12,
                  markerfacecolor="none", markeredgecolor=VIOLATION_COLOUR, label="violation")  # fmt: skip
    unknown = [run.time for run in runs if math.isnan(run.value(metric))]
    if unknown:
        # x in data, y in axes units: at the bottom whatever the metric's range
        axes.plot(_x(unknown), [0.02] * len(unknown), "|", color="grey", markersize=14,
                  transform=axes.get_xaxis_transform(), label=f"no {metric}: too few labels, or one class")  # fmt: skip
    axes.set_ylabel(metric)
    axes.set_title(f"Model quality: {metric} per window against ground truth")
    axes.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))  # beside: it hides no window


def drift_chart(runs: list[MonitoringRun], thresholds: dict[str, float], method: str = "") -> str:
    """Drift distance per feature at each monitoring run, with the thresholds it is judged against."""
    with _figure(7.5, 3.6) as (axes, uri):
        _draw_drift(axes, runs, thresholds, method)
        _time_axis(axes, [run.hour for run in runs])
    return uri[0]


def quality_chart(runs: list[QualityRun]) -> str:
    """Model quality over time alone (no drift measured yet)."""
    with _figure(9.5, 3.6) as (axes, uri):
        _draw_quality(axes, runs)
        _time_axis(axes, [run.time for run in runs])
    return uri[0]


def timeline_figure(
    drift_runs: list[MonitoringRun], thresholds: dict[str, float], method: str, quality_runs: list[QualityRun]
) -> Figure:
    """Drift above model quality on one time axis (each plotted at the end of the window it judged), so a drop in
    quality can be read against the drift that came before it."""
    figure = Figure(figsize=(9.5, 6.6), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    drift_axes, quality_axes = figure.subplots(2, 1, sharex=True)
    _draw_drift(drift_axes, drift_runs, thresholds, method, beside=True)
    _draw_quality(quality_axes, quality_runs)
    _time_axis(quality_axes, [run.hour for run in drift_runs] + [run.time for run in quality_runs])
    quality_axes.set_xlabel("end of the window judged (UTC)")
    return figure


def drift_and_quality_chart(
    drift_runs: list[MonitoringRun], thresholds: dict[str, float], method: str, quality_runs: list[QualityRun]
) -> str:
    return _png(timeline_figure(drift_runs, thresholds, method, quality_runs))
