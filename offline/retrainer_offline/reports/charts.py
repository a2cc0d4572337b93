"""The report's plots, drawn with matplotlib (Agg, no display) and embedded in the pages as PNG data URIs.

Distributions follow the seed's `show_distributions`: the 10 KLL buckets of a numeric feature and the top 10
categories of a string feature, window against baseline. Each function returns one `data:image/png;base64,...`.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, date2num
from matplotlib.figure import Figure

from .report_data import QUALITY_METRICS, MonitoringRun, QualityRun, RunEvaluation, WeightRecord

BASELINE_COLOUR, WINDOW_COLOUR = "#4c72b0", "#dd8452"
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
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    uri.append("data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii"))


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


def drift_chart(runs: list[MonitoringRun], thresholds: dict[str, float], method: str = "") -> str:
    """Drift distance per feature at each monitoring run, with the thresholds it is judged against."""
    features = sorted({f for run in runs for f in run.drift})
    with _figure(7.5, 3.6) as (axes, uri):
        for feature in features:
            points = [(run.hour, run.drift[feature]) for run in runs if feature in run.drift]
            axes.plot(_x([p[0] for p in points]), [p[1] for p in points], "o-", label=feature)
        for threshold in sorted(set(thresholds.values())):
            axes.axhline(threshold, color="grey", linestyle=":", label=f"threshold {threshold}")
        axes.set_ylabel(f"{method} L-infinity distance".strip())
        axes.set_title("Baseline drift per feature")
        axes.legend(fontsize="small", ncols=2)
        _time_axis(axes, [run.hour for run in runs])
    return uri[0]


def quality_chart(runs: list[QualityRun]) -> str:
    """Model quality against ground truth at each run."""
    with _figure(7.5, 3.4) as (axes, uri):
        for metric in QUALITY_METRICS:
            points = [(run.hour, run.metrics[metric]) for run in runs if metric in run.metrics]
            if points:
                axes.plot(_x([p[0] for p in points]), [p[1] for p in points], "o-", label=metric)
        axes.set_title("Model quality over time (predictions joined with ground truth)")
        axes.legend(fontsize="small")
        _time_axis(axes, [run.hour for run in runs])
    return uri[0]
