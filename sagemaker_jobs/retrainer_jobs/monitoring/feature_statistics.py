"""Per-feature statistics accumulated chunk by chunk, rendered as Model Monitor's statistics.json.

statistics.json (SageMaker developer guide, "Schema for Statistics (statistics.json file)"):
`{"version": 0, "dataset": {"item_count": N}, "features": [...]}`, each feature with `name`, `inferred_type`
(Integral | Fractional | String | Unknown) and either `numerical_statistics{common{num_present, num_missing},
mean, sum, std_dev, min, max, distribution.kll{buckets, sketch}}` or `string_statistics{common, distinct_count,
distribution.categorical.buckets[{value, count}]}`.

A feature is read either as numbers or as text (`FeatureKind`), decided before reading: by the schema or a first
pass for a baseline, by the baseline's inferred type for a monitoring run. Moments are merged across chunks with
Chan et al.'s parallel update, so memory is bounded by the chunk and the sketch, not by the data. `std_dev` is the
population standard deviation (Deequ's StandardDeviation analyzer).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import numpy as np
import pandas as pd

from .kll_sketch import KllSketch

INTEGRAL, FRACTIONAL, STRING, UNKNOWN = "Integral", "Fractional", "String", "Unknown"
KLL_BUCKETS = 10  # Model Monitor always writes 10 equal-width buckets
MAX_CATEGORICAL_BUCKETS = 1000  # Deequ Histogram.MaximumAllowedDetailBins


class FeatureKind(Enum):
    NUMERIC = "numeric"
    TEXT = "text"


@dataclass
class NumericMoments:
    count: int = 0
    mean: float = 0.0
    m2: float = 0.0
    total: float = 0.0
    minimum: float = np.inf
    maximum: float = -np.inf

    def add(self, values: np.ndarray) -> None:
        n = len(values)
        if n == 0:
            return
        chunk_mean = float(values.mean())
        chunk_m2 = float(np.square(values - chunk_mean).sum())
        delta = chunk_mean - self.mean
        combined = self.count + n
        self.m2 += chunk_m2 + delta * delta * self.count * n / combined
        self.mean += delta * n / combined
        self.count = combined
        self.total += float(values.sum())
        self.minimum = min(self.minimum, float(values.min()))
        self.maximum = max(self.maximum, float(values.max()))

    @property
    def std_dev(self) -> float:
        return float(np.sqrt(self.m2 / self.count)) if self.count else 0.0


@dataclass
class FeatureAccumulator:
    """Everything statistics.json and the constraint checks need about one feature, merged chunk by chunk."""

    name: str
    kind: FeatureKind
    present: int = 0
    missing: int = 0
    integral: int = 0  # numeric values with no fractional part
    fractional: int = 0
    text: int = 0  # non-null values that are not numbers (in a numeric feature: a data type problem)
    moments: NumericMoments = field(default_factory=NumericMoments)
    sketch: KllSketch = field(default_factory=KllSketch)
    counts: Counter[str] = field(default_factory=Counter)

    def observe(self, column: pd.Series) -> None:
        nulls = column.isna().to_numpy()
        missing = int(nulls.sum())
        self.missing += missing
        self.present += len(column) - missing
        if self.kind is FeatureKind.TEXT:
            self._observe_text(column[~nulls])
        else:
            self._observe_numbers(column, nulls)

    def _observe_text(self, present: pd.Series) -> None:
        as_text = present if pd.api.types.is_string_dtype(present) else present.astype(str)
        self.counts.update(as_text.value_counts().to_dict())
        self.text += len(present)

    def _observe_numbers(self, column: pd.Series, nulls: np.ndarray) -> None:
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            values = column.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
            self.text += int((np.isnan(values) & ~nulls).sum())
        values = values[np.isfinite(values)]
        whole = int(np.count_nonzero(values == np.floor(values)))
        self.integral += whole
        self.fractional += len(values) - whole
        self.moments.add(values)
        self.sketch.update(values)

    # ------------------------------------------------------------------------------------------ reading
    @property
    def inferred_type(self) -> str:
        if self.kind is FeatureKind.TEXT:
            return STRING if self.present else UNKNOWN
        if self.fractional:
            return FRACTIONAL
        return INTEGRAL if self.integral else UNKNOWN

    @property
    def completeness(self) -> float:
        total = self.present + self.missing
        return self.present / total if total else 0.0

    def to_json(self) -> dict[str, Any]:
        common = {"num_present": self.present, "num_missing": self.missing}
        if self.kind is FeatureKind.TEXT:
            top = self.counts.most_common(MAX_CATEGORICAL_BUCKETS)
            return {
                "name": self.name,
                "inferred_type": self.inferred_type,
                "string_statistics": {
                    "common": common,
                    "distinct_count": float(len(self.counts)),
                    "distribution": {"categorical": {"buckets": [{"value": v, "count": c} for v, c in top]}},
                },
            }
        numerical: dict[str, Any] = {"common": common}
        if self.moments.count:
            low, high = self.moments.minimum, self.moments.maximum
            numerical |= {
                "mean": self.moments.mean,
                "sum": self.moments.total,
                "std_dev": self.moments.std_dev,
                "min": low,
                "max": high,
                "distribution": {
                    "kll": {
                        "buckets": self.sketch.bucket_counts(low, high, KLL_BUCKETS),
                        "sketch": self.sketch.to_json(),
                    }
                },
            }
        return {"name": self.name, "inferred_type": self.inferred_type, "numerical_statistics": numerical}


@dataclass
class DatasetStatistics:
    """The accumulators of one dataset (a baseline file or a monitoring window), in column order."""

    features: list[FeatureAccumulator]
    item_count: int = 0

    @classmethod
    def for_columns(cls, kinds: dict[str, FeatureKind]) -> DatasetStatistics:
        return cls([FeatureAccumulator(name, kind) for name, kind in kinds.items()])

    def observe(self, frame: pd.DataFrame) -> None:
        self.item_count += len(frame)
        for feature in self.features:
            if feature.name in frame.columns:
                feature.observe(frame[feature.name])
            else:
                feature.missing += len(frame)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": 0.0,
            "dataset": {"item_count": self.item_count},
            "features": [feature.to_json() for feature in self.features],
        }


# ------------------------------------------------------------------------------ reading a baseline back
def baseline_sketch(feature: dict[str, Any]) -> KllSketch | None:
    sketch = feature.get("numerical_statistics", {}).get("distribution", {}).get("kll", {}).get("sketch")
    return KllSketch.from_json(sketch) if sketch else None


def baseline_counts(feature: dict[str, Any]) -> dict[str, float]:
    buckets = feature.get("string_statistics", {}).get("distribution", {}).get("categorical", {}).get("buckets", [])
    return {str(bucket["value"]): float(bucket["count"]) for bucket in buckets}
