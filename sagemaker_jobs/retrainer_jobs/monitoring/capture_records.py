"""Reading SageMaker data capture files as a stream of feature tables, one window at a time.

Capture layout (developer guide, "Capture data"): `<prefix>/<endpoint>/<variant>/yyyy/mm/dd/hh/<name>.jsonl`, one
JSON record per line: `captureData.endpointInput{observedContentType, mode, data, encoding}`, `endpointOutput`,
`eventMetadata{eventId, inferenceId?, inferenceTime}`, `eventVersion`. `encoding` is CSV, JSON or BASE64 (a
content type not listed in the capture config). Like Model Monitor, the reader keeps only records whose
inferenceTime falls in [start, end) (more hours than the window may have been downloaded).

Inputs are decoded as the model's input contract has them: headerless CSV in the baseline's column order (one row
or several per request), or JSON records by name (one object, a list of objects, or `{"instances": [...]}`); a
list of values, or SageMaker's `{"instances": [{"features": [...]}]}`, is read by position. Records are grouped
into batches of about `batch_rows` rows, so memory is bounded by a batch whatever the window holds.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from .constraint_checks import ColumnShape

UTC = timezone.utc  # noqa: UP017 - the scikit-learn 1.2-1 processing image runs Python 3.9 (no datetime.UTC)

BATCH_ROWS = 100_000
CAPTURE_SUFFIXES = {".jsonl", ".json"}


class CaptureFormatError(Exception):
    """A capture record cannot be decoded (not JSON, no endpointInput, unknown encoding)."""


@dataclass(frozen=True)
class Window:
    start: datetime | None = None
    end: datetime | None = None

    def holds(self, moment: datetime) -> bool:
        return (self.start is None or moment >= self.start) and (self.end is None or moment < self.end)

    @cached_property
    def _bounds(self) -> tuple[str, str]:
        return (_stamp(self.start) if self.start else "", _stamp(self.end) if self.end else "")

    def holds_stamp(self, stamp: str) -> bool:
        """Whether an inferenceTime is in the window; `yyyy-mm-ddThh:mm:ssZ` stamps compare as text (fast path)."""
        if self.start is None and self.end is None:
            return True
        if len(stamp) == 20 and stamp[-1] == "Z" and stamp[10] == "T":
            text = stamp[:19]
            return (self.start is None or text >= self._bounds[0]) and (self.end is None or text < self._bounds[1])
        return self.holds(parse_time(stamp))

    def may_hold_hour(self, hour: datetime) -> bool:
        return (self.start is None or hour + timedelta(hours=1) > self.start) and (self.end is None or hour < self.end)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def parse_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _hour_of(path: Path) -> datetime | None:
    """The yyyy/mm/dd/hh folder a capture file sits in, when it does."""
    parts = path.parent.parts[-4:]
    if len(parts) == 4 and all(p.isdigit() for p in parts):
        year, month, day, hour = (int(p) for p in parts)
        return datetime(year, month, day, hour, tzinfo=UTC)
    return None


def capture_files(root: Path, window: Window) -> list[Path]:
    """Capture files under root, skipping hour folders that cannot hold the window's records."""
    files = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix in CAPTURE_SUFFIXES:
            hour = _hour_of(path)
            if hour is None or window.may_hold_hour(hour):
                files.append(path)
    return files


@dataclass
class RecordBatch:
    csv_rows: list[str] = field(default_factory=list)
    json_payloads: list[Any] = field(default_factory=list)
    records: int = 0

    @property
    def rows(self) -> int:
        return len(self.csv_rows) + len(self.json_payloads)


def _payload(record: dict[str, Any], index_name: str) -> tuple[str, str]:
    try:
        captured = record["captureData"][index_name]
        data, encoding = captured["data"], str(captured.get("encoding", "")).upper()
    except (KeyError, TypeError) as exc:
        raise CaptureFormatError(f"record has no captureData.{index_name}.data") from exc
    content_type = str(captured.get("observedContentType", "")).lower()
    if encoding == "BASE64":
        data = base64.b64decode(data).decode("utf-8")
        encoding = "JSON" if "json" in content_type else "CSV"
    if encoding not in {"CSV", "JSON"}:
        raise CaptureFormatError(f"unknown capture encoding {encoding!r} ({content_type})")
    return encoding, data


