"""The recent window (issue 15 item 3): Preprocess writes the feedback files' test rows as test-raw/recent.csv,
Evaluate scores both models on them beside the holdout and gates on them when there are enough, and the
notices and `retrainer runs show` print both side by side."""

from __future__ import annotations

import ast
import json
import math
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, f1_score, log_loss, precision_score, recall_score, roc_auc_score

from retrainer.services.evaluation import MIN_RECENT_ROWS, RECENT_TEST_FILE, EvaluationResult, evaluate, parse_request
from retrainer_jobs import preprocess
from retrainer_jobs.data_checks import Rules
from retrainer_offline.commands import runs as run_commands
from retrainer_offline.sample_data import churn
from tests.fakes import FakeObjects
from tests.samples import ROOT, load_event
from tests.unit.test_run_commands import printed

RULES = Rules(target="churned", positive_label="Yes")
FEEDBACK = "feedback/2026-12-01-10.csv"


# ------------------------------------------------------------------------------------------------ preprocess
def _folder(tmp_path: Path, feedback_rows: int = 0) -> Path:
    """A model's folder: an upload, and the model-quality runs' labelled traffic when `feedback_rows`."""
    folder = tmp_path / "churn"
    churn.write_csv(churn.table(600, seed=3), folder / "upload.csv")
    if feedback_rows:
        traffic = churn.table(feedback_rows, seed=11, drift=1.0)
        traffic["customer_id"] = [f"traffic-{i}" for i in range(feedback_rows)]
        churn.write_csv(traffic, folder / FEEDBACK)
    return folder


def _raw(path: Path) -> list[str]:
    return path.read_text().splitlines()


def test_feedback_rows_of_the_test_split_are_written_again_as_the_recent_window(tmp_path: Path) -> None:
    # Given a model's folder with an upload and 400 rows of labelled traffic in feedback/
    folder = _folder(tmp_path, feedback_rows=400)

    # When Preprocess runs on the folder (split by id)
    document = preprocess.run(folder, tmp_path / "out", RULES, id_column="customer_id")

    # Then test-raw/ holds the holdout and recent.csv: the traffic's test rows, in the holdout's layout
    raw = tmp_path / "out" / "test-raw"
    assert sorted(p.name for p in raw.iterdir()) == [RECENT_TEST_FILE, "test.csv"]
    recent, holdout = _raw(raw / RECENT_TEST_FILE), _raw(raw / "test.csv")
    splits = pd.read_csv(tmp_path / "out" / "schema" / "row-splits.csv")
    upload = pd.read_csv(folder / "upload.csv")
    traffic_test = int((splits["split"].iloc[:400] == "test").sum())  # read in path order: feedback/ first
    assert len(recent) == traffic_test > 20 and set(recent) <= set(holdout)  # the holdout keeps every test row
    # ... no recent row is trained on: train and validation are the other splits' rows
    trained = sum(1 for name in ("train", "validation") for _ in _raw(tmp_path / "out" / name / f"{name}.csv"))
    assert trained + len(holdout) == len(upload) + 400
    # ... and the schema counts the window and names the feedback it came from
    assert document["recent_window"]["rows"] == len(recent)
    assert document["recent_window"]["files"] == [FEEDBACK] and document["recent_window"]["feedback_files"] == 1
    assert json.loads((tmp_path / "out" / "schema" / "schema.json").read_text()) == document


