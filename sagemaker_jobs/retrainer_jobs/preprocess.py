"""Preprocessing job: a model's uploaded CSVs to XGBoost training files, a test split, a schema and
the feature model that serves raw rows.

Runs in SageMaker's scikit-learn processing image (Python 3.9, pandas, numpy):

    python3 preprocess.py --input-dir /opt/ml/processing/input/data \
        --output-dir /opt/ml/processing/output --target-column y [--drop-columns a,b] \
        [--positive-label yes] [--id-column customer_id] [--max-missing-share 0.5] \
        [--max-text-share 0.01] [--max-categories 100] [--message-file /opt/ml/output/message]

Reads and checks every `.csv` under the input folder (data_checks.py: each problem ends the job
with exit code 1 and a message naming the file, column and line, which SageMaker reports as the
job's ExitMessage), fits the feature encoder and writes, under the output folder:

- `train/train.csv`, `validation/validation.csv`: label (0/1) first, encoded features, no header,
  `nan` for missing values (the built-in XGBoost container's CSV layout);
- `test/test.csv`: the test rows in the same encoded layout (what a single-container XGBoost
  model scores: today's ScoreChallenger/ScoreChampion transforms);
- `test-raw/test.csv`: the same rows, label first, then the raw input columns in upload order
  (minus the target, drop_columns and id_column), no header: what a client sends, so the transform
  of the pipeline model (DataProcessing InputFilter `$[1:]`, JoinSource Input, OutputFilter
  `$[0,-1]`) scores it and keeps `label,score` per line;
- `test-raw/recent.csv` (only when some test rows come from the newest feedback files, `feedback/*.csv` under
  the model's folder: labelled traffic the model-quality runs write, windows starting at most RECENT_DAYS
  before the newest): those rows again, in the same layout. The transforms
  score every file under `test-raw/`, so Evaluate scores this recent window beside the holdout. The holdout
  (`test.csv`) keeps every test row, feedback included: its meaning (the hash-split 10% of everything in the
  folder) does not depend on whether feedback exists, and without feedback every output is what it was;
- `schema/schema.json` (the input schema; with feedback files, `recent_window` counts their test rows)
  and `schema/row-splits.csv` (`key,split` of every row:
  how many test rows a model has seen is the overlap of its train/validation keys with these);
- `encoder/model.tar.gz`: the feature model for SageMaker's scikit-learn serving container
  (`code/inference.py`, `encoder.json`, `schema.json`); see inference.py.

Each row goes to train/validation/test (70/20/10) by a hash of its id (`--id-column`) or else of
its normalised feature values, so a row keeps its split across runs and uploads.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import gzip
import hashlib
import io
import json
import sys
import tarfile
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pandas as pd

try:  # in the repository and in tests
    from retrainer_jobs import inference
    from retrainer_jobs.data_checks import Checked, DataProblem, Rules, check, read_upload
except ImportError:  # pragma: no cover - in the processing container the job files sit side by side
    import inference  # type: ignore[no-redef]
    from data_checks import Checked, DataProblem, Rules, check, read_upload  # type: ignore[no-redef]

SCHEMA_FORMAT = "retrainer-input-schema/1"
SPLITS = (("train", 0.7), ("validation", 0.9), ("test", 1.0))  # cumulative shares: 70/20/10
MIN_ROWS = 10
FEEDBACK_FOLDER = "feedback"  # <model>/feedback/*.csv: labelled traffic (retrainer.naming.FEEDBACK_FOLDER)
RECENT_FILE = "recent.csv"  # test-raw/recent.csv: the recent window (retrainer.services.evaluation reads its .out)
RECENT_DAYS = 7  # the recent window: feedback windows starting at most this long before the newest one


# ------------------------------------------------------------------------------ stable split
def normalised(checked: Checked) -> pd.DataFrame:
    """Each feature cell in one spelling: numbers and booleans as numbers, missing as blank."""
    frame = checked.upload.frame
    cells: dict[str, pd.Series] = {}
    for column in checked.columns:
        values = frame[column.name].str.strip()
        if column.type == inference.CATEGORICAL:
            cells[column.name] = values.where(~inference.is_missing(values), "")
        else:
            convert = inference.to_numbers if column.type == inference.NUMERIC else inference.to_booleans
            cells[column.name] = convert(values).map(lambda v: "" if pd.isna(v) else inference.format_number(v))
    return pd.DataFrame(cells, index=frame.index)


def row_keys(checked: Checked, content: pd.DataFrame, id_column: str | None) -> list[str]:
    """A stable key per row: of its id when there is one, else of its feature values by column name."""
    if id_column is not None:
        ids = checked.upload.frame[id_column].str.strip()
        if not inference.is_missing(ids).any():
            return [_digest("id\x1f" + value) for value in ids]
    names = sorted(content.columns)
    return [_digest("\x1e".join(f"{n}\x1f{v}" for n, v in zip(names, row))) for row in content[names].itertuples(False)]  # noqa: B905 - Python 3.9 in the image


def assign(keys: list[str]) -> np.ndarray:
    """train/validation/test by where the key's hash falls in [0, 1)."""
    position = np.array([int(key[:15], 16) / 16**15 for key in keys])
    names = np.array([name for name, _ in SPLITS])
    return names[np.searchsorted([cut for _, cut in SPLITS], position, side="right")]


