"""Raw rows in: the feature model Preprocess writes (code/inference.py + encoder.json) turns what a client
sends into the features the XGBoost model was trained on, through the SageMaker inference handlers."""

from __future__ import annotations

import importlib.util
import io
import json
import tarfile
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pytest
import xgboost

from retrainer_jobs import preprocess
from retrainer_offline.sagemaker.serving import XGBoostServer
from retrainer_offline.sample_data import churn

COLUMNS = ["tenure_months", "monthly_charges", "contract", "payment_method", "paperless_billing", "senior"]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One preprocessing run, its feature model extracted as SageMaker does (/opt/ml/model), its script
    imported from the artifact (not from the repository), and an XGBoost model trained on its files."""
    root = tmp_path_factory.mktemp("served")
    churn.write_csv(churn.table(1500, seed=9), root / "input" / "a.csv")
    code = preprocess.main(
        [
            "--input-dir",
            str(root / "input"),
            "--output-dir",
            str(root / "output"),
            "--target-column",
            "churned",
            "--id-column",
            "customer_id",
            "--positive-label",
            "Yes",
        ]
    )
    assert code == 0
    model_dir = root / "opt" / "ml" / "model"
    with tarfile.open(root / "output" / "encoder" / "model.tar.gz") as tar:
        tar.extractall(model_dir, filter="data")
    spec = importlib.util.spec_from_file_location("served_inference", model_dir / "code" / "inference.py")
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    train = np.loadtxt(root / "output" / "train" / "train.csv", delimiter=",", ndmin=2)
    booster = xgboost.train(
        {"objective": "binary:logistic", "max_depth": 3}, xgboost.DMatrix(train[:, 1:], label=train[:, 0]), 20
    )
    return {
        "script": script,
        "model": script.model_fn(str(model_dir)),
        "root": root,
        "booster": booster,
        "test": (root / "output" / "test-raw" / "test.csv").read_text().splitlines(),
    }


def _features(served: dict[str, Any], body: str | bytes, content_type: str, accept: str = "text/csv") -> str:
    script: ModuleType = served["script"]
    prediction = script.predict_fn(script.input_fn(body, content_type), served["model"])
    text, media = script.output_fn(prediction, accept)
    assert media == "text/csv"
    return str(text)


def _widths(features: str) -> set[int]:
    return {len(line.split(",")) for line in features.splitlines()}


def test_raw_rows_get_the_scores_their_training_encoding_gets(served: dict[str, Any]) -> None:
    # Given the raw test rows (label first) and the XGBoost model trained on the encoded train split
    raw = [line.split(",", 1) for line in served["test"]]
    body = "".join(features + "\n" for _, features in raw)
    # When the serial pipeline runs: the feature model, then the XGBoost container on its text/csv output
    features = _features(served, body, "text/csv")
    status, answer, _ = XGBoostServer(served["booster"]).invoke(features.encode(), "text/csv", "text/csv")
    # Then every row is scored, with the scores of encoding those rows as Preprocess encodes training rows
    assert status == 200
    scores = [float(v) for v in answer.decode().split()]
    frame = pd.read_csv(io.StringIO(body), header=None, names=COLUMNS, dtype=str, keep_default_na=False)
    expected = served["booster"].predict(xgboost.DMatrix(served["script"].encode(frame, served["model"])))
    assert len(scores) == len(raw) > 100
    assert np.allclose(scores, expected)
    # ... and the scores a single-container model gets on the encoded test split (today's transforms)
    encoded = np.loadtxt(served["root"] / "output" / "test" / "test.csv", delimiter=",", ndmin=2)
    assert np.allclose(scores, served["booster"].predict(xgboost.DMatrix(encoded[:, 1:])))
    assert [int(label) for label, _ in raw] == encoded[:, 0].astype(int).tolist()


def test_the_training_files_hold_what_serving_computes_for_the_same_rows(served: dict[str, Any]) -> None:
    # Given the uploaded rows that went to the train split
    frame = pd.read_csv(served["root"] / "input" / "a.csv", dtype=str, keep_default_na=False)
    splits = pd.read_csv(served["root"] / "output" / "schema" / "row-splits.csv")
    train_rows = frame[(splits["split"] == "train").to_numpy()]
    # When they are sent raw, as JSON records by name
    records = json.dumps(train_rows.drop(columns=["customer_id", "churned"]).to_dict(orient="records"))
    features = _features(served, records, "application/json")
    # Then the features are byte for byte the training file's (after its label)
    training = (served["root"] / "output" / "train" / "train.csv").read_text().splitlines()
    assert features.splitlines() == [line.split(",", 1)[1] for line in training]


def test_csv_and_json_one_row_or_many_encode_alike(served: dict[str, Any]) -> None:
    row = {"tenure_months": 5, "monthly_charges": 70.5, "contract": "one-year", "payment_method": "card"}
    row |= {"paperless_billing": "Yes", "senior": False}
    csv_row = "5,70.5,one-year,card,Yes,False\n"
    one_json = _features(served, json.dumps(row), "application/json")
    many_json = _features(served, json.dumps([row, row]), "application/json; charset=utf-8")
    one_csv = _features(served, csv_row.encode(), "text/csv")
    with_header = _features(served, ",".join(COLUMNS) + "\n" + csv_row * 2, "text/csv")
    assert one_json == one_csv
    assert many_json == with_header == one_csv * 2
    assert _widths(one_csv) == {len(served["model"]["features"])}


def test_a_new_category_or_blank_cells_keep_the_shape_and_still_score(served: dict[str, Any]) -> None:
    width = len(served["model"]["features"])
    known = _features(served, "5,70.5,one-year,card,Yes,False", "text/csv")
    # Given a payment method never seen in training, blank and NA-like cells, a JSON record missing keys
    new_category = _features(served, "5,70.5,one-year,crypto-wallet,Yes,False", "text/csv")
    blanks = _features(served, "5,,?,,NA,", "text/csv")
    sparse = _features(served, json.dumps({"tenure_months": 5, "region": "north"}), "application/json")
    # Then each is one row of the same width: the unknown category is all zeros, blanks are nan
    assert _widths(new_category + blanks + sparse) == {width}
    payment = [i for i, name in enumerate(served["model"]["features"]) if name.startswith("payment_method=")]
    assert [new_category.split(",")[i] for i in payment] == ["0"] * len(payment)
    assert [known.split(",")[i] for i in payment].count("1") == 1
    assert blanks.split(",")[1] == "nan"
    # ... and the XGBoost container scores all three
    status, answer, _ = XGBoostServer(served["booster"]).invoke(
        (new_category + blanks + sparse).encode(), "text/csv", None
    )
    assert status == 200 and len(answer.decode().split()) == 3


def test_the_output_is_text_csv_for_xgboost_whatever_the_client_accepts(served: dict[str, Any]) -> None:
    script = served["script"]
    prediction = script.predict_fn(script.input_fn("5,70.5,one-year,card,Yes,False", "text/csv"), served["model"])
    body, media = script.output_fn(prediction, "application/json")
    assert media == "text/csv" and body.count(",") == len(served["model"]["features"]) - 1


@pytest.mark.parametrize(
    ("body", "content_type", "problem"),
    [
        ("5,70.5,one-year", "text/csv", "row 1 has 3 values; the model takes 6 columns in this order: tenure_months,"),
        ("{not json", "application/json", "request body is not JSON"),
        ("[1, 2]", "application/json", "an object or a list of objects keyed by column name"),
        ("x", "application/x-npy", "content type 'application/x-npy' is not supported"),
    ],
)
def test_a_request_that_is_not_rows_of_the_columns_says_what_the_model_takes(
    served: dict[str, Any], body: str, content_type: str, problem: str
) -> None:
    script = served["script"]
    with pytest.raises(ValueError) as raised:
        script.predict_fn(script.input_fn(body, content_type), served["model"])
    assert problem in str(raised.value)


def test_the_encoder_is_json_listing_the_columns_a_client_sends(served: dict[str, Any]) -> None:
    model = served["model"]
    assert [c["name"] for c in model["columns"]] == COLUMNS
    assert next(c for c in model["columns"] if c["name"] == "payment_method")["categories"] == [
        "bank-transfer",
        "card",
        "cheque",
        "electronic-check",
    ]
    with pytest.raises(ValueError, match="format"):
        (served["root"] / "bad").mkdir(exist_ok=True)
        (served["root"] / "bad" / "encoder.json").write_text(json.dumps({"format": "pickle"}))
        served["script"].model_fn(str(served["root"] / "bad"))