def read_batches(
    files: Iterable[Path], window: Window, index_name: str = "endpointInput", batch_rows: int = BATCH_ROWS
) -> Iterator[RecordBatch]:
    """Decoded inputs of the window's records, file by file, in batches of about batch_rows rows."""
    batch = RecordBatch()
    for path in files:
        with path.open("r", encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                    inside = window.holds_stamp(record["eventMetadata"]["inferenceTime"])
                except (ValueError, KeyError, TypeError) as exc:
                    raise CaptureFormatError(f"{path.name} line {number}: not a capture record ({exc})") from exc
                if not inside:
                    continue
                encoding, data = _payload(record, index_name)
                batch.records += 1
                if encoding == "CSV":
                    batch.csv_rows.extend(data.splitlines() if "\n" in data else (data,))
                else:
                    batch.json_payloads.append(json.loads(data))
                if batch.rows >= batch_rows:
                    yield batch
                    batch = RecordBatch()
    if batch.records:
        yield batch


# ----------------------------------------------------------------------------------------------- decoding
@dataclass
class ShapeTracker:
    """Columns missing from or added to the records, across the batches of a window."""

    columns: list[str]
    missing: set[str] = field(default_factory=set)
    extra: set[str] = field(default_factory=set)
    json_keys: set[str] | None = None  # keys any JSON record carried (None: no JSON input)
    observed_columns: int = 0

    def shape(self) -> ColumnShape:
        absent = set() if self.json_keys is None else set(self.columns) - self.json_keys
        ordered_missing = tuple(c for c in self.columns if c in self.missing | absent)
        return ColumnShape(ordered_missing, tuple(sorted(self.extra)), self.observed_columns)


def _field_counts(rows: list[str]) -> list[int]:
    if any('"' in row for row in rows):
        return [len(fields) for fields in csv.reader(rows)]
    return [row.count(",") + 1 for row in rows]


def csv_frame(rows: list[str], text_columns: set[str], tracker: ShapeTracker) -> pd.DataFrame:
    """Headerless CSV rows in the baseline's column order; short rows leave the tail columns empty."""
    columns = tracker.columns
    counts = _field_counts(rows)
    widest, narrowest = max(counts), min(counts)
    tracker.observed_columns = max(tracker.observed_columns, widest)
    if narrowest < len(columns):
        tracker.missing.update(columns[narrowest:])
    extra = [f"_c{i}" for i in range(len(columns), widest)]  # Spark's names for unnamed CSV columns
    tracker.extra.update(extra)
    return pd.read_csv(
        io.StringIO("\n".join(rows)),
        header=None,
        names=columns + extra,
        dtype={c: str for c in text_columns},
        keep_default_na=False,
        na_values=[""],
        skip_blank_lines=False,
    )


def _json_rows(payload: Any, columns: list[str]) -> list[dict[str, Any]]:
    if isinstance(payload, dict) and "instances" in payload:
        payload = payload["instances"]
    if isinstance(payload, dict):
        return [payload]
    if isinstance(payload, list) and payload and all(isinstance(item, dict) for item in payload):
        if "features" not in columns and all(isinstance(item.get("features"), list) for item in payload):
            # SageMaker's {"instances": [{"features": [...]}]} request format: values by position
            return [dict(zip(columns, item["features"])) for item in payload]  # noqa: B905
        return payload
    if isinstance(payload, list) and payload and all(isinstance(item, list) for item in payload):
        # zip without strict=: the scikit-learn 1.2-1 image runs Python 3.9
        return [dict(zip(columns, item)) for item in payload]  # noqa: B905
    if isinstance(payload, list):
        return [dict(zip(columns, payload))]  # noqa: B905
    raise CaptureFormatError(f"JSON input is neither records nor a list of values: {str(payload)[:80]}")


def json_frame(payloads: list[Any], text_columns: set[str], tracker: ShapeTracker) -> pd.DataFrame:
    """JSON records by name; a column no record carries is missing, a key outside the baseline is extra."""
    rows = [row for payload in payloads for row in _json_rows(payload, tracker.columns)]
    frame = pd.DataFrame.from_records(rows)
    keys = {str(c) for c in frame.columns}
    tracker.observed_columns = max(tracker.observed_columns, len(keys))
    tracker.extra.update(keys - set(tracker.columns))
    tracker.json_keys = keys | (tracker.json_keys or set())
    for column in text_columns & keys:
        frame[column] = frame[column].astype("string")
    return frame


def batch_frames(batch: RecordBatch, text_columns: set[str], tracker: ShapeTracker) -> Iterator[pd.DataFrame]:
    if batch.csv_rows:
        yield csv_frame(batch.csv_rows, text_columns, tracker)
    if batch.json_payloads:
        yield json_frame(batch.json_payloads, text_columns, tracker)