def fingerprint(checked: Checked, content: pd.DataFrame) -> str:
    """Order-independent hash of the training data: the rows' features and labels, with the columns' meaning."""
    header = json.dumps({"columns": list(content.columns), "positive_label": checked.positive_label}, sort_keys=True)
    rows = sorted(
        _digest("\x1e".join([str(label), *row]))
        for label, row in zip(checked.label.tolist(), content.itertuples(False))  # noqa: B905 - Python 3.9
    )
    return "sha256:" + _digest(header + "\n" + "\n".join(rows))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ------------------------------------------------------------------------------ outputs
def encoder_spec(checked: Checked) -> dict[str, Any]:
    columns = [
        {"name": c.name, "type": c.type, **({"categories": c.categories} if c.type == inference.CATEGORICAL else {})}
        for c in checked.columns
    ]
    return {"format": inference.ENCODER_FORMAT, "columns": columns, "features": inference.feature_names(columns)}


def schema(
    checked: Checked,
    rules: Rules,
    id_column: str | None,
    counts: dict[str, int],
    print_: str,
    recent: dict[str, Any] | None = None,
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "format": SCHEMA_FORMAT,
        "columns": [
            {
                "name": c.name,
                "type": c.type,
                **({"categories": c.categories} if c.type == inference.CATEGORICAL else {}),
                "missing": c.missing,
            }
            for c in checked.columns
        ],
        "target": rules.target,
        "positive_label": checked.positive_label,
        "negative_label": checked.negative_label,
        "drop_columns": list(rules.drop_columns),
        "id_column": id_column,
        "features": inference.feature_names(encoder_spec(checked)["columns"]),
        "rows": counts,
        "missing": {c.name: c.missing for c in checked.columns if c.missing},
        "fingerprint": print_,
        "files": sorted(set(checked.upload.files.tolist())),
        "split": {
            "method": "sha256 of the id column, else of the normalised feature values",
            "shares": [0.7, 0.2, 0.1],
        },
    }
    if recent is not None:  # only with feedback: a model without it keeps the schema it had, byte for byte
        document["recent_window"] = recent
    return document


def is_feedback(name: str) -> bool:
    """A file (relative to the model's folder) the model-quality runs wrote: `feedback/<window>.csv`."""
    return name.startswith(FEEDBACK_FOLDER + "/")


def window_start(name: str) -> datetime | None:
    """When a feedback file's window starts: `<yyyy-mm-dd-hh>.csv` or `<yyyy-mm-dd-hhmm>--<end>.csv`."""
    stem = PurePosixPath(name).stem.split("--")[0]
    for layout in ("%Y-%m-%d-%H", "%Y-%m-%d-%H%M"):  # hours first: `%H%M` would read `10` as 01:00
        try:
            return datetime.strptime(stem, layout)
        except ValueError:
            continue
    return None


def recent_files(names: list[str]) -> tuple[list[str], list[str]]:
    """The feedback files, and those of the recent window: windows starting at most RECENT_DAYS before the
    newest one (a file whose name carries no window counts as recent: its age is unknown)."""
    feedback = sorted({name for name in names if is_feedback(name)})
    starts = {name: window_start(name) for name in feedback}
    known = [start for start in starts.values() if start is not None]
    if not known:
        return feedback, feedback
    since = max(known) - timedelta(days=RECENT_DAYS)
    return feedback, [name for name, start in starts.items() if start is None or start >= since]


def recent_summary(feedback: list[str], window: list[str], rows: int) -> dict[str, Any] | None:
    """schema.json's `recent_window`; None (no key) without feedback files."""
    if not feedback:
        return None
    return {
        "rows": rows,
        "source": f"test rows of {FEEDBACK_FOLDER}/*.csv (labelled traffic), windows of the newest {RECENT_DAYS} days",
        "file": f"test-raw/{RECENT_FILE}" if rows else "",
        "files": window,
        "feedback_files": len(feedback),
    }


