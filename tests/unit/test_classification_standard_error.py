"""The standard error of a test score (classification_metrics.standard_error) against simulation: the spread of
the score over many test splits of the same size drawn from one model's world."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, roc_auc_score

from retrainer.classification_metrics import standard_error


def _test_splits(positives: int, negatives: int, splits: int = 3000, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Scores of a model whose positives score N(1.2, 1) and negatives N(0, 1) (true AUC about 0.80)."""
    rng = np.random.default_rng(seed)
    labels = np.r_[np.ones(positives), np.zeros(negatives)]
    scores = np.c_[rng.normal(1.2, 1, (splits, positives)), rng.normal(0, 1, (splits, negatives))]
    return labels, scores


@pytest.mark.parametrize(("positives", "negatives"), [(23, 72), (80, 220)])
def test_the_auc_standard_error_is_the_spread_of_auc_over_test_splits_of_that_size(
    positives: int, negatives: int
) -> None:
    # Given many test splits of the same size from one model's world
    labels, scores = _test_splits(positives, negatives)
    aucs = np.array([roc_auc_score(labels, row) for row in scores])
    # When the standard error is computed from one split's AUC and its class counts
    estimated = standard_error("auc", float(np.median(aucs)), positives + negatives, positives)
    # Then it is the AUC's spread over the splits (Hanley & McNeil's approximation: within 15 %)
    assert estimated == pytest.approx(float(aucs.std()), rel=0.15)


def test_the_accuracy_standard_error_is_binomial() -> None:
    labels, scores = _test_splits(30, 70)
    accuracies = np.array([accuracy_score(labels, row >= 0.6) for row in scores])
    estimated = standard_error("accuracy", float(accuracies.mean()), 100, 30)
    assert estimated == pytest.approx(float(accuracies.std()), rel=0.15)


def test_no_standard_error_for_log_loss_or_a_missing_class() -> None:
    assert standard_error("logloss", 0.3, 100, 30) is None
    assert standard_error("auc", 0.9, 100, 0) is None
    assert standard_error("auc", 0.9, 100, 100) is None
