"""Preprocessing job: a model's header CSVs to XGBoost-ready train/validation/test splits.

Runs in SageMaker's scikit-learn processing image (pandas and numpy available):

    python3 preprocess.py --input-dir /opt/ml/processing/input/data \
        --output-dir /opt/ml/processing/output --target-column y [--drop-columns a,b] \
        [--positive-label yes] [--message-file /opt/ml/output/message]

- reads every `.csv` under the input directory (all must have the same header);
- drops the configured columns, one-hot encodes categorical (non-numeric) columns;
- makes the label 0/1 (`--positive-label` names the positive class of a string target) and puts it
  first; writes `train/`, `validation/` and `test/` without a header, as the built-in XGBoost
  container expects (label in column 0, no header);
- splits 70/20/10 after a seeded shuffle, as SageMaker's XGBoost direct-marketing example does.

A data problem ends the job with exit code 1 and a message naming the file and the problem in the
message file, which SageMaker reports as the job's ExitMessage.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

SEED = 1729  # the direct-marketing example's seed
SPLIT = (0.7, 0.9)  # cut points: 70% train, 20% validation, 10% test
MIN_ROWS = 10


class DataProblem(Exception):
    """The input data cannot be trained on; the message names the file and the problem."""


def read_inputs(input_dir: Path) -> pd.DataFrame:
    files = sorted(p for p in input_dir.rglob("*") if p.is_file() and p.suffix.lower() == ".csv")
    if not files:
        raise DataProblem(f"no .csv file under {input_dir}")
    frames: list[pd.DataFrame] = []
    header: list[str] | None = None
    for path in files:
        name = path.relative_to(input_dir).as_posix()
        frame = _read_one(path, name)
        columns = [str(c) for c in frame.columns]
        if header is None:
            header = columns
        elif columns != header:
            missing = sorted(set(header) - set(columns))
            extra = sorted(set(columns) - set(header))
            raise DataProblem(
                f"{name}: columns differ from {files[0].relative_to(input_dir).as_posix()} "
                f"(missing {missing}, unexpected {extra})"
            )
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _read_one(path: Path, name: str) -> pd.DataFrame:
    raw = path.read_bytes()
    if not raw.strip():
        raise DataProblem(f"{name}: file is empty")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataProblem(f"{name}: not UTF-8 text (byte {exc.start}); is it a CSV?") from exc
    if b"\x00" in raw:
        raise DataProblem(f"{name}: contains NUL bytes; is it a binary file?")
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataProblem(f"{name}: not a readable CSV: {exc}") from exc
    if frame.empty:
        raise DataProblem(f"{name}: header only, no data rows")
    return frame


def encode_label(column: pd.Series, target: str, positive_label: str | None) -> pd.Series:
    if positive_label is not None:
        as_text = column.astype(str)
        if not (as_text == positive_label).any():
            raise DataProblem(f"target column {target!r} never takes the positive label {positive_label!r}")
        return (as_text == positive_label).astype(int)
    values = set(pd.unique(column.dropna()))
    if values <= {0, 1}:
        return column.astype(int)
    raise DataProblem(
        f"target column {target!r} is not 0/1 (values: {sorted(map(str, values))[:5]}); "
        "set positive_label in the model's configuration"
    )


def prepare(frame: pd.DataFrame, target: str, drop: list[str], positive_label: str | None) -> pd.DataFrame:
    if target not in frame.columns:
        raise DataProblem(f"target column {target!r} not found; columns are {list(frame.columns)[:20]}")
    unknown = [c for c in drop if c not in frame.columns]
    if unknown:
        raise DataProblem(f"columns to drop not found: {unknown}")
    if frame[target].isna().any():
        raise DataProblem(f"target column {target!r} has {int(frame[target].isna().sum())} empty values")
    label = encode_label(frame[target], target, positive_label)
    features = frame.drop(columns=[target, *drop])
    features = pd.get_dummies(features, dtype=int)
    prepared = pd.concat([label.rename(target), features], axis=1)
    if len(prepared) < MIN_ROWS:
        raise DataProblem(f"only {len(prepared)} rows; at least {MIN_ROWS} are needed to split 70/20/10")
    if prepared[target].nunique() < 2:
        raise DataProblem(f"target column {target!r} holds one class only")
    return prepared


def split(prepared: pd.DataFrame, seed: int = SEED) -> dict[str, pd.DataFrame]:
    shuffled = prepared.sample(frac=1, random_state=seed)
    # np.split(df, [int(.7 * len(df)), int(.9 * len(df))]) in the example; iloc keeps DataFrames.
    first, second = int(SPLIT[0] * len(shuffled)), int(SPLIT[1] * len(shuffled))
    return {
        "train": shuffled.iloc[:first],
        "validation": shuffled.iloc[first:second],
        "test": shuffled.iloc[second:],
    }


def write(splits: dict[str, pd.DataFrame], output_dir: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for name, frame in splits.items():
        folder = output_dir / name
        folder.mkdir(parents=True, exist_ok=True)
        frame.to_csv(folder / f"{name}.csv", header=False, index=False)
        counts[name] = len(frame)
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input-dir", type=Path, required=True)
    parser.add_argument("--output-dir", type=Path, required=True)
    parser.add_argument("--target-column", required=True)
    parser.add_argument("--drop-columns", default="")
    parser.add_argument("--positive-label", default="")
    parser.add_argument("--message-file", type=Path, default=None)
    args = parser.parse_args(argv)
    drop = [c.strip() for c in args.drop_columns.split(",") if c.strip()]
    try:
        prepared = prepare(read_inputs(args.input_dir), args.target_column, drop, args.positive_label or None)
        counts = write(split(prepared), args.output_dir)
    except DataProblem as problem:
        message = f"DataValidationError: {problem}"
        print(message, file=sys.stderr)
        _write_message(args.message_file, message)
        return 1
    summary = {"rows": counts, "features": len(prepared.columns) - 1, "label": args.target_column}
    print(json.dumps(summary))
    _write_message(args.message_file, "Completed: " + json.dumps(summary))
    return 0


def _write_message(path: Path | None, message: str) -> None:
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(message[:1024], encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
