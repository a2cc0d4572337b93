"""Baseline drift distances as Deequ's `Distance.scala` computes them (what Model Monitor's analyzer runs).

- numeric: L-infinity between the two CDFs, evaluated at every item of either sketch (Kolmogorov-Smirnov's D);
- categorical: L-infinity between the two relative-frequency tables;
- `Robust` subtracts the two-sample KS critical value c(alpha) * sqrt((n + m) / (n * m)), c = 1.8 (alpha 0.003),
  floored at 0; `Simple` is the raw distance.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from .kll_sketch import KllSketch

C_ALPHA = 1.8  # Deequ's defaultCAlpha (alpha = 0.003, Knuth TAOCP vol. 2, eq. 15)


def robust(simple: float, n: float, m: float) -> float:
    if n <= 0 or m <= 0:
        return 0.0
    return max(0.0, simple - C_ALPHA * math.sqrt((n + m) / (n * m)))


def _select(simple: float, n: float, m: float, method: str) -> float:
    return robust(simple, n, m) if method.lower() in {"robust", "linf_robust"} else simple


def numerical_distance(baseline: KllSketch, current: KllSketch, method: str = "Simple") -> float:
    """max |F_baseline(x) - F_current(x)| over the union of both sketches' items."""
    base_values, _ = baseline.weighted_items()
    current_values, _ = current.weighted_items()
    if len(base_values) == 0 or len(current_values) == 0:
        return 0.0
    keys = np.union1d(base_values, current_values)
    simple = float(np.max(np.abs(baseline.cdf_at(keys) - current.cdf_at(keys))))
    return _select(simple, baseline.total_weight, current.total_weight, method)


def categorical_distance(baseline: Mapping[str, float], current: Mapping[str, float], method: str = "Simple") -> float:
    """max |p_baseline(v) - p_current(v)| over the union of both tables' values."""
    n = float(sum(baseline.values()))
    m = float(sum(current.values()))
    if n <= 0 or m <= 0:
        return 0.0
    simple = max(abs(baseline.get(key, 0) / n - current.get(key, 0) / m) for key in set(baseline) | set(current))
    return _select(simple, n, m, method)
