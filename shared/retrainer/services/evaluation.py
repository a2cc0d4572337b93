"""evaluate_model: both models' metrics on the same test split, and the quality gate.

The challenger (the model this run trained) must pass the absolute threshold and, when a model is
serving (the champion), beat it on the same held-out rows by at least `min_gain_over_champion`
(default -0.005: not worse by more than 0.005). A champion that cannot score the new split (its
transform failed, e.g. the columns changed) is reported and the gate falls back to the threshold alone.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from retrainer.classification_metrics import classification_metrics
from retrainer.errors import EvaluationDataError
from retrainer.pipeline_config import LOWER_IS_BETTER, Metric, gain_over, passes_gate
from retrainer.ports import ObjectReader, ObjectWriter


class ChampionScoring(BaseModel):
    """The champion's batch transform of the same split: where its output is, or why there is none."""

    model_config = ConfigDict(extra="ignore")

    evaluated: bool = False
    output: str = ""
    reason: str = ""


class EvaluationRequest(BaseModel):
    """What the state machine passes: where the `label,score` lines are and the gate."""

    model_config = ConfigDict(extra="forbid")

    transform_output: str = Field(pattern=r"^s3://[^/]+/.+")
    metric: Metric
    threshold: float
    min_gain_over_champion: float = -0.005
    champion: ChampionScoring = Field(default_factory=ChampionScoring)
    report_uri: str = Field(default="", pattern=r"^(s3://[^/]+/.+)?$")
    run_id: str = ""
    correlation_id: str = ""


class ModelScore(BaseModel):
    metrics: dict[str, float]
    rows: int


class EvaluationResult(BaseModel):
    metrics: dict[str, float] = Field(description="The challenger's metrics.")
    metric: Metric
    value: float = Field(description="The challenger's gate metric.")
    threshold: float
    passed: bool
    rows: int
    champion: ModelScore | None = None
    champion_value: float | None = None
    champion_note: str = ""
    gain: float | None = Field(default=None, description="Challenger minus champion (reversed for logloss).")
    min_gain: float = -0.005
    verdict: str = ""


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


def score(transform_output: str, reader: ObjectReader, max_rows: int) -> ModelScore:
    """Metrics of one model's `label,score` lines under `transform_output`."""
    bucket, prefix = _split_uri(transform_output)
    keys = [key for key in reader.list_keys(bucket, prefix) if key.endswith(".out")]
    if not keys:
        raise EvaluationDataError(f"no .out files under {transform_output}")
    labels: list[int] = []
    scores: list[float] = []
    for key in keys:
        for number, line in enumerate(reader.read_lines(bucket, key), start=1):
            if not line.strip():
                continue
            label, value = _parse_line(line.strip(), f"s3://{bucket}/{key} line {number}")
            labels.append(label)
            scores.append(value)
            if len(labels) > max_rows:
                raise EvaluationDataError(f"more than {max_rows} rows under {transform_output}")
    if len(set(labels)) < 2:
        raise EvaluationDataError(f"the test split under {transform_output} holds one class only; AUC is undefined")
    metrics = classification_metrics(labels, scores)
    return ModelScore(metrics={k: round(v, 6) for k, v in metrics.items()}, rows=len(labels))


def evaluate(
    request: EvaluationRequest, reader: ObjectReader, max_rows: int, writer: ObjectWriter | None = None
) -> EvaluationResult:
    challenger = score(request.transform_output, reader, max_rows)
    metric = request.metric
    value = challenger.metrics[metric]
    champion, note = _champion_score(request, reader, max_rows, challenger.rows)
    above_threshold = passes_gate(metric, value, request.threshold)
    champion_value = champion.metrics[metric] if champion else None
    gain = round(gain_over(metric, value, champion_value), 6) if champion_value is not None else None
    beats_champion = gain is None or gain >= request.min_gain_over_champion
    result = EvaluationResult(
        metrics=challenger.metrics,
        metric=metric,
        value=value,
        threshold=request.threshold,
        passed=above_threshold and beats_champion,
        rows=challenger.rows,
        champion=champion,
        champion_value=champion_value,
        champion_note=note,
        gain=gain,
        min_gain=request.min_gain_over_champion,
        verdict=_verdict(metric, value, request.threshold, above_threshold, champion_value, gain, request, note),
    )
    if writer is not None and request.report_uri:
        bucket, key = request.report_uri.removeprefix("s3://").split("/", 1)
        writer.put(bucket, key, json.dumps({"run_id": request.run_id, **result.model_dump()}, indent=2).encode())
    return result


def _champion_score(
    request: EvaluationRequest, reader: ObjectReader, max_rows: int, rows: int
) -> tuple[ModelScore | None, str]:
    if not request.champion.evaluated:
        return None, request.champion.reason or "no model is serving yet"
    try:
        champion = score(request.champion.output, reader, max_rows)
    except EvaluationDataError as exc:
        return None, f"the champion's output could not be read: {exc}"
    if champion.rows != rows:
        return None, f"the champion scored {champion.rows} rows, the challenger {rows}: not the same split"
    return champion, ""


def _verdict(
    metric: str,
    value: float,
    threshold: float,
    above_threshold: bool,
    champion_value: float | None,
    gain: float | None,
    request: EvaluationRequest,
    note: str,
) -> str:
    bound = "at most" if metric in LOWER_IS_BETTER else "at least"
    text = f"challenger {metric} {value:.4f} ({bound} {threshold} needed: {'ok' if above_threshold else 'FAILED'})"
    if champion_value is None or gain is None:
        return f"{text}; no champion comparison: {note}"
    ok = gain >= request.min_gain_over_champion
    return (
        f"{text}; champion {metric} {champion_value:.4f}, gain {gain:+.4f} "
        f"(at least {request.min_gain_over_champion:+.4f} needed: {'ok' if ok else 'FAILED'})"
    )
