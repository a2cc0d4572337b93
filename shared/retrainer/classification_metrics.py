"""Binary-classification metrics in plain Python (the Lambda layer carries no numpy)."""

from __future__ import annotations

import math
from collections.abc import Sequence

_EPSILON = 1e-15


def roc_auc(labels: Sequence[int], scores: Sequence[float]) -> float:
    """Area under the ROC curve by the rank-sum (Mann-Whitney U) formula, ties averaged."""
    positives = sum(labels)
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        raise ValueError("AUC needs both classes in the labels")
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    ranks = [0.0] * len(scores)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        average_rank = (i + j) / 2 + 1
        for k in range(i, j + 1):
            ranks[order[k]] = average_rank
        i = j + 1
    positive_rank_sum = sum(rank for rank, label in zip(ranks, labels, strict=True) if label == 1)
    return (positive_rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def log_loss(labels: Sequence[int], scores: Sequence[float]) -> float:
    total = 0.0
    for label, score in zip(labels, scores, strict=True):
        p = min(max(score, _EPSILON), 1 - _EPSILON)
        total += -math.log(p) if label == 1 else -math.log(1 - p)
    return total / len(labels)


def classification_metrics(labels: Sequence[int], scores: Sequence[float], cutoff: float = 0.5) -> dict[str, float]:
    """AUC, accuracy, precision, recall, F1 (at `cutoff`) and log loss."""
    if not labels:
        raise ValueError("no rows to evaluate")
    predicted = [1 if s >= cutoff else 0 for s in scores]
    tp = sum(1 for y, p in zip(labels, predicted, strict=True) if y == 1 and p == 1)
    fp = sum(1 for y, p in zip(labels, predicted, strict=True) if y == 0 and p == 1)
    fn = sum(1 for y, p in zip(labels, predicted, strict=True) if y == 1 and p == 0)
    tn = len(labels) - tp - fp - fn
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "auc": roc_auc(labels, scores),
        "accuracy": (tp + tn) / len(labels),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "logloss": log_loss(labels, scores),
    }


def standard_error(metric: str, value: float, rows: int, positives: int) -> float | None:
    """How far a test score measured on `rows` rows (`positives` of them positive) may be from the model's true
    score by chance: Hanley & McNeil (1982) for AUC, the binomial standard error for accuracy, and for precision,
    recall and F1 approximately (on the rows they are rates of); None for log loss or when a class is missing."""
    negatives = rows - positives
    if positives <= 0 or negatives <= 0 or not 0.0 <= value <= 1.0:
        return None
    if metric == "auc":
        q1, q2 = value / (2 - value), 2 * value * value / (1 + value)
        variance = (
            value * (1 - value) + (positives - 1) * (q1 - value * value) + (negatives - 1) * (q2 - value * value)
        ) / (positives * negatives)
        return math.sqrt(max(variance, 0.0))
    denominators = {"accuracy": rows, "recall": positives, "precision": positives, "f1": positives}
    if metric not in denominators:
        return None
    return math.sqrt(value * (1 - value) / denominators[metric])
