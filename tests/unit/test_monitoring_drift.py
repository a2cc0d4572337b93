"""Drift distance as Model Monitor computes it (Deequ `Distance.scala` over Deequ's KLL sketch).

monitoring-contracts.md "Drift distance": Simple = L-infinity between the two CDFs over the union of both sketches'
items; Robust = max(0, Simple - 1.8 * sqrt((n + m) / (n * m))); exact while a sketch holds at most 2,050 values
(then Simple equals scipy.stats.ks_2samp's statistic), sketch-approximated beyond; categorical L-infinity over
relative frequencies.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import ks_2samp

from retrainer_jobs.monitoring.drift_distance import categorical_distance, numerical_distance
from retrainer_jobs.monitoring.kll_sketch import KllSketch


def sketch_of(values: np.ndarray, batch: int | None = None) -> KllSketch:
    sketch = KllSketch()
    step = batch or max(1, len(values))
    for start in range(0, len(values), step):
        sketch.update(values[start : start + step])
    return sketch


@pytest.mark.parametrize(
    ("n", "m", "shift", "seed"),
    [(569, 120, 0.0, 1), (2050, 2050, 0.3, 2), (1000, 37, 1.0, 3), (50, 2000, -0.2, 4)],
)
def test_simple_distance_equals_ks_2samp_in_the_exact_regime(n: int, m: int, shift: float, seed: int) -> None:
    """Given two samples of at most 2,050 values, then the Simple distance is exactly the two-sample KS statistic."""
    rng = np.random.default_rng(seed)
    base, current = rng.normal(0, 1, n), rng.normal(shift, 1, m)

    distance = numerical_distance(sketch_of(base), sketch_of(current, batch=17), "Simple")

    assert distance == pytest.approx(ks_2samp(base, current).statistic, abs=1e-12)


def test_ties_and_integers_still_match_ks_2samp() -> None:
    rng = np.random.default_rng(5)
    base, current = rng.integers(0, 10, 800).astype(float), rng.integers(2, 12, 300).astype(float)

    assert numerical_distance(sketch_of(base), sketch_of(current), "Simple") == pytest.approx(
        ks_2samp(base, current).statistic, abs=1e-12
    )


def test_robust_subtracts_the_ks_critical_value() -> None:
    """With n = 569 and m = 120, Robust subtracts 1.8 * sqrt((n + m) / (n m)) ~ 0.18 (floored at zero)."""
    rng = np.random.default_rng(1)
    base, current = rng.normal(0, 1, 569), rng.normal(1, 1, 120)
    simple = numerical_distance(sketch_of(base), sketch_of(current), "Simple")

    robust = numerical_distance(sketch_of(base), sketch_of(current), "Robust")

    assert robust == pytest.approx(simple - 1.8 * math.sqrt((569 + 120) / (569 * 120)))
    assert numerical_distance(sketch_of(base), sketch_of(base[:120]), "Robust") == 0.0


def test_the_sketch_keeps_every_value_up_to_2050_then_compacts() -> None:
    """Deequ's sketch (k = 2048, c = 0.64): one level of raw values while it holds at most 2,050 items; the 2,051st
    value compacts level 0 (sorted, every other item promoted with weight 2)."""
    exact = sketch_of(np.arange(2050, dtype=float))
    compacted = sketch_of(np.arange(2051, dtype=float))

    assert [len(level) for level in exact.to_json()["data"]] == [2050]
    assert [len(level) for level in compacted.to_json()["data"]] == [1, 1025]
    assert compacted.to_json()["data"][1][:3] == [0.0, 2.0, 4.0]
    assert compacted.total_weight == 2051


def test_beyond_2050_values_the_distance_is_sketch_approximated() -> None:
    """Given 200,000 values per side, then memory stays a few thousand items per sketch and the distance stays
    within KLL's error of the exact KS statistic."""
    rng = np.random.default_rng(9)
    base, current = rng.normal(0, 1, 200_000), rng.normal(0.1, 1, 200_000)
    left, right = sketch_of(base, batch=10_000), sketch_of(current, batch=7_000)

    held = sum(len(level) for level in left.to_json()["data"])
    assert held < 8_000
    assert left.total_weight == pytest.approx(200_000, rel=0.001)
    assert numerical_distance(left, right, "Simple") == pytest.approx(ks_2samp(base, current).statistic, abs=0.02)


def test_batching_does_not_change_the_sketch() -> None:
    """A batch is cut where Deequ's item-by-item update would condense, so batch sizes give the same sketch."""
    values = np.random.default_rng(3).normal(size=7_000)

    assert (
        sketch_of(values, batch=1).to_json() == sketch_of(values, batch=4096).to_json() == sketch_of(values).to_json()
    )


def test_a_serialised_sketch_reads_back_to_the_same_distribution() -> None:
    values = np.random.default_rng(4).normal(size=5_000)
    sketch = sketch_of(values)

    again = KllSketch.from_json(sketch.to_json())

    assert again.to_json() == sketch.to_json()
    assert numerical_distance(sketch, again, "Simple") == 0.0


def test_categorical_distance_is_linf_over_relative_frequencies() -> None:
    base = {"north": 50, "south": 30, "east": 20}
    current = {"north": 20, "south": 30, "west": 50}

    assert categorical_distance(base, current, "Simple") == pytest.approx(0.5)
    assert categorical_distance(base, current, "Robust") == pytest.approx(0.5 - 1.8 * math.sqrt(200 / 10_000))
    assert categorical_distance(base, base, "Robust") == 0.0


def test_kll_buckets_are_the_exact_histogram_while_the_sketch_holds_every_value() -> None:
    """statistics.json's 10 KLL buckets (Deequ: [lower, upper) and the last one closed) equal numpy's 10-bin
    histogram from min to max while at most 2,050 values are held."""
    values = np.random.default_rng(8).normal(50, 10, 2_000)

    counts = [b["count"] for b in sketch_of(values).bucket_counts(values.min(), values.max())]

    assert counts == np.histogram(values, bins=10)[0].tolist()