def test_the_recent_window_is_the_newest_weeks_feedback_older_traffic_stays_in_the_holdout(tmp_path: Path) -> None:
    # Given feedback of a day-long window and of an hour a month before it
    folder = _folder(tmp_path, feedback_rows=400)
    (folder / FEEDBACK).rename(folder / "feedback" / "2026-11-01-10.csv")
    newest = churn.table(300, seed=12, drift=1.0)
    newest["customer_id"] = [f"newest-{i}" for i in range(300)]
    churn.write_csv(newest, folder / "feedback" / "2026-12-01-0000--2026-12-02-0000.csv")

    # When Preprocess runs
    document = preprocess.run(folder, tmp_path / "out", RULES, id_column="customer_id")

    # Then the recent window is the newest file's test rows; the month-old ones are in the holdout only
    splits = pd.read_csv(tmp_path / "out" / "schema" / "row-splits.csv")["split"]
    newest_test = int((splits.iloc[400:700] == "test").sum())  # path order: 2026-11-01-10, then 2026-12-01-...
    recent = _raw(tmp_path / "out" / "test-raw" / RECENT_TEST_FILE)
    assert document["recent_window"]["files"] == ["feedback/2026-12-01-0000--2026-12-02-0000.csv"]
    assert len(recent) == document["recent_window"]["rows"] == newest_test
    assert document["recent_window"]["feedback_files"] == 2
    assert len(_raw(tmp_path / "out" / "test-raw" / "test.csv")) == int((splits == "test").sum())


def test_without_feedback_the_outputs_are_the_ones_a_model_always_had(tmp_path: Path) -> None:
    # Given a folder without feedback; When Preprocess runs
    document = preprocess.run(_folder(tmp_path), tmp_path / "out", RULES, id_column="customer_id")

    # Then there is no recent file and no recent_window in the schema: the same files, keys and rows as before
    written = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert written == [
        "encoder/model.tar.gz",
        "schema/row-splits.csv",
        "schema/schema.json",
        "test-raw/test.csv",
        "test/test.csv",
        "train/train.csv",
        "validation/validation.csv",
    ]
    assert "recent_window" not in document


def test_the_holdout_is_the_same_with_and_without_the_recent_file(tmp_path: Path) -> None:
    # Given the same folder preprocessed with feedback
    preprocess.run(_folder(tmp_path, feedback_rows=400), tmp_path / "with", RULES, id_column="customer_id")
    (tmp_path / "churn" / FEEDBACK).unlink()
    # When the feedback is gone and Preprocess runs again
    preprocess.run(tmp_path / "churn", tmp_path / "without", RULES, id_column="customer_id")
    # Then the upload's test rows are the same in both holdouts (the window adds rows; it takes none away)
    with_feedback, without = (_raw(tmp_path / run / "test-raw" / "test.csv") for run in ("with", "without"))
    assert set(without) <= set(with_feedback)


def test_the_preprocessing_job_still_parses_as_python_3_9() -> None:
    for path in (ROOT / "sagemaker_jobs" / "retrainer_jobs").glob("*.py"):
        ast.parse(path.read_text(), feature_version=(3, 9))


def test_the_job_and_evaluate_name_the_recent_file_alike() -> None:
    assert preprocess.RECENT_FILE == RECENT_TEST_FILE


# ------------------------------------------------------------------------------------------------ evaluate
SAMPLE = load_event("evaluate_model.json")
BUCKET = SAMPLE["transform_output"].removeprefix("s3://").split("/", 1)[0]
OURS = "runs/churn/churn-5d41402abc4b/evaluation/"
THEIRS = "runs/churn/churn-5d41402abc4b/evaluation-champion/"
HOLDOUT = [1, 0, 1, 1, 0, 0, 1, 0, 1, 0]
HOLDOUT_CHALLENGER = [0.9, 0.1, 0.8, 0.4, 0.3, 0.6, 0.7, 0.2, 0.55, 0.45]  # auc 0.88
HOLDOUT_CHAMPION = [0.85, 0.15, 0.75, 0.35, 0.3, 0.6, 0.7, 0.2, 0.55, 0.45]  # auc 0.88 too
RNG = np.random.default_rng(5)
RECENT = [int(v) for v in RNG.integers(0, 2, 60)]
RECENT_GOOD = [float(np.clip(0.35 * y + 0.65 * RNG.random(), 0, 1)) for y in RECENT]  # knows the new traffic
RECENT_POOR = [float(RNG.random()) for _ in RECENT]  # guesses


def _lines(labels: list[int], scores: list[float]) -> bytes:
    return "".join(f"{label},{score}\n" for label, score in zip(labels, scores, strict=True)).encode()


