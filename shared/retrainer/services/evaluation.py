"""evaluate_model: metrics of the batch-transform output and the quality gate."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from retrainer.errors import EvaluationDataError
from retrainer.metrics import classification_metrics
from retrainer.pipeline_config import Metric, passes_gate
from retrainer.ports import ObjectReader


class EvaluationRequest(BaseModel):
    """What the state machine passes: where the `label,score` lines are and the gate."""

    model_config = ConfigDict(extra="forbid")

    transform_output: str = Field(pattern=r"^s3://[^/]+/.+")
    metric: Metric
    threshold: float
    run_id: str = ""
    correlation_id: str = ""


class EvaluationResult(BaseModel):
    metrics: dict[str, float]
    metric: Metric
    value: float
    threshold: float
    passed: bool
    rows: int


def parse_request(event: Any) -> EvaluationRequest:
    """The state machine's payload; a malformed one is an EvaluationDataError the ASL catches."""
    try:
        return EvaluationRequest.model_validate(event)
    except ValidationError as exc:
        raise EvaluationDataError(f"invalid evaluation request: {exc.errors()[0]['msg']}") from exc


def _split_uri(uri: str) -> tuple[str, str]:
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    return bucket, prefix.rstrip("/") + "/"


def _parse_line(line: str, where: str) -> tuple[int, float]:
    parts = line.split(",")
    if len(parts) != 2:
        raise EvaluationDataError(f"{where}: expected 'label,score', got {len(parts)} fields")
    try:
        label = float(parts[0])
        score = float(parts[1])
    except ValueError as exc:
        raise EvaluationDataError(f"{where}: not numeric: {line[:80]!r}") from exc
    if label not in (0.0, 1.0):
        raise EvaluationDataError(f"{where}: label must be 0 or 1, got {parts[0]}")
    return int(label), score


def evaluate(request: EvaluationRequest, reader: ObjectReader, max_rows: int) -> EvaluationResult:
    bucket, prefix = _split_uri(request.transform_output)
    keys = [key for key in reader.list_keys(bucket, prefix) if key.endswith(".out")]
    if not keys:
        raise EvaluationDataError(f"no .out files under {request.transform_output}")
    labels: list[int] = []
    scores: list[float] = []
    for key in keys:
        for number, line in enumerate(reader.read_lines(bucket, key), start=1):
            if not line.strip():
                continue
            label, score = _parse_line(line.strip(), f"s3://{bucket}/{key} line {number}")
            labels.append(label)
            scores.append(score)
            if len(labels) > max_rows:
                raise EvaluationDataError(f"more than {max_rows} rows under {request.transform_output}")
    if len(set(labels)) < 2:
        raise EvaluationDataError(
            f"the test split under {request.transform_output} holds one class only; AUC is undefined"
        )
    metrics = classification_metrics(labels, scores)
    value = metrics[request.metric]
    passed = passes_gate(request.metric, value, request.threshold)
    return EvaluationResult(
        metrics={k: round(v, 6) for k, v in metrics.items()},
        metric=request.metric,
        value=round(value, 6),
        threshold=request.threshold,
        passed=passed,
        rows=len(labels),
    )


def as_output(result: EvaluationResult) -> dict[str, Any]:
    return result.model_dump()
