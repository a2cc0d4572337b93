"""Ground truth in Model Monitor's format: the labels users upload for their endpoint's predictions.

One JSON record per line (developer guide, "Ingest Ground Truth Labels and Merge Them With Predictions"):

    {"groundTruthData": {"data": "1", "encoding": "CSV"}, "eventMetadata": {"eventId": "<id>"}, "eventVersion": "0"}

`eventMetadata.eventId` holds the `InferenceId` the client passed to InvokeEndpoint, or else the `eventId` data
capture gave the request. `data` is the label: `1`/`0` (also `1.0`, `true`/`false`, or the model's own two label
values), several labels separated by newlines or commas for a request of several rows.

Layout: `s3://<DataBucket>/ground-truth/<model>/yyyy/mm/dd/hh/<any>.jsonl`, the hour being when the labels were
uploaded (not when the prediction was made). The job reads the hour folders from the window's start up to a
cut-off, `window end + lookback hours`: a label uploaded later is *late* for this window (the window's result stays
the same whenever it is re-run). Duplicates: the last write wins (later hour folder, then later file name, then
later line), so a corrected label replaces the first one; each replaced record is counted, and counted as
conflicting when its value differed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

from .capture_records import CAPTURE_SUFFIXES, Window
from .capture_records import _hour_of as hour_folder

TRUE_LABELS = frozenset({"1", "1.0", "true", "t", "yes", "y"})
FALSE_LABELS = frozenset({"0", "0.0", "false", "f", "no", "n"})


class GroundTruthFormatError(Exception):
    """A ground-truth line is not a ground-truth record (not JSON, no eventMetadata.eventId, no data)."""


@dataclass(frozen=True)
class LabelValues:
    """How label text maps to 1/0: the usual spellings, plus the model's own positive and negative values."""

    positive: str = "1"
    negative: str = "0"

    @cached_property
    def _table(self) -> dict[str, int]:
        table = {value: 1 for value in TRUE_LABELS}
        table.update((value, 0) for value in FALSE_LABELS)
        table.update({self.positive: 1, self.negative: 0})
        return table

    def parse(self, text: str) -> int | None:
        """1, 0, or None for text that is neither class (the model's values first, then the usual spellings)."""
        value = self._table.get(text)
        if value is None:
            stripped = text.strip()
            value = self._table.get(stripped, self._table.get(stripped.lower()))
        return value


def split_values(data: str) -> list[str]:
    """`"1"` -> ["1"]; `"1\\n0"` or `"1,0"` -> ["1", "0"] (a label, or a score, per row of the request)."""
    text = data.strip()
    if "\n" in text:
        return [part for part in text.splitlines() if part.strip()]
    return text.split(",") if "," in text else [text]


@dataclass
class GroundTruth:
    """The labels of the ground-truth hours read, by id, and what was set aside."""

    labels: dict[str, str] = field(default_factory=dict)  # id -> label text (last write wins)
    late_ids: set[str] = field(default_factory=set)  # ids labelled only after the cut-off
    records: int = 0
    duplicates: int = 0
    conflicting: int = 0


def ground_truth_files(root: Path, window: Window, cutoff: datetime | None) -> Iterator[tuple[Path, bool]]:
    """(file, in time) in write order: hour folders from the window's start hour; beyond the cut-off is late."""
    first_hour = window.start.replace(minute=0, second=0, microsecond=0) if window.start else None
    for path in sorted(root.rglob("*"), key=lambda p: (hour_folder(p) is not None, hour_folder(p) or 0, str(p))):
        if not path.is_file() or path.suffix not in CAPTURE_SUFFIXES:
            continue
        hour = hour_folder(path)
        if hour is not None and first_hour is not None and hour < first_hour:
            continue
        yield path, hour is None or cutoff is None or hour < cutoff


def _record_label(record: Any) -> tuple[str, str]:
    try:
        identity = record["eventMetadata"].get("inferenceId") or record["eventMetadata"]["eventId"]
        data = record["groundTruthData"]["data"]
    except (KeyError, TypeError, AttributeError) as exc:
        raise GroundTruthFormatError(f"no eventMetadata.eventId or groundTruthData.data ({exc})") from exc
    encoding = str(record["groundTruthData"].get("encoding", "CSV")).upper()
    if encoding == "JSON" and not isinstance(data, str):
        data = ",".join(str(item) for item in data) if isinstance(data, list) else str(data)
    return str(identity), str(data)


def read_ground_truth(root: Path, window: Window, lookback: timedelta) -> GroundTruth:
    """Every label uploaded from the window's start hour up to `window end + lookback` (and which came later)."""
    cutoff = window.end + lookback if window.end else None
    truth = GroundTruth()
    for path, in_time in ground_truth_files(root, window, cutoff):
        with path.open("r", encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    identity, data = _record_label(json.loads(line))
                except (ValueError, GroundTruthFormatError) as exc:
                    where = f"{path.name} line {number}"
                    raise GroundTruthFormatError(f"{where}: not a ground-truth record ({exc})") from exc
                if not in_time:
                    truth.late_ids.add(identity)
                    continue
                truth.records += 1
                previous = truth.labels.get(identity)
                if previous is not None:
                    truth.duplicates += 1
                    truth.conflicting += previous.strip() != data.strip()
                truth.labels[identity] = data
    return truth


def ground_truth_line(identity: str, label: str) -> str:
    """One ground-truth record as users upload it (for tests, the bench and the demo)."""
    record = {"groundTruthData": {"data": label, "encoding": "CSV"}, "eventMetadata": {"eventId": identity}}
    return json.dumps({**record, "eventVersion": "0"})
