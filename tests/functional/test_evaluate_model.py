"""evaluate_model's handler on the stack's artifacts bucket in moto: both models' transform output read from S3.

The gate arithmetic on fakes is in tests/unit/test_evaluation.py.
"""

from __future__ import annotations

import math

import pytest
from sklearn.metrics import accuracy_score, f1_score, log_loss, precision_score, recall_score, roc_auc_score

from functions.evaluate_model import app
from retrainer.errors import EvaluationDataError
from tests.aws_stack import Stack
from tests.samples import FakeContext, load_event

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


def test_missing_output_is_a_named_error(stack: Stack, context: FakeContext) -> None:
    # Given no transform output; When evaluated; Then a named error the state machine catches
    with pytest.raises(EvaluationDataError, match=r"no \.out files under s3://"):
        app.lambda_handler(SAMPLE, context)


def test_bad_payload_is_an_evaluation_error_the_state_machine_catches(stack: Stack, context: FakeContext) -> None:
    # Given a payload without its fields; When evaluated; Then a named error
    with pytest.raises(EvaluationDataError, match="invalid evaluation request"):
        app.lambda_handler({"metric": "auc"}, context)


CHAMPION_PREFIX = "runs/churn/churn-5d41402abc4b/evaluation-champion/"


def _write_champion_output(stack: Stack, labels: list[int], scores: list[float]) -> dict[str, object]:
    body = "".join(f"{label},{score}\n" for label, score in zip(labels, scores, strict=True))
    stack.s3.put_object(Bucket=stack.artifacts_bucket, Key=f"{CHAMPION_PREFIX}test.csv.out", Body=body)
    return {"evaluated": True, "output": f"s3://{stack.artifacts_bucket}/{CHAMPION_PREFIX}", "reason": ""}


def test_challenger_must_not_trail_the_champion_by_more_than_the_margin(stack: Stack, context: FakeContext) -> None:
    # Given the challenger's known scores (AUC 0.88) and a champion scoring the same rows perfectly (AUC 1.0)
    _write_transform_output(stack, LABELS, SCORES)
    perfect = [0.9 if label else 0.1 for label in LABELS]
    champion = _write_champion_output(stack, LABELS, perfect)
    # When both are evaluated with a threshold the challenger clears
    result = app.lambda_handler({**SAMPLE, "threshold": 0.8, "champion": champion}, context)
    # Then the gate fails on the comparison, with both metric sets and the reason
    assert result["passed"] is False
    assert result["champion"]["metrics"]["auc"] == 1.0 and result["metrics"]["auc"] == pytest.approx(0.88)
    assert result["gain"] == pytest.approx(-0.12)
    assert "champion auc 1.0000, gain -0.1200 (at least -0.0050 needed: FAILED)" in result["verdict"]


def test_the_evaluation_report_is_written_for_the_registry(stack: Stack, context: FakeContext) -> None:
    # Given a report location; When evaluated; Then both models' metrics and the verdict are written there
    import json

    _write_transform_output(stack, LABELS, SCORES)
    report = f"s3://{stack.artifacts_bucket}/runs/churn/churn-5d41402abc4b/evaluation-report.json"
    result = app.lambda_handler({**SAMPLE, "report_uri": report}, context)
    key = report.split("/", 3)[3]
    written = json.loads(stack.s3.get_object(Bucket=stack.artifacts_bucket, Key=key)["Body"].read())
    assert written["metrics"] == result["metrics"] and written["verdict"] == result["verdict"]
