"""Deequ's KLL quantile sketch (`QuantileNonSample`), the one Model Monitor serialises in statistics.json.

Model Monitor's `distribution.kll.sketch` is Deequ's own sketch: `parameters{c: 0.64, k: 2048}` and `data`, one
list of items per compactor level, an item on level h standing for 2^h values. This is a port of Deequ 2.0's
`QuantileNonSample` + `NonSampleCompactor` (deterministic offsets, as Deequ ships them), fed in numpy batches: a
batch is cut where Deequ would condense, so the sketch holds the same items Deequ's item-by-item `update` would.

- It keeps every value while it holds at most `capacity(0)` = 2,050 of them (k = 2048): then a rank, a bucket count
  and the L-infinity distance are exact;
- past that, level 0 is sorted and every other item moves up a level (weight doubles): bounded memory, ranks
  approximate (KLL's error bound).

Spark merges per-partition sketches, so AWS's sketch of the same data may differ item by item beyond 2,050 values;
the serialised layout and the exact regime are the same.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

SKETCH_SIZE = 2048  # Deequ KLLSketch default as Model Monitor writes it (parameters.k)
SHRINKING_FACTOR = 0.64  # parameters.c


@dataclass
class _Compactor:
    buffer: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.float64))
    compressions: int = 0
    offset: int = 0

    def compact(self) -> np.ndarray:
        """Sort the even-length head, keep every other item (alternating offset), hold back an odd tail."""
        items = len(self.buffer)
        length = items - items % 2
        if self.compressions % 2 == 1:
            self.offset = 1 - self.offset
        output = np.sort(self.buffer[:length])[self.offset : length : 2]
        self.buffer = self.buffer[length:].copy()
        self.compressions += 1
        return output


class KllSketch:
    """Quantile sketch; `update` takes numpy arrays, `to_json`/`from_json` use Model Monitor's layout."""

    def __init__(self, sketch_size: int = SKETCH_SIZE, shrinking_factor: float = SHRINKING_FACTOR) -> None:
        self.sketch_size = sketch_size
        self.shrinking_factor = shrinking_factor
        self._compactors: list[_Compactor] = [_Compactor()]
        self._pending: list[np.ndarray] = []  # level-0 items not yet concatenated (cheap appends)
        self._pending_size = 0
        self._size = 0  # items held across levels
        self._total_capacity = self._capacity(0)

    def _capacity(self, height: int) -> int:
        return 2 * (math.ceil(self.sketch_size * self.shrinking_factor**height / 2) + 1)

    def update(self, values: np.ndarray) -> None:
        """Add values; NaN must already be removed (Deequ sketches only non-null values)."""
        values = np.asarray(values, dtype=np.float64)
        start = 0
        while start < len(values):
            # Deequ condenses as soon as the items held exceed the total capacity: cut the batch there.
            room = max(1, self._total_capacity - self._size + 1)
            piece = values[start : start + room]
            self._pending.append(piece)
            self._pending_size += len(piece)
            self._size += len(piece)
            start += len(piece)
            if self._size > self._total_capacity:
                self._condense()

    def _flush(self) -> None:
        if self._pending:
            level0 = self._compactors[0]
            level0.buffer = np.concatenate([level0.buffer, *self._pending])
            self._pending, self._pending_size = [], 0

    def _condense(self) -> None:
        self._flush()
        for height, compactor in enumerate(self._compactors):
            if len(compactor.buffer) >= self._capacity(height):
                if height + 1 >= len(self._compactors):
                    self._compactors.append(_Compactor())
                    self._total_capacity = sum(self._capacity(h) for h in range(len(self._compactors)))
                output = compactor.compact()
                upper = self._compactors[height + 1]
                upper.buffer = np.concatenate([upper.buffer, output])
                self._size = sum(len(c.buffer) for c in self._compactors)
                return

    # ------------------------------------------------------------------------------------------ queries
    def weighted_items(self) -> tuple[np.ndarray, np.ndarray]:
        """Items sorted, with each one's weight (2^level)."""
        self._flush()
        values = np.concatenate([c.buffer for c in self._compactors])
        weights = np.concatenate(
            [np.full(len(c.buffer), 1 << level, dtype=np.int64) for level, c in enumerate(self._compactors)]
        )
        order = np.argsort(values, kind="stable")
        return values[order], weights[order]

    @property
    def total_weight(self) -> int:
        self._flush()
        return int(sum(len(c.buffer) << level for level, c in enumerate(self._compactors)))

    def cdf_at(self, points: np.ndarray) -> np.ndarray:
        """Inclusive rank / total weight at each point (Deequ `getRank(item, rankMap) / n`)."""
        values, weights = self.weighted_items()
        cumulative = np.concatenate([[0], np.cumsum(weights)])
        total = cumulative[-1]
        if total == 0:
            return np.zeros(len(points))
        return cumulative[np.searchsorted(values, points, side="right")] / total

    def bucket_counts(self, low: float, high: float, buckets: int = 10) -> list[dict[str, float]]:
        """Deequ's KLL buckets: equal width from min to max, the last bucket closed on the right."""
        values, weights = self.weighted_items()
        cumulative = np.concatenate([[0], np.cumsum(weights)])
        result = []
        for i in range(buckets):
            lower = low + (high - low) * i / buckets
            upper = low + (high - low) * (i + 1) / buckets
            last = i == buckets - 1
            count = (
                cumulative[np.searchsorted(values, upper, side="right" if last else "left")]
                - cumulative[np.searchsorted(values, lower, side="left")]
            )
            result.append({"lower_bound": lower, "upper_bound": upper, "count": float(count)})
        return result

    # ------------------------------------------------------------------------------------- serialisation
    def to_json(self) -> dict[str, Any]:
        self._flush()
        return {
            "parameters": {"c": self.shrinking_factor, "k": float(self.sketch_size)},
            "data": [c.buffer.tolist() for c in self._compactors],
        }

    @classmethod
    def from_json(cls, sketch: dict[str, Any]) -> KllSketch:
        parameters = sketch.get("parameters", {})
        result = cls(int(parameters.get("k", SKETCH_SIZE)), float(parameters.get("c", SHRINKING_FACTOR)))
        levels = sketch.get("data") or [[]]
        result._compactors = [_Compactor(np.asarray(level, dtype=np.float64)) for level in levels]
        result._size = sum(len(c.buffer) for c in result._compactors)
        result._total_capacity = sum(result._capacity(h) for h in range(len(result._compactors)))
        return result
