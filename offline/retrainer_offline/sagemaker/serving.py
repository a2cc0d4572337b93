"""The built-in XGBoost container's inference contract, in-process (sagemaker-contracts.md §3).

Used by batch transform and by endpoints: load `xgboost-model` from the model's `model.tar.gz`,
answer `text/csv` (features only, no label) with one score per line, `application/json` with
`{"predictions": [{"score": ...}]}`; an empty body is 204, an unsupported content type 415, an
unsupported Accept 406.
"""

from __future__ import annotations

import io
import json
import tarfile
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import xgboost

XGBOOST_REPOSITORY = "sagemaker-xgboost"
SUPPORTED_XGBOOST_TAGS = {"1.7-1"}
CSV_TYPES = {"text/csv", "csv"}


class UnknownImageError(Exception):
    """The image is not one the offline runtime can stand in for."""


class ModelLoadError(Exception):
    """The model artifact cannot be loaded (missing, not a tar.gz, no xgboost-model inside)."""


def is_xgboost_image(image: str) -> bool:
    repository, _, tag = image.rpartition("/")[2].partition(":")
    return repository == XGBOOST_REPOSITORY and tag in SUPPORTED_XGBOOST_TAGS


class XGBoostServer:
    """One loaded model answering invocations the way the 1.7-1 container does."""

    def __init__(self, booster: xgboost.Booster, batch: bool = False) -> None:
        self.booster = booster
        self.batch = batch
        self.features = booster.num_features()

    def predict_rows(self, rows: list[list[str]]) -> list[float]:
        matrix = np.array([[float(v) if v not in ("", "nan") else np.nan for v in row] for row in rows], dtype=float)
        if matrix.ndim != 2 or matrix.shape[1] != self.features:
            width = matrix.shape[1] if matrix.ndim == 2 else 0
            raise ValueError(f"Feature shape mismatch: expected {self.features}, got {width}")
        return [float(p) for p in self.booster.predict(xgboost.DMatrix(matrix))]

    def invoke(self, body: bytes, content_type: str, accept: str | None) -> tuple[int, bytes, str]:  # noqa: PLR0911
        if not body.strip():
            return 204, b"", "text/plain"
        media = content_type.split(";", maxsplit=1)[0].strip().lower()
        if media not in CSV_TYPES:
            return 415, f"Content type {content_type} is not supported".encode(), "text/plain"
        wanted = (accept or "text/csv").split(";")[0].strip().lower()
        if wanted in ("*/*", ""):
            wanted = "text/csv"
        if wanted not in {"text/csv", "application/json", "application/jsonlines"}:
            return 406, f"Accept {accept} is not supported".encode(), "text/plain"
        rows = [line.split(",") for line in body.decode("utf-8").splitlines() if line.strip()]
        try:
            scores = self.predict_rows(rows)
        except ValueError as exc:
            return 400, str(exc).encode(), "text/plain"
        if wanted == "application/json":
            return 200, json.dumps({"predictions": [{"score": s} for s in scores]}).encode(), wanted
        if wanted == "application/jsonlines":
            return 200, "".join(json.dumps({"score": s}) + "\n" for s in scores).encode(), wanted
        text = "\n".join(repr(s) for s in scores) + "\n"
        return 200, text.encode(), "text/csv; charset=utf-8"


_cache: dict[str, xgboost.Booster] = {}
_cache_lock = threading.Lock()


def load_booster(model_data_url: str, read_object: Callable[[str], bytes]) -> xgboost.Booster:
    with _cache_lock:
        if model_data_url in _cache:
            return _cache[model_data_url]
    try:
        archive = read_object(model_data_url)
    except Exception as exc:
        raise ModelLoadError(f"cannot read model data {model_data_url}: {exc}") from exc
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
            member = tar.extractfile("xgboost-model")
            if member is None:
                raise KeyError("xgboost-model")
            raw = member.read()
    except (tarfile.TarError, KeyError) as exc:
        raise ModelLoadError(f"{model_data_url} is not a model.tar.gz holding xgboost-model: {exc}") from exc
    booster = xgboost.Booster()
    booster.load_model(bytearray(raw))
    with _cache_lock:
        _cache[model_data_url] = booster
    return booster


def load_model_server(
    image: str,
    model_data_url: str,
    environment: dict[str, str],
    read_object: Callable[[str], bytes],
    batch: bool = False,
) -> XGBoostServer:
    del environment
    if not is_xgboost_image(image):
        raise UnknownImageError(f"image {image} is not supported by the offline runtime (built-in XGBoost 1.7-1 is)")
    return XGBoostServer(load_booster(model_data_url, read_object), batch=batch)


def s3_reader(s3: Any) -> Callable[[str], bytes]:
    def read(uri: str) -> bytes:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        return body

    return read
