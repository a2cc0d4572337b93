"""Evaluate's arithmetic on FakeObjects: metrics from `label,score` lines, the quality gate, the champion margin.

The handler reading the transform output from S3 is in tests/functional/test_evaluate_model.py.
"""

from __future__ import annotations

import json
import math

import pytest
from sklearn.metrics import accuracy_score, f1_score, log_loss, precision_score, recall_score, roc_auc_score

from retrainer.errors import EvaluationDataError
from retrainer.services.evaluation import EvaluationResult, evaluate, parse_request
from tests.fakes import FakeObjects
from tests.samples import load_event

SAMPLE = load_event("evaluate_model.json")
BUCKET = SAMPLE["transform_output"].removeprefix("s3://").split("/", 1)[0]
PREFIX = "runs/churn/churn-5d41402abc4b/evaluation/"
CHAMPION_PREFIX = "runs/churn/churn-5d41402abc4b/evaluation-champion/"
LABELS = [1, 0, 1, 1, 0, 0, 1, 0, 1, 0]
SCORES = [0.9, 0.1, 0.8, 0.4, 0.3, 0.6, 0.7, 0.2, 0.55, 0.45]
MAX_ROWS = 1_000


def _lines(labels: list[int], scores: list[float]) -> bytes:
    return "".join(f"{label},{score}\n" for label, score in zip(labels, scores, strict=True)).encode()


@pytest.fixture
def objects() -> FakeObjects:
    """Given the challenger's transform output on ten known rows, in two objects (a split written in two files)."""
    objects = FakeObjects()
    objects.put(BUCKET, f"{PREFIX}test-0.csv.out", _lines(LABELS[:5], SCORES[:5]))
    objects.put(BUCKET, f"{PREFIX}test-1.csv.out", _lines(LABELS[5:], SCORES[5:]))
    return objects


def _champion(objects: FakeObjects, scores: list[float]) -> dict[str, object]:
    objects.put(BUCKET, f"{CHAMPION_PREFIX}test.csv.out", _lines(LABELS, scores))
    return {"evaluated": True, "output": f"s3://{BUCKET}/{CHAMPION_PREFIX}", "reason": ""}


def _evaluate(objects: FakeObjects, **overrides: object) -> EvaluationResult:
    return evaluate(parse_request({**SAMPLE, **overrides}), objects, max_rows=MAX_ROWS, writer=objects)


def test_metrics_on_known_scores_match_scikit_learn(objects: FakeObjects) -> None:
    # When the challenger is evaluated with the sample payload
    result = _evaluate(objects)
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
        assert math.isclose(result.metrics[name], value, abs_tol=1e-6), name
    assert result.rows == 10 and result.metric == "auc" and result.value == pytest.approx(0.88)
    assert result.passed is False  # 0.88 < 0.9


def test_gate_passes_at_or_above_threshold_and_flips_for_logloss(objects: FakeObjects) -> None:
    # Given a challenger with AUC 0.88 (logloss ~0.46)
    # When gated at different thresholds
    # Then it passes at or above them (at or below, for logloss)
    assert _evaluate(objects, threshold=0.88).passed is True
    assert _evaluate(objects, threshold=0.881).passed is False
    assert _evaluate(objects, metric="logloss", threshold=0.6).passed is True
    assert _evaluate(objects, metric="logloss", threshold=0.3).passed is False


def test_missing_output_is_a_named_error() -> None:
    # Given no transform output; When evaluated; Then a named error the state machine catches
    with pytest.raises(EvaluationDataError, match=r"no \.out files under s3://"):
        _evaluate(FakeObjects())


def test_malformed_line_names_the_file_and_line() -> None:
    # Given a line with three fields
    objects = FakeObjects({(BUCKET, f"{PREFIX}test.csv.out"): b"1,0.9\n0,0.1,7\n"})
    # When evaluated; Then the error names the file and the line
    with pytest.raises(EvaluationDataError, match=r"test.csv.out line 2: expected 'label,score', got 3 fields"):
        _evaluate(objects)


def test_one_class_only_cannot_be_evaluated() -> None:
    # Given labels of one class only; When evaluated; Then AUC cannot be computed: a named error
    objects = FakeObjects({(BUCKET, f"{PREFIX}test.csv.out"): _lines([1, 1, 1, 1], [0.9, 0.8, 0.7, 0.6])})
    with pytest.raises(EvaluationDataError, match="one class only"):
        _evaluate(objects)