def raw_test_rows(checked: Checked, mask: np.ndarray) -> str:
    """Label, then the input columns as uploaded (stripped), CSV-quoted where a cell needs it."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    names = [c.name for c in checked.columns]
    raw = checked.upload.frame.loc[mask, names]
    for label, row in zip(checked.label[mask].tolist(), raw.itertuples(False)):  # noqa: B905 - Python 3.9
        writer.writerow([label, *(cell.strip() for cell in row)])
    return buffer.getvalue()


def model_artifact(encoder: dict[str, Any], schema_document: dict[str, Any]) -> bytes:
    """model.tar.gz for the scikit-learn serving container; byte-identical for identical inputs."""
    files = {
        "code/inference.py": Path(inference.__file__).read_bytes(),
        inference.ENCODER_FILE: json.dumps(encoder, indent=1).encode(),
        "schema.json": json.dumps(schema_document, indent=1).encode(),
    }
    buffer = io.BytesIO()
    # gzip writes the current time into its header unless told otherwise: mtime=0 keeps reruns byte-identical.
    # Nested, not parenthesised: the scikit-learn 1.2-1 image runs this on Python 3.9.
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as compressed:  # noqa: SIM117
        with tarfile.open(fileobj=compressed, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for name, body in files.items():
                info = tarfile.TarInfo(name)
                info.size, info.mode, info.mtime = len(body), 0o644, 0
                tar.addfile(info, io.BytesIO(body))
    return buffer.getvalue()


def _write(path: Path, body: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(body, bytes):
        path.write_bytes(body)
    else:
        path.write_text(body, encoding="utf-8")


# ------------------------------------------------------------------------------ the job
def run(input_dir: Path, output_dir: Path, rules: Rules, id_column: str | None = None) -> dict[str, Any]:
    """Read, check, split, encode and write everything; returns the schema."""
    upload = read_upload(input_dir)
    if id_column is not None and id_column not in upload.columns:
        raise DataProblem(f"id column {id_column!r} not found; the columns are {upload.columns[:20]}")
    if id_column is not None and id_column not in rules.drop_columns:
        rules = dataclasses.replace(rules, drop_columns=(*rules.drop_columns, id_column))
    if len(upload.frame) < MIN_ROWS:
        raise DataProblem(f"only {len(upload.frame)} rows; at least {MIN_ROWS} are needed to split 70/20/10")
    checked = check(upload, rules)
    content = normalised(checked)
    keys = row_keys(checked, content, id_column)
    split = assign(keys)
    counts = {name: int((split == name).sum()) for name, _ in SPLITS}
    for name, count in counts.items():
        if count == 0:
            raise DataProblem(f"the {name} split is empty with {len(split)} rows ({counts}); upload more rows")
    if len(set(checked.label[split == "train"].tolist())) < 2:
        raise DataProblem(f"the train split holds one class of {rules.target!r} only; upload more rows of both")
    encoder = encoder_spec(checked)
    feedback, window = recent_files(upload.files.tolist())
    recent = (split == "test") & np.isin(upload.files, window)
    summary = recent_summary(feedback, window, int(recent.sum()))
    document = schema(checked, rules, id_column, counts, fingerprint(checked, content), summary)
    matrix = inference.encode(upload.frame, encoder)
    for name in ("train", "validation"):
        mask = split == name
        _write(output_dir / name / f"{name}.csv", inference.to_csv_lines(matrix[mask], checked.label[mask]))
    test = split == "test"
    _write(output_dir / "test" / "test.csv", inference.to_csv_lines(matrix[test], checked.label[test]))
    _write(output_dir / "test-raw" / "test.csv", raw_test_rows(checked, test))
    if recent.any():  # no file without rows: a transform of an empty file has nothing to say
        _write(output_dir / "test-raw" / RECENT_FILE, raw_test_rows(checked, recent))
    _write(output_dir / "schema" / "schema.json", json.dumps(document, indent=1))
    _write(output_dir / "schema" / "row-splits.csv", "key,split\n" + "".join(f"{k},{s}\n" for k, s in zip(keys, split)))  # noqa: B905
    _write(output_dir / "encoder" / "model.tar.gz", model_artifact(encoder, document))
    return document


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--input-dir", type=Path, required=True)
    parser.add_argument("--output-dir", type=Path, required=True)
    parser.add_argument("--target-column", required=True)
    parser.add_argument("--drop-columns", default="")
    parser.add_argument("--positive-label", default="")
    parser.add_argument("--id-column", default="")
    parser.add_argument("--max-missing-share", type=float, default=Rules.max_missing_share)
    parser.add_argument("--max-text-share", type=float, default=Rules.max_text_share)
    parser.add_argument("--max-categories", type=int, default=Rules.max_categories)
    parser.add_argument("--message-file", type=Path, default=None)
    args = parser.parse_args(argv)
    rules = Rules(
        target=args.target_column,
        drop_columns=tuple(c.strip() for c in args.drop_columns.split(",") if c.strip()),
        positive_label=args.positive_label or None,
        max_missing_share=args.max_missing_share,
        max_text_share=args.max_text_share,
        max_categories=args.max_categories,
    )
    try:
        document = run(args.input_dir, args.output_dir, rules, args.id_column or None)
    except DataProblem as problem:
        message = f"DataValidationError: {problem}"
        print(message, file=sys.stderr)
        _write_message(args.message_file, message)
        return 1
    summary = {
        "rows": document["rows"],
        "features": len(document["features"]),
        "label": document["target"],
        "positive_label": document["positive_label"],
        "missing": document["missing"],
        "fingerprint": document["fingerprint"],
    }
    print(json.dumps(summary))
    _write_message(args.message_file, "Completed: " + json.dumps(summary))
    return 0


def _write_message(path: Path | None, message: str) -> None:
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(message[:1024], encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
