"""The gate's side of the input contract (issue 11): schema compatibility, test rows each model has
seen, no identical retrains, and a first-model threshold that does not refuse ordinary models."""

from __future__ import annotations

import json
from typing import Any

from retrainer.pipeline_config import PipelineConfig
from retrainer.services.evaluation import handle
from tests.fakes import FakeObjects

BUCKET = "artifacts"
RUN = "runs/churn/churn-new/preprocessed"
CHAMPION_RUN = "runs/churn/churn-old/preprocessed"
CHAMPION_MODEL = f"s3://{BUCKET}/{CHAMPION_RUN}/encoder/model.tar.gz"
COLUMNS = [
    {"name": "tenure", "type": "numeric"},
    {"name": "plan", "type": "categorical", "categories": ["basic", "pro"]},
    {"name": "paperless", "type": "boolean"},
]
LABELS = [1, 0, 1, 1, 0, 0, 1, 0, 1, 0]
SCORES = [0.9, 0.1, 0.8, 0.4, 0.3, 0.6, 0.7, 0.2, 0.55, 0.45]  # AUC 0.88


def _schema(columns: list[dict[str, Any]], fingerprint: str) -> bytes:
    return json.dumps({"columns": columns, "fingerprint": fingerprint, "rows": {"train": 7, "test": 1}}).encode()


def _splits(pairs: dict[str, str]) -> bytes:
    return ("key,split\n" + "".join(f"{key},{split}\n" for key, split in pairs.items())).encode()


def _world(
    champion_columns: list[dict[str, Any]] | None = None, champion_splits: dict[str, str] | None = None
) -> FakeObjects:
    objects = FakeObjects()
    objects.put(BUCKET, f"{RUN}/schema/schema.json", _schema(COLUMNS, "f-new"))
    objects.put(
        BUCKET, f"{RUN}/schema/row-splits.csv", _splits({"a": "train", "b": "validation", "c": "test", "d": "test"})
    )
    objects.put(BUCKET, f"{CHAMPION_RUN}/schema/schema.json", _schema(champion_columns or COLUMNS, "f-old"))
    objects.put(
        BUCKET,
        f"{CHAMPION_RUN}/schema/row-splits.csv",
        _splits(champion_splits or {"a": "train", "b": "validation", "c": "test"}),
    )
    for output in ("evaluation", "evaluation-champion"):
        body = "".join(f"{label},{score}\n" for label, score in zip(LABELS, SCORES, strict=True))
        objects.put(BUCKET, f"runs/churn/churn-new/{output}/test.csv.out", body.encode())
    return objects


def _evaluate(objects: FakeObjects, **changes: Any) -> dict[str, Any]:
    request = {
        "transform_output": f"s3://{BUCKET}/runs/churn/churn-new/evaluation",
        "metric": "auc",
        "threshold": 0.7,
        "champion": {"evaluated": True, "output": f"s3://{BUCKET}/runs/churn/churn-new/evaluation-champion"},
        "schema_uri": f"s3://{BUCKET}/{RUN}/schema/schema.json",
        "row_splits_uri": f"s3://{BUCKET}/{RUN}/schema/row-splits.csv",
        "champion_model_data_url": CHAMPION_MODEL,
        **changes,
    }
    return handle(request, objects, max_rows=1000)


def test_a_challenger_that_removes_or_retypes_a_champion_column_is_rejected_and_says_why() -> None:
    # Given a champion whose clients send a `region` column and read `paperless` as a number
    champion = [*COLUMNS[:2], {"name": "paperless", "type": "numeric"}, {"name": "region", "type": "categorical"}]
    # When a challenger without `region` and with a boolean `paperless` is evaluated
    result = _evaluate(_world(champion))
    # Then it is rejected although its metrics pass, and the verdict names both changes
    assert result["passed"] is False
    assert result["schema_changes"] == [
        "column 'paperless' changed from numeric to boolean",
        "column 'region' removed",
    ]
    assert "breaks the champion's clients" in result["verdict"] and "allow_schema_change" in result["verdict"]


