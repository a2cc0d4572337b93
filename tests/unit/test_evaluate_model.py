"""evaluate_model: metrics from the batch-transform `label,score` lines and the quality gate."""

from __future__ import annotations

import math

import pytest
from sklearn.metrics import accuracy_score, f1_score, log_loss, precision_score, recall_score, roc_auc_score

from functions.evaluate_model import app
from retrainer.errors import EvaluationDataError
from tests.unit.conftest import FakeContext, Stack, load_event

SAMPLE = load_event("evaluate_model.json")
PREFIX = "runs/churn/churn-5d41402abc4b/evaluation/"
LABELS = [1, 0, 1, 1, 0, 0, 1, 0, 1, 0]
SCORES = [0.9, 0.1, 0.8, 0.4, 0.3, 0.6, 0.7, 0.2, 0.55, 0.45]


def _write_transform_output(stack: Stack, labels: list[int], scores: list[float]) -> None:
    # Two objects, as a transform of a split written in two files would produce.
    half = len(labels) // 2
    for index, (ls, ss) in enumerate(((labels[:half], scores[:half]), (labels[half:], scores[half:]))):
        body = "".join(f"{label},{score}\n" for label, score in zip(ls, ss, strict=True))
        stack.s3.put_object(Bucket=stack.artifacts_bucket, Key=f"{PREFIX}test-{index}.csv.out", Body=body)


def test_metrics_on_known_scores_match_scikit_learn(stack: Stack, context: FakeContext) -> None:
    # Given the transform output of a model on ten known rows
    _write_transform_output(stack, LABELS, SCORES)
    # When the Evaluate step runs with the sample payload
    result = app.lambda_handler(SAMPLE, context)
    # Then every metric equals scikit-learn's on the same rows, and the gate reads the configured one
    predicted = [1 if s >= 0.5 else 0 for s in SCORES]
    expected = {
        "auc": roc_auc_score(LABELS, SCORES),
        "accuracy": accuracy_score(LABELS, predicted),
        "precision": precision_score(LABELS, predicted),
        "recall": recall_score(LABELS, predicted),
        "f1": f1_score(LABELS, predicted),
        "logloss": log_loss(LABELS, SCORES),
    }
    for name, value in expected.items():
        assert math.isclose(result["metrics"][name], value, abs_tol=1e-6), name
    assert result["rows"] == 10
    assert result["metric"] == "auc" and result["value"] == pytest.approx(0.88)
    assert result["passed"] is False  # 0.88 < 0.9


def test_gate_passes_at_or_above_threshold_and_flips_for_logloss(stack: Stack, context: FakeContext) -> None:
    _write_transform_output(stack, LABELS, SCORES)
    assert app.lambda_handler({**SAMPLE, "threshold": 0.88}, context)["passed"] is True
    assert app.lambda_handler({**SAMPLE, "metric": "logloss", "threshold": 0.6}, context)["passed"] is True
    assert app.lambda_handler({**SAMPLE, "metric": "logloss", "threshold": 0.3}, context)["passed"] is False


def test_missing_output_is_a_named_error(stack: Stack, context: FakeContext) -> None:
    with pytest.raises(EvaluationDataError, match=r"no \.out files under s3://"):
        app.lambda_handler(SAMPLE, context)


def test_malformed_line_names_the_file_and_line(stack: Stack, context: FakeContext) -> None:
    stack.s3.put_object(Bucket=stack.artifacts_bucket, Key=f"{PREFIX}test.csv.out", Body=b"1,0.9\n0,0.1,7\n")
    with pytest.raises(EvaluationDataError, match=r"test.csv.out line 2: expected 'label,score', got 3 fields"):
        app.lambda_handler(SAMPLE, context)


def test_one_class_only_cannot_be_evaluated(stack: Stack, context: FakeContext) -> None:
    _write_transform_output(stack, [1, 1, 1, 1], [0.9, 0.8, 0.7, 0.6])
    with pytest.raises(EvaluationDataError, match="one class only"):
        app.lambda_handler(SAMPLE, context)


def test_bad_payload_is_an_evaluation_error_the_state_machine_catches(stack: Stack, context: FakeContext) -> None:
    with pytest.raises(EvaluationDataError, match="invalid evaluation request"):
        app.lambda_handler({"metric": "auc"}, context)
