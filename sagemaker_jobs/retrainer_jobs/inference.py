"""The model's input contract at serving time: raw rows in, XGBoost features out.

This file is the first container of the deployed model, a serial inference pipeline
(`CreateModel` with `Containers`: SageMaker's scikit-learn image running this script, then the
built-in XGBoost image; `InferenceExecutionConfig.Mode: Serial`). Preprocess copies it into the
feature model's artifact as `code/inference.py`, beside `encoder.json` (the encoding fitted on the
training rows) and `schema.json`; the model's environment names it:

    SAGEMAKER_PROGRAM=inference.py
    SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code

The scikit-learn serving container calls the four handlers of the SageMaker inference contract:
`model_fn(model_dir)` once, then per request `input_fn(body, content_type)`,
`predict_fn(data, model)` and `output_fn(prediction, accept)`, whose `(body, content_type)` tuple
becomes the response that the pipeline passes to the XGBoost container.

Requests (one or many rows):
- `text/csv`: headerless rows, the uploaded columns in upload order minus the target and
  `drop_columns` (a header row equal to the column names is skipped);
- `application/json`: one object or a list of objects keyed by column name (a missing key is a
  missing value, other keys are ignored).

Values never seen in training never change the shape: a blank or NA-like cell (or text in a
numeric column) is a missing value, sent to XGBoost as `nan`, which it handles; an unknown or
missing category encodes as all zeros in its one-hot block. The response is always `text/csv`,
one line of `len(features)` numbers per row, whatever the client's Accept (that applies to the
XGBoost container's answer).

Preprocess uses the same `encode` to write the training files, so training and serving cannot
drift apart. Pure Python, numpy and pandas (what the scikit-learn 1.2-1 image has; Python 3.9
there); the encoder is JSON, so no pickle and no version lock to scikit-learn.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from typing import Any

import numpy as np
import pandas as pd

ENCODER_FILE = "encoder.json"
ENCODER_FORMAT = "retrainer-feature-encoder/1"
CSV = "text/csv"
JSON = "application/json"

# Cells read as a missing value (compared stripped and lower-cased).
MISSING_TOKENS = ("", "na", "n/a", "nan", "null", "none", "?", "-")
# Boolean spellings and their 0/1 value (compared stripped and lower-cased).
BOOLEAN_VALUES = {"true": 1, "false": 0, "yes": 1, "no": 0, "t": 1, "f": 0, "y": 1, "n": 0}

NUMERIC, BOOLEAN, CATEGORICAL = "numeric", "boolean", "categorical"


class RequestError(ValueError):
    """The request cannot be read as rows of the model's input columns."""


def is_missing(values: pd.Series) -> pd.Series:
    """Which cells are missing: blank or an NA-like token."""
    return values.str.strip().str.lower().isin(MISSING_TOKENS)


def to_numbers(values: pd.Series) -> pd.Series:
    """Numbers from text cells; missing, non-numeric and infinite cells become NaN."""
    numbers = pd.to_numeric(values.str.strip(), errors="coerce").astype(float)
    return numbers.where(np.isfinite(numbers))


def to_booleans(values: pd.Series) -> pd.Series:
    """1.0/0.0 from boolean spellings; anything else becomes NaN."""
    return values.str.strip().str.lower().map(BOOLEAN_VALUES).astype(float)


def feature_names(columns: list[dict[str, Any]]) -> list[str]:
    names: list[str] = []
    for column in columns:
        if column["type"] == CATEGORICAL:
            names += [f"{column['name']}={category}" for category in column["categories"]]
        else:
            names.append(column["name"])
    return names


def encode(rows: pd.DataFrame, encoder: dict[str, Any]) -> np.ndarray:
    """The feature matrix (float, NaN = missing) of text rows holding the encoder's columns."""
    blocks: list[np.ndarray] = []
    for column in encoder["columns"]:
        values = rows[column["name"]].fillna("").astype(str)
        if column["type"] == NUMERIC:
            blocks.append(to_numbers(values).to_numpy(dtype=float)[:, None])
        elif column["type"] == BOOLEAN:
            blocks.append(to_booleans(values).to_numpy(dtype=float)[:, None])
        else:
            categories = pd.Index(column["categories"])
            codes = categories.get_indexer(values.str.strip())  # -1: unknown or missing
            block = np.zeros((len(rows), len(categories)))
            known = codes >= 0
            block[np.flatnonzero(known), codes[known]] = 1.0
            blocks.append(block)
    if not blocks:
        return np.zeros((len(rows), 0))
    return np.hstack(blocks)


def format_number(value: float) -> str:
    """How features are written for XGBoost: `nan` for missing, integers without a fraction."""
    if math.isnan(value):
        return "nan"
    return str(int(value)) if value.is_integer() else repr(value)


def to_csv_lines(matrix: np.ndarray, label: np.ndarray | None = None) -> str:
    """Headerless CSV, label first when given (the built-in XGBoost training layout)."""
    lines = []
    for index, row in enumerate(matrix.tolist()):
        cells = [format_number(float(v)) for v in row]
        if label is not None:
            cells.insert(0, str(int(label[index])))
        lines.append(",".join(cells))
    return "".join(line + "\n" for line in lines)


# ------------------------------------------------------------------ SageMaker inference handlers
def model_fn(model_dir: str) -> dict[str, Any]:
    with open(os.path.join(model_dir, ENCODER_FILE), encoding="utf-8") as handle:
        encoder: dict[str, Any] = json.load(handle)
    if encoder.get("format") != ENCODER_FORMAT:
        raise ValueError(f"{ENCODER_FILE}: format {encoder.get('format')!r} is not {ENCODER_FORMAT}")
    return encoder


def input_fn(request_body: str | bytes, request_content_type: str) -> dict[str, Any]:
    """Raw rows of the request, as text cells keyed by column name (read with the encoder in predict_fn)."""
    text = request_body.decode("utf-8") if isinstance(request_body, bytes) else request_body
    media = (request_content_type or CSV).split(";")[0].strip().lower()
    if media in (CSV, "csv"):
        return {"csv": [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]}
    if media == JSON:
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RequestError(f"request body is not JSON: {exc}") from exc
        records = document if isinstance(document, list) else [document]
        if not all(isinstance(record, dict) for record in records):
            raise RequestError("application/json requests are an object or a list of objects keyed by column name")
        return {"records": records}
    raise RequestError(f"content type {request_content_type!r} is not supported (text/csv or application/json)")


def predict_fn(input_data: dict[str, Any], model: dict[str, Any]) -> np.ndarray:
    return encode(_rows(input_data, model), model)


def output_fn(prediction: np.ndarray, accept: str) -> tuple[str, str]:
    """Features for the next container, always text/csv (the client's Accept is XGBoost's to honour)."""
    del accept
    return to_csv_lines(prediction), CSV


def _rows(input_data: dict[str, Any], encoder: dict[str, Any]) -> pd.DataFrame:
    names = [column["name"] for column in encoder["columns"]]
    if "records" in input_data:
        cells = [[_cell(record.get(name)) for name in names] for record in input_data["records"]]
        return pd.DataFrame(cells, columns=names, dtype=object)
    rows: list[list[str]] = input_data["csv"]
    if rows and [cell.strip() for cell in rows[0]] == names:
        rows = rows[1:]  # a header row
    for number, row in enumerate(rows, start=1):
        if len(row) != len(names):
            raise RequestError(
                f"row {number} has {len(row)} values; the model takes {len(names)} columns in this order: "
                + ",".join(names)
            )
    return pd.DataFrame(rows, columns=names, dtype=object)


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