def test_allow_schema_change_lets_the_challenger_through_and_the_verdict_says_so() -> None:
    # Given the same incompatible challenger, with the model's configuration allowing it
    champion = [*COLUMNS, {"name": "region", "type": "categorical"}]
    result = _evaluate(_world(champion), allow_schema_change=True)
    # Then it passes, and the verdict still tells what changed
    assert result["passed"] is True
    assert "column 'region' removed (allowed by allow_schema_change)" in result["verdict"]


def test_a_new_column_or_category_keeps_the_champions_clients_working() -> None:
    # Given a challenger that adds a column the champion did not have
    objects = _world(COLUMNS[:2])
    # When it is evaluated; Then nothing the champion's clients send is broken
    result = _evaluate(objects)
    assert result["schema_changes"] == [] and result["passed"] is True


def test_the_evaluation_reports_how_many_test_rows_each_model_was_trained_on() -> None:
    # Given a champion that split rows as this run did (a, b trained; c in test)
    result = _evaluate(_world())
    # Then neither model has seen a test row
    assert result["test_rows_seen"]["challenger"] == 0 and result["test_rows_seen"]["champion"] == 0
    # Given a champion that trained on `c` and `d`, now this run's test rows
    leaky = _evaluate(_world(champion_splits={"a": "train", "c": "train", "d": "validation"}))
    # Then the report counts them
    assert leaky["test_rows_seen"]["champion"] == 2


def test_a_run_on_the_champions_data_and_settings_has_nothing_new_to_learn() -> None:
    # Given a champion run that recorded its training data and settings
    objects = _world()
    request = {
        "action": "check_new_data",
        "schema_uri": f"s3://{BUCKET}/{CHAMPION_RUN}/schema/schema.json",
        "hyperparameters": {"num_round": "100"},
        "preprocess_arguments": ["--target-column", "churned"],
    }
    assert handle(request, objects, max_rows=1000)["new_data"] is True  # the first model: nothing to compare
    # When a run on the same rows with the same settings is checked
    objects.put(BUCKET, f"{RUN}/schema/schema.json", _schema(COLUMNS, "f-old"))
    same = {
        **request,
        "schema_uri": f"s3://{BUCKET}/{RUN}/schema/schema.json",
        "champion_model_data_url": CHAMPION_MODEL,
    }
    result = handle(same, objects, max_rows=1000)
    # Then there is nothing new to learn, and the note says what to upload
    assert result["new_data"] is False and "upload new or corrected rows" in result["note"]
    # Given the model's configuration asks to retrain anyway; Then it trains
    forced = handle({**same, "retrain_unchanged": True}, objects, max_rows=1000)
    assert forced["new_data"] is True and "retrain_unchanged" in forced["note"]
    # Given other hyperparameters on the same rows; Then it trains (another model)
    assert handle({**same, "hyperparameters": {"num_round": "10"}}, objects, max_rows=1000)["new_data"] is True
    # Given other rows; Then it trains
    objects.put(BUCKET, f"{RUN}/schema/schema.json", _schema(COLUMNS, "f-new"))
    assert handle(same, objects, max_rows=1000)["new_data"] is True
    # Given a champion from before the input contract (one XGBoost container); Then it trains
    older = {**same, "champion_model_data_url": "s3://artifacts/models/churn/job/output/model.tar.gz"}
    assert handle(older, objects, max_rows=1000)["new_data"] is True


def test_the_default_first_model_gate_accepts_an_ordinary_model() -> None:
    # Given the default configuration and a first model of AUC 0.85 (the churn model)
    threshold = PipelineConfig().threshold
    objects = _world()
    body = "".join(f"{label},{score}\n" for label, score in zip(LABELS, SCORES, strict=True))
    objects.put(BUCKET, "runs/churn/churn-new/evaluation/test.csv.out", body.encode())
    # When it is gated with no champion
    result = _evaluate(objects, threshold=threshold, champion={"evaluated": False}, champion_model_data_url="")
    # Then it is deployed (0.88 >= 0.7), and a constant model (AUC 0.5) would not be
    assert result["passed"] is True and threshold == 0.7
    assert threshold > 0.5
