"""evaluate_model: both models' metrics on the same test split, and the quality gate; before
training, whether the run has new data at all.

The challenger (the model this run trained) must pass the absolute threshold and, when a model is
serving (the champion), beat it on the same held-out rows by at least `min_gain_over_champion`
(default -0.005: not worse by more than 0.005), and keep the champion's clients working: a champion
column removed or its type changed rejects it unless the model's configuration sets
`allow_schema_change`. The report says how many of the test rows each model was trained on (0 when
both runs split rows the same way: Preprocess keys each row's split by a stable hash). A champion
that cannot score the new split is reported and the gate falls back to the threshold alone.

The recent window: when the model's folder holds feedback files (labelled traffic), Preprocess writes
the test rows of the newest week of them again as `test-raw/recent.csv`; the transforms score it beside
the holdout (`recent.csv.out`) and both models' metrics on it are reported side by side. With at least
`MIN_RECENT_ROWS` rows of both classes and a champion that scored them, the challenger must not be worse
than the champion there by more than `min_gain_over_champion` either; otherwise the window is reported
only. The holdout is every other `.out` file (its rows include the recent ones: its meaning does not
depend on feedback).

The same function answers the CheckNewData state (`retrainer.services.new_data_check`): a run whose
training data and configuration equal the champion's trains nothing and ends NoNewData.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from retrainer.classification_metrics import classification_metrics, standard_error
from retrainer.errors import EvaluationDataError
from retrainer.pipeline_config import LOWER_IS_BETTER, Metric, gain_over, passes_gate
from retrainer.ports import ObjectReader, ObjectWriter
from retrainer.run_data import champion_data_files
from retrainer.services.new_data_check import (
    SCHEMA_FILE,
    DataCheckRequest,
    champion_document,
    check_new_data,
    read_json,
)

# test-raw/recent.csv (sagemaker_jobs/retrainer_jobs/preprocess.py RECENT_FILE); a transform writes `<file>.out`.
RECENT_TEST_FILE = "recent.csv"
RECENT_OUTPUT = f"{RECENT_TEST_FILE}.out"
# Fewer recent rows than this (or one class) are reported, not gated: a handful of rows is noise.
MIN_RECENT_ROWS = 30


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
    schema_uri: str = Field(default="", description="This run's schema.json (empty: no schema gate).")
    row_splits_uri: str = Field(default="", description="This run's row-splits.csv (empty: rows seen unknown).")
    champion_model_data_url: str = Field(default="", description="The champion's feature model artifact.")
    allow_schema_change: bool = False
    run_id: str = ""
    correlation_id: str = ""


class TestRowsSeen(BaseModel):
    """How many of this run's test rows each model was trained on (train or validation split)."""

    challenger: int | None = None
    champion: int | None = None
    note: str = ""


class ModelScore(BaseModel):
    metrics: dict[str, float]
    rows: int
    positives: int = 0


class RecentWindow(BaseModel):
    """The newest labelled rows (the feedback files' test rows), scored by both models."""

    rows: int
    challenger: ModelScore | None = Field(default=None, description="None when the rows hold one class only.")
    champion: ModelScore | None = None
    gain: float | None = Field(default=None, description="Challenger minus champion (reversed for logloss).")
    gated: bool = Field(default=False, description="Whether the gate held the challenger to min_gain here.")
    passed: bool = True
    note: str = ""


class EvaluationResult(BaseModel):
    metrics: dict[str, float] = Field(description="The challenger's metrics.")
    metric: Metric
    value: float = Field(description="The challenger's gate metric.")
    value_standard_error: float | None = Field(
        default=None,
        description="How far `value`, measured on `rows` test rows, may be from the true score by chance "
        "(classification_metrics.standard_error); widens the quality alarm's margin.",
    )
    threshold: float
    passed: bool
    rows: int
    champion: ModelScore | None = None
    champion_value: float | None = None
    champion_note: str = ""
    gain: float | None = Field(default=None, description="Challenger minus champion (reversed for logloss).")
    min_gain: float = -0.005
    schema_changes: list[str] = Field(default_factory=list, description="Champion columns removed or retyped.")
    schema_change_allowed: bool = False
    test_rows_seen: TestRowsSeen = Field(default_factory=TestRowsSeen)
    recent: RecentWindow | None = Field(default=None, description="Labelled traffic; None without feedback rows.")
    side_by_side: str = Field(default="", description="Both models on the holdout and the recent window, one line.")
    verdict: str = ""


def parse_request(event: Any) -> EvaluationRequest | DataCheckRequest:
    """The state machine's payload; a malformed one is an EvaluationDataError the ASL catches."""
    try:
        if isinstance(event, dict) and event.get("action") == "check_new_data":
            return DataCheckRequest.model_validate(event)
        return EvaluationRequest.model_validate(event)
    except ValidationError as exc:
        raise EvaluationDataError(f"invalid evaluation request: {exc.errors()[0]['msg']}") from exc


