"""Binary-classification quality of merged predictions, in Model Monitor's model-quality output format.

statistics.json (developer guide, "Model quality metrics and Amazon CloudWatch monitoring", binary classification
example): `binary_classification_metrics` holds `confusion_matrix` (outer key the true label, inner key the
predicted label: the only reading under which the documented example's recall 1.0 and precision 1/3 agree),
`recall`, `precision`, `accuracy`, `*_best_constant_classifier` (the classifier that always says positive: the
example's precision 0.25 and accuracy 0.25 with one positive in four), `true_positive_rate`, `true_negative_rate`,
`false_positive_rate`, `false_negative_rate`, `receiver_operating_characteristic_curve`, `precision_recall_curve`,
`auc`, `f0_5`, `f1`, `f2` and their best-constant values, each `{"value", "standard_deviation"}`. The standard
deviation is "NaN" under 200 rows, else that of the metric over five random 80% samples (as documented; seeded, so
a re-run gives the same file). Beside them `logloss` (not a Model Monitor metric; the gate's name for log loss).
The document around it (`version`, `dataset{item_count, evaluation_time}`) follows the data-quality statistics [I].

A prediction is positive when its score is >= the threshold (0.5 by default), as the quality gate decides. AUC
and log loss are "NaN" when the window's labels hold one class only (no ranking to judge); precision is 0 when
nothing is predicted positive (scikit-learn's zero_division default). Curves have at most CURVE_POINTS points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

MIN_ROWS_FOR_DEVIATION = 200
DEVIATION_SAMPLES = 5
DEVIATION_SHARE = 0.8
CURVE_POINTS = 101
EPSILON = float(np.finfo(np.float64).eps)  # scikit-learn's log_loss clips at the dtype's eps
LOWER_IS_BETTER = frozenset({"logloss"})
NAN = "NaN"


@dataclass(frozen=True)
class Confusion:
    tp: int
    fp: int
    tn: int
    fn: int

    @classmethod
    def of(cls, labels: np.ndarray, predicted: np.ndarray) -> Confusion:
        positive, said = labels == 1, predicted == 1
        tp = int(np.count_nonzero(positive & said))
        fp = int(np.count_nonzero(~positive & said))
        fn = int(np.count_nonzero(positive & ~said))
        return cls(tp, fp, len(labels) - tp - fp - fn, fn)

    def to_json(self) -> dict[str, dict[str, int]]:
        return {"0": {"0": self.tn, "1": self.fp}, "1": {"0": self.fn, "1": self.tp}}


def _ratio(top: float, bottom: float) -> float:
    return top / bottom if bottom else 0.0


def _f_beta(precision: float, recall: float, beta: float) -> float:
    weight = beta * beta
    return _ratio((1 + weight) * precision * recall, weight * precision + recall)


def _rates(c: Confusion, prefix: str = "", suffix: str = "") -> dict[str, float]:
    precision, recall = _ratio(c.tp, c.tp + c.fp), _ratio(c.tp, c.tp + c.fn)
    values = {
        "recall": recall,
        "precision": precision,
        "accuracy": _ratio(c.tp + c.tn, c.tp + c.fp + c.tn + c.fn),
        "f0_5": _f_beta(precision, recall, 0.5),
        "f1": _f_beta(precision, recall, 1.0),
        "f2": _f_beta(precision, recall, 2.0),
    }
    return {f"{prefix}{name}{suffix}": value for name, value in values.items()}


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve by the rank sum (Mann-Whitney U), ties averaged; NaN with one class."""
    positives = int(np.count_nonzero(labels == 1))
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        return math.nan
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    average_rank = ends - (counts - 1) / 2.0  # 1-based average rank of each distinct score
    rank_sum = float(average_rank[inverse][labels == 1].sum())
    return (rank_sum - positives * (positives + 1) / 2.0) / (positives * negatives)


def log_loss(labels: np.ndarray, scores: np.ndarray) -> float:
    if len(np.unique(labels)) < 2:
        return math.nan
    p = np.clip(scores, EPSILON, 1 - EPSILON)
    return float(-np.mean(np.where(labels == 1, np.log(p), np.log1p(-p))))


