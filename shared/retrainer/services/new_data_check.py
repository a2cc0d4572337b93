"""check_new_data (the CheckNewData state, after Preprocess): does the run have anything to learn?

A run whose training-data fingerprint (schema.json) and training configuration equal the champion's trains
nothing and ends NoNewData; the run's own record (fingerprint, configuration digest) is written beside its
schema for later runs to compare with.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from retrainer.errors import EvaluationDataError
from retrainer.ports import ObjectReader, ObjectWriter
from retrainer.run_data import TRAINING_RECORD, champion_data_files

SCHEMA_FILE, TRAINING_RECORD_FILE = 0, 2  # indexes into run_data.champion_data_files


class ObjectStore(ObjectReader, ObjectWriter, Protocol):
    """Reads the schemas, writes the run's training record."""


class DataCheckRequest(BaseModel):
    """CheckNewData: this run's schema.json against the champion's (the feature model's folder)."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["check_new_data"]
    schema_uri: str = Field(pattern=r"^s3://[^/]+/.+")
    champion_model_data_url: str = ""
    hyperparameters: dict[str, str] = Field(default_factory=dict)
    preprocess_arguments: list[str] = Field(default_factory=list)
    retrain_unchanged: bool = False
    run_id: str = ""
    correlation_id: str = ""


class DataCheck(BaseModel):
    new_data: bool
    fingerprint: str = Field(description="The training data's (schema.json).")
    champion_fingerprint: str = ""
    config_digest: str = Field(default="", description="sha256 of what shapes the model besides the data.")
    rows: dict[str, int] = Field(default_factory=dict)
    note: str


def read_json(uri: str, reader: ObjectReader) -> dict[str, Any]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    try:
        document = json.loads("\n".join(reader.read_lines(bucket, key)))
    except (ValueError, KeyError) as exc:
        raise EvaluationDataError(f"{uri} is not a JSON document: {exc}") from exc
    if not isinstance(document, dict):
        raise EvaluationDataError(f"{uri} is not a JSON object")
    return document


def check_new_data(request: DataCheckRequest, objects: ObjectStore) -> DataCheck:
    """Is there anything to learn? Not when the champion was trained on exactly these rows with exactly
    this configuration (hyperparameters and data rules): the run would rebuild the same model. The
    run's record (data fingerprint, configuration digest) is written beside its schema for later runs."""
    schema = read_json(request.schema_uri, objects)
    fingerprint = str(schema.get("fingerprint", ""))
    rows = {k: int(v) for k, v in dict(schema.get("rows", {})).items()}
    settings = {"hyperparameters": request.hyperparameters, "preprocess_arguments": request.preprocess_arguments}
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()
    record = {"fingerprint": fingerprint, "config_digest": digest}
    bucket, _, key = request.schema_uri.removeprefix("s3://").rpartition("/")[0].partition("/")
    objects.put(bucket, f"{key}/{TRAINING_RECORD}", json.dumps(record).encode())
    found = DataCheck(new_data=True, fingerprint=fingerprint, config_digest=digest, rows=rows, note="")
    champion = champion_document(request.champion_model_data_url, objects, TRAINING_RECORD_FILE)
    if champion is None:
        found.note = "no champion with a recorded training fingerprint: the data is new to the endpoint"
        return found
    found.champion_fingerprint = str(champion.get("fingerprint", ""))
    if fingerprint and record == {k: champion.get(k) for k in record}:
        if request.retrain_unchanged:
            found.note = "the champion's data and settings; retraining because retrain_unchanged is set"
            return found
        found.new_data = False
        found.note = (
            f"the champion was trained on these {sum(rows.values())} rows (fingerprint {fingerprint[:12]}) with "
            "the same configuration: nothing new to learn; upload new or corrected rows to retrain"
        )
    elif fingerprint == found.champion_fingerprint:
        found.note = "the champion's data, a new configuration: retraining"
    else:
        found.note = f"new data: fingerprint {fingerprint[:12]} (the champion's {found.champion_fingerprint[:12]})"
    return found


def champion_document(model_data_url: str, reader: ObjectReader, which: int) -> dict[str, Any] | None:
    """One of the champion's JSON files beside its feature model (`run_data.champion_data_files`: 0 its schema,
    2 its training record); None when it has none or it cannot be read (a champion from before the input
    contract or the training record: compared on metrics alone, its data counted as different)."""
    files = champion_data_files(model_data_url)
    if files is None:
        return None
    try:
        return read_json(files[which], reader)
    except Exception:
        return None