def _scored(
    recent: tuple[list[int], list[float], list[float]] | None, champion: bool = True
) -> tuple[FakeObjects, dict[str, object]]:
    """Both transforms' outputs: the holdout's `test.csv.out` and, when given, the recent window's."""
    objects = FakeObjects()
    objects.put(BUCKET, f"{OURS}test.csv.out", _lines(HOLDOUT, HOLDOUT_CHALLENGER))
    objects.put(BUCKET, f"{THEIRS}test.csv.out", _lines(HOLDOUT, HOLDOUT_CHAMPION))
    if recent is not None:
        labels, ours, theirs = recent
        objects.put(BUCKET, f"{OURS}recent.csv.out", _lines(labels, ours))
        objects.put(BUCKET, f"{THEIRS}recent.csv.out", _lines(labels, theirs))
    scoring = {"evaluated": champion, "output": f"s3://{BUCKET}/{THEIRS}" if champion else "", "reason": "first"}
    return objects, scoring


def _evaluate(objects: FakeObjects, champion: dict[str, object], **overrides: object) -> EvaluationResult:
    request = {**SAMPLE, "threshold": 0.8, "champion": champion, **overrides}
    return evaluate(parse_request(request), objects, max_rows=1_000, writer=objects)


def _sklearn(labels: list[int], scores: list[float]) -> dict[str, float]:
    predicted = [1 if s >= 0.5 else 0 for s in scores]
    return {
        "auc": roc_auc_score(labels, scores),
        "accuracy": accuracy_score(labels, predicted),
        "precision": precision_score(labels, predicted),
        "recall": recall_score(labels, predicted),
        "f1": f1_score(labels, predicted),
        "logloss": log_loss(labels, scores),
    }


def test_both_models_are_scored_on_the_recent_window_beside_the_holdout_as_scikit_learn_would(
    tmp_path: Path,
) -> None:
    # Given both transforms' outputs of the holdout and of 60 recent rows, the challenger better on those
    objects, champion = _scored((RECENT, RECENT_GOOD, RECENT_POOR))

    # When evaluated
    result = _evaluate(objects, champion)

    # Then the holdout is the holdout alone (10 rows, not 70) and the recent window has both models' metrics
    assert result.rows == 10 and result.metrics["auc"] == pytest.approx(0.88)
    assert result.recent is not None and result.recent.rows == 60
    assert result.recent.challenger is not None and result.recent.champion is not None
    for model, scores in ((result.recent.challenger, RECENT_GOOD), (result.recent.champion, RECENT_POOR)):
        for name, value in _sklearn(RECENT, scores).items():
            assert math.isclose(model.metrics[name], value, abs_tol=1e-6), name
    gain = result.recent.challenger.metrics["auc"] - result.recent.champion.metrics["auc"]
    assert result.recent.gain == pytest.approx(gain, abs=1e-6) and gain > 0.2
    # ... and both are reported side by side, challenger first
    good, poor = (roc_auc_score(RECENT, s) for s in (RECENT_GOOD, RECENT_POOR))
    assert result.side_by_side == (
        f"holdout auc 0.8800 vs 0.8800; recent (labelled traffic, 60 rows) auc {good:.4f} vs {poor:.4f}"
    )
    assert result.passed is True and result.recent.gated is True
    assert "recent window (60 rows of labelled traffic): challenger auc" in result.verdict
    assert "needed: ok" in result.verdict.split("recent window")[1]


def test_a_challenger_worse_than_the_champion_on_the_recent_window_is_rejected() -> None:
    # Given a challenger as good as the champion on the holdout but far worse on the newest labelled rows
    objects, champion = _scored((RECENT, RECENT_POOR, RECENT_GOOD))

    # When gated
    result = _evaluate(objects, champion)

    # Then the gate fails, and the verdict says it was the recent window
    assert result.gain == 0.0 and result.passed is False
    assert result.recent is not None and result.recent.gated and not result.recent.passed
    assert result.verdict.endswith("(at least -0.0050 needed: FAILED)")
    # ... while a looser margin lets it through
    assert _evaluate(objects, champion, min_gain_over_champion=-0.6).passed is True