def point_values(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, float]:
    """Every scalar metric of one sample of rows."""
    confusion = Confusion.of(labels, (scores >= threshold).astype(int))
    always_positive = Confusion.of(labels, np.ones_like(labels))
    c = confusion
    return {
        **_rates(c),
        **_rates(always_positive, suffix="_best_constant_classifier"),
        "true_positive_rate": _ratio(c.tp, c.tp + c.fn),
        "true_negative_rate": _ratio(c.tn, c.tn + c.fp),
        "false_positive_rate": _ratio(c.fp, c.fp + c.tn),
        "false_negative_rate": _ratio(c.fn, c.fn + c.tp),
        "auc": roc_auc(labels, scores),
        "logloss": log_loss(labels, scores),
    }


def deviations(labels: np.ndarray, scores: np.ndarray, threshold: float, seed: int = 0) -> dict[str, float]:
    """Standard deviation of each metric over five random 80% samples (NaN under 200 rows)."""
    if len(labels) < MIN_ROWS_FOR_DEVIATION:
        return {}
    rng = np.random.default_rng(seed)
    size = int(len(labels) * DEVIATION_SHARE)
    samples = []
    for _ in range(DEVIATION_SAMPLES):
        chosen = rng.choice(len(labels), size=size, replace=False)
        samples.append(point_values(labels[chosen], scores[chosen], threshold))
    return {name: float(np.std([s[name] for s in samples])) for name in samples[0]}


def curves(labels: np.ndarray, scores: np.ndarray) -> dict[str, Any]:
    """ROC and precision-recall curves at up to CURVE_POINTS thresholds (quantiles of the scores)."""
    distinct = np.unique(scores)
    if len(distinct) > CURVE_POINTS:
        distinct = np.unique(np.quantile(scores, np.linspace(0, 1, CURVE_POINTS)))
    thresholds = np.concatenate([[np.inf], distinct[::-1]])
    positives = max(int(np.count_nonzero(labels == 1)), 1)
    negatives = max(len(labels) - int(np.count_nonzero(labels == 1)), 1)
    sorted_scores = np.sort(scores)
    positive_scores = np.sort(scores[labels == 1])
    said = len(scores) - np.searchsorted(sorted_scores, thresholds, side="left")
    tp = len(positive_scores) - np.searchsorted(positive_scores, thresholds, side="left")
    fp = said - tp
    precision = np.divide(tp, said, out=np.ones(len(said)), where=said > 0)
    return {
        "receiver_operating_characteristic_curve": {
            "false_positive_rates": (fp / negatives).tolist(),
            "true_positive_rates": (tp / positives).tolist(),
        },
        "precision_recall_curve": {"precisions": precision[1:].tolist(), "recalls": (tp / positives)[1:].tolist()},
    }


def _entry(value: float, deviation: float | None) -> dict[str, Any]:
    return {
        "value": NAN if math.isnan(value) else value,
        "standard_deviation": NAN if deviation is None or math.isnan(deviation) else deviation,
    }


def binary_classification_metrics(labels: np.ndarray, scores: np.ndarray, threshold: float = 0.5) -> dict[str, Any]:
    """The `binary_classification_metrics` block of one set of merged rows."""
    values = point_values(labels, scores, threshold)
    spread = deviations(labels, scores, threshold)
    block: dict[str, Any] = {"confusion_matrix": Confusion.of(labels, (scores >= threshold).astype(int)).to_json()}
    block.update(curves(labels, scores))
    for name, value in values.items():
        block[name] = _entry(value, spread.get(name))
    return block


def statistics_document(labels: np.ndarray, scores: np.ndarray, threshold: float, evaluated: str) -> dict[str, Any]:
    return {
        "version": 0.0,
        "dataset": {"item_count": len(labels), "evaluation_time": evaluated},
        "binary_classification_metrics": binary_classification_metrics(labels, scores, threshold),
    }


def metric_value(statistics: dict[str, Any], name: str) -> float:
    """A metric's value from a statistics document (NaN when absent or not computable)."""
    entry = statistics.get("binary_classification_metrics", {}).get(name, {})
    value = entry.get("value", NAN) if isinstance(entry, dict) else NAN
    return math.nan if value == NAN else float(value)
