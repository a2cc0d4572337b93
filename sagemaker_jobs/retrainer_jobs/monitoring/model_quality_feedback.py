"""Labelled traffic becomes training data: the window's merged rows as one CSV in the model's data folder.

Where: `s3://<DataBucket>/<data prefix><model>/feedback/<name>.csv`, `<name>` being the window's start hour
`yyyy-mm-dd-hh` for an hourly window (else `yyyy-mm-dd-hhmm--yyyy-mm-dd-hhmm`, start and end). The name depends
on the window only, so re-running a window overwrites its file instead of adding another. Beside it,
`<name>.json` lists the event ids of its rows (`{"window", "rows", "event_ids"}`): a record already written for
another window (overlapping windows, a re-analysis) is left out, so the training data never holds a request twice.
Neither the `.json` files (not CSV) nor anything else here is read by Preprocess except the CSV.

What the CSV holds: a header, then one line per labelled row: the request's input columns as the client sent them
(decoded like capture_records: headerless CSV in the model's column order, or JSON records by name), in the order
of the model's schema.json `columns` (upload order), then its `drop_columns` (empty: requests do not carry them;
the `id_column`, if any, gets the record's id, so the stable split stays keyed by id), then the target column
with the model's own label values (`positive_label`/`negative_label`). Preprocess reads files by column name,
so this file joins the uploaded ones; the feature order is the upload's whichever file comes first.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from .capture_records import UTC, CaptureFormatError, Window
from .capture_records import _json_rows as json_rows
from .model_quality_merge import MergedRecord

FEEDBACK_FOLDER = "feedback"


@dataclass(frozen=True)
class FeedbackColumns:
    features: tuple[str, ...]
    target: str
    positive: str = "1"
    negative: str = "0"
    drop: tuple[str, ...] = ()
    id_column: str | None = None

    @classmethod
    def from_schema(cls, document: dict[str, Any]) -> FeedbackColumns:
        """From the model's schema.json (what Preprocess writes)."""
        features = tuple(str(c["name"] if isinstance(c, dict) else c) for c in document.get("columns", []))
        drop = tuple(str(c) for c in document.get("drop_columns") or [] if str(c) not in features)
        return cls(
            features,
            str(document.get("target") or "label"),
            str(document.get("positive_label") or "1"),
            str(document.get("negative_label") or "0"),
            drop,
            document.get("id_column"),
        )

    @property
    def header(self) -> list[str]:
        return [*self.features, *self.drop, self.target]


def window_name(window: Window) -> str:
    if window.start is None or window.end is None:
        raise ValueError("the feedback file of a window needs its start and end")
    start, end = window.start.astimezone(UTC), window.end.astimezone(UTC)
    if end - start == timedelta(hours=1) and start.minute == start.second == 0:
        return start.strftime("%Y-%m-%d-%H")
    return f"{start:%Y-%m-%d-%H%M}--{end:%Y-%m-%d-%H%M}"


def written_event_ids(feedback_dir: Path | None, except_name: str) -> set[str]:
    """Event ids already in the model's feedback data, from every window's list but this window's own."""
    seen: set[str] = set()
    if feedback_dir is None or not feedback_dir.exists():
        return seen
    for path in sorted(feedback_dir.rglob("*.json")):
        if path.stem != except_name:
            seen.update(str(i) for i in json.loads(path.read_text(encoding="utf-8")).get("event_ids", []))
    return seen


def _cells(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def input_rows(record: MergedRecord, features: tuple[str, ...]) -> list[list[str]]:
    """The request's rows as cells in the feature order (raises CaptureFormatError if they do not fit)."""
    if record.encoding == "CSV":
        rows = [row for row in csv.reader(record.data.splitlines()) if row]
        if any(len(row) != len(features) for row in rows):
            raise CaptureFormatError(f"record {record.event_id}: CSV rows do not have {len(features)} columns")
        return rows
    try:
        objects = json_rows(json.loads(record.data), list(features))
    except ValueError as exc:
        raise CaptureFormatError(f"record {record.event_id}: {exc}") from exc
    return [[_cells(item.get(name)) for name in features] for item in objects]


@dataclass
class FeedbackSummary:
    name: str
    rows: int = 0
    records: int = 0
    already_written: int = 0
    not_decodable: int = 0
    files: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "rows": self.rows,
            "records": self.records,
            "already_written": self.already_written,
            "not_decodable": self.not_decodable,
            "files": self.files,
        }


def _feedback_line(columns: FeedbackColumns, cells: list[str], record: MergedRecord, row: int, label: int) -> list:
    extra = []
    for name in columns.drop:
        if name == columns.id_column:
            extra.append(record.key if len(record.labels) == 1 else f"{record.key}-{row}")
        else:
            extra.append("")
    return [*cells, *extra, columns.positive if label == 1 else columns.negative]


def _window_json(window: Window) -> dict[str, str | None]:
    start, end = window.start, window.end
    return {"start": start.isoformat() if start else None, "end": end.isoformat() if end else None}


def write_feedback(
    records: Iterable[MergedRecord],
    columns: FeedbackColumns,
    window: Window,
    output_dir: Path,
    feedback_dir: Path | None = None,
) -> FeedbackSummary:
    """`<name>.csv` and `<name>.json` in output_dir (nothing when no row is new)."""
    name = window_name(window)
    summary = FeedbackSummary(name)
    seen = written_event_ids(feedback_dir, name)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns.header)
    event_ids: list[str] = []
    for record in records:
        if record.event_id in seen:
            summary.already_written += 1
            continue
        try:
            rows = input_rows(record, columns.features)
        except CaptureFormatError:
            rows = []
        if len(rows) != len(record.labels):
            summary.not_decodable += 1
            continue
        seen.add(record.event_id)
        event_ids.append(record.event_id)
        for index, (cells, label) in enumerate(zip(rows, record.labels)):  # noqa: B905 - Python 3.9 in the image
            writer.writerow(_feedback_line(columns, cells, record, index, label))
            summary.rows += 1
    summary.records = len(event_ids)
    if summary.rows:
        output_dir.mkdir(parents=True, exist_ok=True)
        (output_dir / f"{name}.csv").write_text(buffer.getvalue(), encoding="utf-8")
        written = {"window": _window_json(window), "rows": summary.rows, "event_ids": event_ids}
        (output_dir / f"{name}.json").write_text(json.dumps(written), encoding="utf-8")
        summary.files = [f"{name}.csv", f"{name}.json"]
    return summary