@pytest.mark.parametrize(
    ("recent", "champion", "note"),
    [
        ((RECENT[:20], RECENT_POOR[:20], RECENT_GOOD[:20]), True, f"fewer than {MIN_RECENT_ROWS} recent rows"),
        (([1] * 40, RECENT_POOR[:40], RECENT_GOOD[:40]), True, "hold one class only: not scored"),
        ((RECENT, RECENT_POOR, RECENT_GOOD), False, "no champion scored the recent rows"),
    ],
    ids=["too few rows", "one class", "no champion"],
)
def test_a_window_too_small_of_one_class_or_without_champion_is_reported_not_gated(
    recent: tuple[list[int], list[float], list[float]], champion: bool, note: str
) -> None:
    # Given a recent window the gate cannot judge on, and a challenger worse there
    objects, scoring = _scored(recent, champion=champion)
    # When gated
    result = _evaluate(objects, scoring)
    # Then the window is reported with why it did not count, and the holdout alone decides
    assert result.recent is not None and result.recent.gated is False and note in result.recent.note
    assert note in result.verdict and result.passed is True
    assert result.side_by_side.startswith("holdout auc 0.8800") and f"{len(recent[0])} rows" in result.side_by_side


def test_a_champion_that_scored_other_recent_rows_is_not_compared() -> None:
    objects, champion = _scored((RECENT, RECENT_POOR, RECENT_GOOD))
    objects.put(BUCKET, f"{THEIRS}recent.csv.out", _lines(RECENT[:50], RECENT_GOOD[:50]))
    result = _evaluate(objects, champion)
    assert result.recent is not None and result.recent.champion is None and result.passed is True
    assert "did not score the same recent rows" in result.verdict


def test_without_feedback_the_evaluation_reads_as_before() -> None:
    # Given only the holdout's outputs; When evaluated; Then no recent window, and the verdict is the holdout's
    objects, champion = _scored(None)
    result = _evaluate(objects, champion)
    assert result.recent is None and result.side_by_side == "holdout auc 0.8800 vs 0.8800"
    assert "recent" not in result.verdict and result.verdict.endswith("needed: ok)")


# ------------------------------------------------------------------------------------------------ what people read
def test_the_deployed_and_rejected_notices_lead_with_both_scores_side_by_side() -> None:
    # Given the rendered state machine (test_state_machine_definition keeps it the current render)
    states = json.loads((ROOT / "statemachines" / "retraining.asl.json").read_text())["States"]
    headlines = json.dumps(states)
    # Then the deployed and the rejected notice's headline put the side-by-side scores before the gate's verdict
    assert "'{} is live on {}: {}; {}', $.run_id, $.endpoint_name, $.evaluation.side_by_side" in headlines
    assert "'{} rejected by the quality gate: {}; {}', $.run_id, $.evaluation.side_by_side" in headlines


def test_runs_show_prints_the_holdout_and_the_recent_window_side_by_side() -> None:
    # Given a finished run whose evaluation scored both models on the holdout and on labelled traffic
    side_by_side = "holdout auc 0.9700 vs 0.9600; recent (labelled traffic, 60 rows) auc 0.9100 vs 0.7200"
    description = {
        "name": "churn-abc",
        "status": "SUCCEEDED",
        "startDate": datetime(2026, 12, 1, 10, tzinfo=UTC),
        "stopDate": datetime(2026, 12, 1, 10, 1, tzinfo=UTC),
        "input": json.dumps({"model_name": "churn", "trigger": {"kind": "quality_alarm", "source": "alarm"}}),
    }
    evaluation = {"metric": "auc", "value": 0.97, "champion_value": 0.96, "verdict": "ok", "side_by_side": side_by_side}

    # When `retrainer runs show` prints it
    summary = run_commands.summarize(description, {"evaluation": evaluation})
    shown = printed(run_commands.print_detail, run_commands.RunDetail(summary=summary))

    # Then both scores are there side by side
    assert f"challenger vs champion: {side_by_side}" in shown