class Objects(ObjectReader, ObjectWriter, Protocol):
    """The artifacts bucket: read transforms, schemas and row splits; write the report."""


def handle(event: Any, objects: Objects, max_rows: int) -> dict[str, Any]:
    """The function's one entry: the data check or the evaluation, by the payload's shape."""
    request = parse_request(event)
    if isinstance(request, DataCheckRequest):
        return check_new_data(request, objects).model_dump()
    return evaluate(request, objects, max_rows, writer=objects).model_dump()


def schema_changes(champion: dict[str, Any], challenger: dict[str, Any]) -> list[str]:
    """What would break the champion's clients: a column they send that is gone, or read as another type."""
    theirs = {c["name"]: c.get("type", "") for c in challenger.get("columns", [])}
    changes = []
    for column in champion.get("columns", []):
        name, kind = column["name"], column.get("type", "")
        if name not in theirs:
            changes.append(f"column {name!r} removed")
        elif theirs[name] != kind:
            changes.append(f"column {name!r} changed from {kind} to {theirs[name]}")
    return changes


def _row_splits(uri: str, reader: ObjectReader) -> dict[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    pairs = (line.split(",", 1) for line in reader.read_lines(bucket, key)[1:] if line.strip())
    return {pair[0]: pair[1].strip() for pair in pairs if len(pair) == 2}


def count_test_rows_seen(request: EvaluationRequest, reader: ObjectReader) -> TestRowsSeen:
    """|a model's train and validation keys ∩ this run's test keys|, for the challenger and the champion."""
    if not request.row_splits_uri:
        return TestRowsSeen(note="this run wrote no row splits")
    ours = _row_splits(request.row_splits_uri, reader)
    test = {key for key, split in ours.items() if split == "test"}
    seen = TestRowsSeen(challenger=sum(1 for key, split in ours.items() if split != "test" and key in test))
    files = champion_data_files(request.champion_model_data_url)
    if files is None:
        seen.note = "no champion with recorded row splits"
        return seen
    try:
        theirs = _row_splits(files[1], reader)
    except Exception:  # an older champion without row splits is reported, not fatal
        seen.note = "the champion's row splits could not be read"
        return seen
    seen.champion = sum(1 for key, split in theirs.items() if split != "test" and key in test)
    return seen


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


def _read_labels(
    reader: ObjectReader, bucket: str, keys: list[str], where: str, max_rows: int
) -> tuple[list[int], list[float]]:
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
                raise EvaluationDataError(f"more than {max_rows} rows under {where}")
    return labels, scores


def _is_recent(key: str) -> bool:
    return key.rsplit("/", 1)[-1] == RECENT_OUTPUT


def score(transform_output: str, reader: ObjectReader, max_rows: int) -> ModelScore:
    """Metrics of one model's `label,score` lines under `transform_output` (the holdout: all but the recent file)."""
    bucket, prefix = _split_uri(transform_output)
    keys = [key for key in reader.list_keys(bucket, prefix) if key.endswith(".out") and not _is_recent(key)]
    if not keys:
        raise EvaluationDataError(f"no .out files under {transform_output}")
    labels, scores = _read_labels(reader, bucket, keys, transform_output, max_rows)
    if len(set(labels)) < 2:
        raise EvaluationDataError(f"the test split under {transform_output} holds one class only; AUC is undefined")
    return _model_score(labels, scores)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def _model_score(labels: list[int], scores: list[float]) -> ModelScore:
    metrics = classification_metrics(labels, scores)
    return ModelScore(metrics={k: round(v, 6) for k, v in metrics.items()}, rows=len(labels), positives=sum(labels))


def recent_labels(transform_output: str, reader: ObjectReader, max_rows: int) -> tuple[list[int], list[float]] | None:
    """One model's `label,score` lines of the recent window, or None when the run had no recent file."""
    bucket, prefix = _split_uri(transform_output)
    keys = [key for key in reader.list_keys(bucket, prefix) if _is_recent(key)]
    return (
        _read_labels(reader, bucket, keys, f"{transform_output.rstrip('/')}/{RECENT_OUTPUT}", max_rows)
        if keys
        else None
    )


def recent_window(request: EvaluationRequest, reader: ObjectReader, max_rows: int) -> RecentWindow | None:
    """Both models on the newest labelled rows, and whether the gate holds the challenger to them."""
    ours = recent_labels(request.transform_output, reader, max_rows)
    if ours is None:
        return None
    labels, scores = ours
    window = RecentWindow(rows=len(labels))
    if len(set(labels)) < 2:
        window.note = f"the {len(labels)} recent rows hold one class only: not scored"
        return window
    window.challenger = _model_score(labels, scores)
    window.champion, window.note = _recent_champion(request, reader, max_rows, labels)
    if window.champion is None:
        return window
    metric = request.metric
    window.gain = round(gain_over(metric, window.challenger.metrics[metric], window.champion.metrics[metric]), 6)
    if window.rows < MIN_RECENT_ROWS:
        window.note = f"fewer than {MIN_RECENT_ROWS} recent rows: reported, not gated"
        return window
    window.gated = True
    window.passed = window.gain >= request.min_gain_over_champion
    return window


def _recent_champion(
    request: EvaluationRequest, reader: ObjectReader, max_rows: int, labels: list[int]
) -> tuple[ModelScore | None, str]:
    if not request.champion.evaluated:
        return None, "no champion scored the recent rows: reported, not gated"
    try:
        theirs = recent_labels(request.champion.output, reader, max_rows)
    except EvaluationDataError as exc:
        return None, f"the champion's recent output could not be read: {exc}"
    if theirs is None or theirs[0] != labels:
        return None, "the champion did not score the same recent rows: reported, not gated"
    return _model_score(*theirs), ""


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
    changes = _schema_changes(request, reader)
    compatible = not changes or request.allow_schema_change
    verdict = _verdict(metric, value, request.threshold, above_threshold, champion_value, gain, request, note)
    recent = recent_window(request, reader, max_rows)
    verdict += _recent_verdict(metric, recent, request.min_gain_over_champion)
    if changes:
        verdict += "; breaks the champion's clients: " + ", ".join(changes)
        verdict += (
            " (allowed by allow_schema_change)"
            if request.allow_schema_change
            else " (FAILED: set allow_schema_change to accept)"
        )
    result = EvaluationResult(
        metrics=challenger.metrics,
        metric=metric,
        value=value,
        value_standard_error=_rounded(standard_error(metric, value, challenger.rows, challenger.positives)),
        threshold=request.threshold,
        passed=above_threshold and beats_champion and compatible and (recent is None or recent.passed),
        rows=challenger.rows,
        champion=champion,
        champion_value=champion_value,
        champion_note=note,
        gain=gain,
        min_gain=request.min_gain_over_champion,
        schema_changes=changes,
        schema_change_allowed=request.allow_schema_change,
        test_rows_seen=count_test_rows_seen(request, reader),
        recent=recent,
        side_by_side=side_by_side(metric, value, champion_value, recent),
        verdict=verdict,
    )
    if writer is not None and request.report_uri:
        bucket, key = request.report_uri.removeprefix("s3://").split("/", 1)
        writer.put(bucket, key, json.dumps({"run_id": request.run_id, **result.model_dump()}, indent=2).encode())
    return result


def _schema_changes(request: EvaluationRequest, reader: ObjectReader) -> list[str]:
    if not request.schema_uri or not request.champion_model_data_url:
        return []
    champion = champion_document(request.champion_model_data_url, reader, SCHEMA_FILE)
    return schema_changes(champion, read_json(request.schema_uri, reader)) if champion else []


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


def _pair(metric: str, challenger: float, champion: float | None) -> str:
    return f"{metric} {challenger:.4f}" + (f" vs {champion:.4f}" if champion is not None else " (no champion score)")


def side_by_side(metric: str, value: float, champion_value: float | None, recent: RecentWindow | None) -> str:
    """`holdout auc 0.9700 vs 0.9600; recent (labelled traffic, 60 rows) auc 0.9100 vs 0.7200`: challenger first."""
    text = "holdout " + _pair(metric, value, champion_value)
    if recent is None:
        return text
    text += f"; recent (labelled traffic, {recent.rows} rows) "
    if recent.challenger is None:
        return text + "not scored (one class only)"
    champion = recent.champion.metrics[metric] if recent.champion else None
    return text + _pair(metric, recent.challenger.metrics[metric], champion)


def _recent_verdict(metric: str, recent: RecentWindow | None, min_gain: float) -> str:
    if recent is None:
        return ""
    text = f"; recent window ({recent.rows} rows of labelled traffic)"
    if recent.challenger is None or recent.champion is None or recent.gain is None:
        return f"{text}: {recent.note}"
    scores = (
        f": challenger {metric} {recent.challenger.metrics[metric]:.4f}, champion "
        f"{recent.champion.metrics[metric]:.4f}, gain {recent.gain:+.4f}"
    )
    if not recent.gated:
        return f"{text}{scores} ({recent.note})"
    return f"{text}{scores} (at least {min_gain:+.4f} needed: {'ok' if recent.passed else 'FAILED'})"
