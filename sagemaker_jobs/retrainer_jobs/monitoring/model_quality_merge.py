"""Merging a window's captured predictions with the ground truth that has arrived, as Model Monitor's merge does.

A captured record (capture_records: `<endpoint>/<variant>/yyyy/mm/dd/hh/*.jsonl`, kept when its inferenceTime is in
[start, end)) is identified by its `eventMetadata.inferenceId` when the client passed `InferenceId`, else by its
`eventId`; a ground-truth record (ground_truth) by its `eventMetadata.eventId`. A record matches a label under its
inferenceId first, then under its eventId. The prediction is the record's `endpointOutput`: a CSV score (one per
row, separated by newlines or commas) or JSON (a number, a list, or `{"predictions": [{"score": ...}]}`-like
objects with `score`/`probability`).

Every record of the window ends in exactly one count:
- `merged`: labelled in time, as many labels as scores;
- `missing`: no label yet; `late`: labelled only after the cut-off (window end + lookback);
- `duplicate_captures`: a second record under an id already seen (the first is kept);
- `invalid_labels`: a label that is not 1/0 (or the model's two label values); `shape_mismatch`: labels and scores
  differ in number; `invalid_scores`: an output that is not a number in [0, 1].
Beside them: `duplicate_labels`/`conflicting_labels` (replaced labels, see ground_truth) and `unknown` (labels read
whose id is no record of this window: another window's, or an id never captured).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .capture_records import CaptureFormatError, Window, capture_files
from .capture_records import _hour_of as hour_folder
from .capture_records import _payload as decoded_payload
from .ground_truth import GroundTruth, LabelValues, split_values

DEFAULT_VARIANT = "AllTraffic"
SCORE_KEYS = ("predictions", "scores", "probabilities", "score", "probability")


class InvalidScore(ValueError):
    """An endpoint output that is not a probability."""


@dataclass
class MergeCounts:
    captured_records: int = 0
    merged_records: int = 0
    merged_rows: int = 0
    missing: int = 0
    late: int = 0
    duplicate_captures: int = 0
    invalid_labels: int = 0
    shape_mismatch: int = 0
    invalid_scores: int = 0
    duplicate_labels: int = 0
    conflicting_labels: int = 0
    unknown: int = 0
    labels_read: int = 0

    def to_json(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class MergedRecord:
    """A labelled request, kept for the feedback data: its ids, its decoded input and its labels."""

    event_id: str
    key: str
    encoding: str  # CSV or JSON
    data: str
    labels: tuple[int, ...]


@dataclass
class MergedWindow:
    counts: MergeCounts = field(default_factory=MergeCounts)
    variants: list[str] = field(default_factory=list)  # per row
    scores: list[float] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    records: list[MergedRecord] = field(default_factory=list)


def variant_of(path: Path) -> str:
    """`<endpoint>/<variant>/yyyy/mm/dd/hh/file.jsonl` -> variant (data capture's layout)."""
    if hour_folder(path) is None or len(path.parts) < 6:
        return DEFAULT_VARIANT
    return path.parents[4].name


def _json_scores(payload: Any) -> list[float]:
    if isinstance(payload, bool):
        raise InvalidScore(f"not a score: {payload!r}")
    if isinstance(payload, (int, float, str)):
        return [float(payload)]
    if isinstance(payload, list):
        return [score for item in payload for score in _json_scores(item)]
    if isinstance(payload, dict):
        for key in SCORE_KEYS:
            if key in payload:
                return _json_scores(payload[key])
    raise InvalidScore(f"no score in {str(payload)[:80]}")


def parse_scores(encoding: str, data: str) -> list[float]:
    """The output's scores, one per row; each must be a probability in [0, 1]."""
    try:
        scores = [float(v) for v in split_values(data)] if encoding == "CSV" else _json_scores(json.loads(data))
    except ValueError as exc:  # float(), json.loads and InvalidScore
        raise InvalidScore(str(exc)) from exc
    if not scores or any(not (0.0 <= s <= 1.0) or math.isnan(s) for s in scores):
        raise InvalidScore(f"scores outside [0, 1]: {scores[:5]}")
    return scores


def window_records(files: Iterable[Path], window: Window) -> Iterator[tuple[str, dict[str, Any], str]]:
    """(variant, record, "file line n") of every captured record in the window."""
    for path in files:
        variant = variant_of(path)
        with path.open("r", encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                    inside = window.holds_stamp(record["eventMetadata"]["inferenceTime"])
                except (ValueError, KeyError, TypeError) as exc:
                    raise CaptureFormatError(f"{path.name} line {number}: not a capture record ({exc})") from exc
                if inside:
                    yield variant, record, f"{path.name} line {number}"


@dataclass
class _Merger:
    truth: GroundTruth
    label_values: LabelValues
    merged: MergedWindow = field(default_factory=MergedWindow)
    seen: set[str] = field(default_factory=set)
    matched: set[str] = field(default_factory=set)

    def add(self, variant: str, record: dict[str, Any], where: str) -> None:
        counts = self.merged.counts
        counts.captured_records += 1
        meta = record["eventMetadata"]
        event_id = str(meta.get("eventId", ""))
        key = str(meta.get("inferenceId") or event_id)
        if key in self.seen:
            counts.duplicate_captures += 1
            return
        self.seen.add(key)
        labels = self.truth.labels
        label_id = key if key in labels else (event_id if event_id in labels else None)
        if label_id is None:
            late = key in self.truth.late_ids or event_id in self.truth.late_ids
            counts.late += late
            counts.missing += not late
            return
        self.matched.add(label_id)
        self._join(variant, record, where, event_id, key, self.truth.labels[label_id])

    def _join(self, variant: str, record: dict[str, Any], where: str, event_id: str, key: str, text: str) -> None:
        counts = self.merged.counts
        parse = self.label_values.parse
        labels = [parse(value) for value in split_values(text)] if "," in text or "\n" in text else [parse(text)]
        if None in labels:
            counts.invalid_labels += 1
            return
        try:
            scores = parse_scores(*decoded_payload(record, "endpointOutput"))
            encoding, data = decoded_payload(record, "endpointInput")
        except InvalidScore:
            counts.invalid_scores += 1
            return
        except CaptureFormatError as exc:
            raise CaptureFormatError(f"{where}: {exc}") from exc
        if len(scores) != len(labels):
            counts.shape_mismatch += 1
            return
        known = [int(label) for label in labels if label is not None]
        window = self.merged
        window.variants.extend([variant] * len(scores))
        window.scores.extend(scores)
        window.labels.extend(known)
        window.records.append(MergedRecord(event_id, key, encoding, data, tuple(known)))
        counts.merged_records += 1
        counts.merged_rows += len(scores)

    def finish(self) -> MergedWindow:
        counts = self.merged.counts
        counts.duplicate_labels = self.truth.duplicates
        counts.conflicting_labels = self.truth.conflicting
        counts.labels_read = self.truth.records
        counts.unknown = len(self.truth.labels.keys() - self.matched)
        return self.merged


def merge_window(
    capture_dir: Path, truth: GroundTruth, window: Window, label_values: LabelValues | None = None
) -> MergedWindow:
    """The window's captured predictions joined with their labels, and the count of every other outcome."""
    merger = _Merger(truth, label_values or LabelValues())
    for variant, record, where in window_records(capture_files(capture_dir, window), window):
        merger.add(variant, record, where)
    return merger.finish()