def test_more_rows_than_allowed_is_a_named_error(objects: FakeObjects) -> None:
    # Given a limit below the ten rows written; When evaluated; Then a named error, not an out-of-memory Lambda
    with pytest.raises(EvaluationDataError, match="more than 5 rows"):
        evaluate(parse_request(SAMPLE), objects, max_rows=5)


def test_bad_payload_is_an_evaluation_error_the_state_machine_catches() -> None:
    # Given a payload without its fields; When parsed; Then a named error
    with pytest.raises(EvaluationDataError, match="invalid evaluation request"):
        parse_request({"metric": "auc"})


def test_challenger_must_not_trail_the_champion_by_more_than_the_margin(objects: FakeObjects) -> None:
    # Given the challenger's known scores (AUC 0.88) and a champion scoring the same rows perfectly (AUC 1.0)
    champion = _champion(objects, [0.9 if label else 0.1 for label in LABELS])
    # When both are evaluated with a threshold the challenger clears
    result = _evaluate(objects, threshold=0.8, champion=champion)
    # Then the gate fails on the comparison, with both metric sets and the reason
    assert result.passed is False
    assert result.champion is not None and result.champion.metrics["auc"] == 1.0
    assert result.metrics["auc"] == pytest.approx(0.88) and result.gain == pytest.approx(-0.12)
    assert "champion auc 1.0000, gain -0.1200 (at least -0.0050 needed: FAILED)" in result.verdict


def test_a_challenger_as_good_as_the_champion_within_the_margin_passes(objects: FakeObjects) -> None:
    # Given both models scoring the same; When gated; Then the challenger passes with no gain
    champion = _champion(objects, SCORES)
    result = _evaluate(objects, threshold=0.8, champion=champion)
    assert result.passed is True and result.gain == 0.0
    # And a stricter margin (the challenger must be better) rejects the tie
    assert _evaluate(objects, threshold=0.8, champion=champion, min_gain_over_champion=0.01).passed is False


def test_for_logloss_the_lower_challenger_gains(objects: FakeObjects) -> None:
    # Given a champion with a higher logloss; When gated on logloss; Then the challenger's gain is positive
    champion = _champion(objects, [0.6 if label else 0.4 for label in LABELS])
    result = _evaluate(objects, metric="logloss", threshold=1.0, champion=champion)
    assert result.gain is not None and result.gain > 0 and result.passed is True


def test_a_champion_that_could_not_score_leaves_the_threshold_alone(objects: FakeObjects) -> None:
    # Given a champion that could not score; When gated; Then only the threshold decides
    champion = {"evaluated": False, "output": "", "reason": "the champion could not score the test split: shape"}
    result = _evaluate(objects, threshold=0.8, champion=champion)
    assert result.passed is True and result.champion is None
    assert "no champion comparison: the champion could not score the test split" in result.verdict


def test_a_champion_scored_on_other_rows_is_not_compared(objects: FakeObjects) -> None:
    # Given a champion output with fewer rows than the challenger's (not the same split)
    objects.put(BUCKET, f"{CHAMPION_PREFIX}test.csv.out", _lines(LABELS[:4], SCORES[:4]))
    champion = {"evaluated": True, "output": f"s3://{BUCKET}/{CHAMPION_PREFIX}", "reason": ""}
    # When gated; Then the comparison is skipped and says why
    result = _evaluate(objects, threshold=0.8, champion=champion)
    assert result.champion is None and "the champion scored 4 rows, the challenger 10" in result.verdict


def test_the_evaluation_report_is_written_for_the_registry(objects: FakeObjects) -> None:
    # Given a report location; When evaluated; Then both models' metrics and the verdict are written there
    result = _evaluate(objects, report_uri=f"s3://{BUCKET}/runs/churn/churn-5d41402abc4b/evaluation-report.json")
    written = json.loads(objects.objects[(BUCKET, "runs/churn/churn-5d41402abc4b/evaluation-report.json")])
    assert written["metrics"] == result.metrics and written["verdict"] == result.verdict
    assert written["run_id"] == SAMPLE["run_id"]
