"""Reading a model's uploaded CSVs with every data problem caught before training.

Every message names the file, the column and the line as the user counts it in that file (line 1
is the header, the first data row is line 2). The rules (README "Data rules"):

- every `.csv` under the input folder is read (sorted by path); the first defines the column order;
  the others may order the same columns differently (read by name); a missing or extra column
  fails naming both files and the columns;
- a column name twice in a header fails;
- cells that are blank or NA-like (`NA`, `N/A`, `?`, `null`, `NaN`, `none`, `-`) are missing values
  (counted in the report); a column missing in more than `max_missing_share` of the rows fails;
- a column whose present values are mostly numbers is numeric; text in more than
  `max_text_share` of its present cells fails with the first offending lines, fewer become missing;
- a column of true/false, yes/no, t/f or y/n (any case) is boolean and becomes 1/0;
- any other column is categorical (one-hot at encoding); more than `max_categories` distinct values
  fails with a hint to add it to drop_columns (an identifier or free text is no feature);
- a column that is a copy of the target, or a perfect function of it, fails as a label leak;
- the target must be binary: 0/1, a boolean pair (true/yes/t/y is positive), or two strings of which
  `positive_label` names the positive one (without it, the later of the two in sorted order).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

try:  # in the repository and in tests
    from retrainer_jobs.inference import (
        BOOLEAN,
        BOOLEAN_VALUES,
        CATEGORICAL,
        NUMERIC,
        is_missing,
        to_numbers,
    )
except ImportError:  # pragma: no cover - in the processing container the job files sit side by side
    from inference import BOOLEAN, BOOLEAN_VALUES, CATEGORICAL, NUMERIC, is_missing, to_numbers  # type: ignore[no-redef]

SHOWN = 5  # offending lines quoted in a message


class DataProblem(Exception):
    """The input data cannot be trained on; the message names the file, the column and the line."""


@dataclass(frozen=True)
class Rules:
    target: str
    drop_columns: tuple[str, ...] = ()
    positive_label: str | None = None
    max_missing_share: float = 0.5
    max_text_share: float = 0.01
    max_categories: int = 100


@dataclass
class Upload:
    """All rows of all files as text cells, with where each row came from."""

    frame: pd.DataFrame
    columns: list[str]  # upload order (the first file's)
    files: np.ndarray  # file of each row
    lines: np.ndarray  # line of each row in its file (header = line 1)

    def where(self, mask: pd.Series | np.ndarray, limit: int = SHOWN) -> str:
        """The first rows of a mask as `file line n, ...`."""
        positions = np.flatnonzero(np.asarray(mask))[:limit]
        return ", ".join(f"{self.files[p]} line {self.lines[p]}" for p in positions)


@dataclass
class Column:
    name: str
    type: str
    categories: list[str] = field(default_factory=list)
    missing: int = 0


@dataclass
class Checked:
    """The upload, its typed feature columns and the 0/1 label."""

    upload: Upload
    columns: list[Column]
    label: np.ndarray
    positive_label: str
    negative_label: str


# ------------------------------------------------------------------------------------ reading
def read_upload(input_dir: Path) -> Upload:
    paths = sorted(p for p in input_dir.rglob("*") if p.is_file() and p.suffix.lower() == ".csv")
    if not paths:
        raise DataProblem(f"no .csv file under {input_dir}")
    frames: list[pd.DataFrame] = []
    files: list[str] = []
    lines: list[int] = []
    first_name, columns = "", []
    for path in paths:
        name = path.relative_to(input_dir).as_posix()
        frame, numbers = _read_file(path, name)
        if not frames:
            first_name, columns = name, list(frame.columns)
        else:
            _same_columns(first_name, columns, name, list(frame.columns))
            frame = frame[columns]
        frames.append(frame)
        files += [name] * len(frame)
        lines += numbers
    return Upload(pd.concat(frames, ignore_index=True), columns, np.array(files), np.array(lines))


def _read_file(path: Path, name: str) -> tuple[pd.DataFrame, list[int]]:
    raw = path.read_bytes()
    if not raw.strip():
        raise DataProblem(f"{name}: file is empty")
    if b"\x00" in raw:
        raise DataProblem(f"{name}: contains NUL bytes; is it a binary file?")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataProblem(f"{name}: not UTF-8 text (byte {exc.start}); is it a CSV?") from exc
    reader = csv.reader(io.StringIO(text))
    header = [cell.strip() for cell in next(reader)]
    _unique_header(name, header)
    rows, lines = [], []
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue  # a blank line
            if len(row) != len(header):
                raise DataProblem(
                    f"{name}: line {reader.line_num} has {len(row)} values but the header has {len(header)} columns"
                )
            rows.append(row)
            lines.append(reader.line_num)
    except csv.Error as exc:
        raise DataProblem(f"{name}: not a readable CSV at line {reader.line_num}: {exc}") from exc
    if not rows:
        raise DataProblem(f"{name}: header only, no data rows")
    return pd.DataFrame(rows, columns=header, dtype=str), lines


def _unique_header(name: str, header: list[str]) -> None:
    if any(not column for column in header):
        raise DataProblem(f"{name}: line 1 has a column without a name (column {header.index('') + 1})")
    seen: dict[str, int] = {}
    for position, column in enumerate(header, start=1):
        if column in seen:
            raise DataProblem(
                f"{name}: column {column!r} appears twice in the header (columns {seen[column]} and {position}); "
                "rename or remove one"
            )
        seen[column] = position


def _same_columns(first: str, columns: list[str], name: str, other: list[str]) -> None:
    missing = [c for c in columns if c not in other]
    extra = [c for c in other if c not in columns]
    if missing or extra:
        differences = []
        if missing:
            differences.append(f"{name} lacks {missing}")
        if extra:
            differences.append(f"{name} has {extra} that {first} has not")
        raise DataProblem(f"{name}: columns differ from {first}: " + "; ".join(differences))


# ------------------------------------------------------------------------------------ checking
def check(upload: Upload, rules: Rules) -> Checked:
    for name in (rules.target, *rules.drop_columns):
        if name not in upload.columns:
            what = "target column" if name == rules.target else "column to drop"
            raise DataProblem(f"{what} {name!r} not found; the columns are {upload.columns[:20]}")
    label, positive, negative = _label(upload, rules)
    features = [c for c in upload.columns if c != rules.target and c not in rules.drop_columns]
    columns = [_typed(upload, name, rules) for name in features]
    for column in columns:
        _no_leak(upload, column, label, rules.target)
    return Checked(upload, columns, label, positive, negative)


def _label(upload: Upload, rules: Rules) -> tuple[np.ndarray, str, str]:
    target = rules.target
    values = upload.frame[target].str.strip()
    blank = is_missing(values)
    if blank.any():
        raise DataProblem(
            f"target column {target!r} has {int(blank.sum())} missing values ({upload.where(blank)}); "
            "every training row needs a label"
        )
    distinct = sorted(values.unique())
    if len(distinct) < 2:
        raise DataProblem(f"target column {target!r} holds one class only ({distinct[0]!r})")
    if len(distinct) > 2:
        rarest = values.value_counts().index[-1]
        raise DataProblem(
            f"target column {target!r} has {len(distinct)} classes ({distinct[:SHOWN]}); only binary targets are "
            f"supported (the rarest, {rarest!r}, at {upload.where(values == rarest)})"
        )
    positive = _positive(distinct, rules)
    negative = distinct[0] if distinct[1] == positive else distinct[1]
    return (values == positive).to_numpy(dtype=int), positive, negative


def _positive(distinct: list[str], rules: Rules) -> str:
    if rules.positive_label is not None:
        if rules.positive_label not in distinct:
            raise DataProblem(
                f"target column {rules.target!r} never takes the positive label {rules.positive_label!r} "
                f"(its values: {distinct})"
            )
        return rules.positive_label
    numbers = pd.to_numeric(pd.Series(distinct), errors="coerce").tolist()
    if sorted(numbers) == [0.0, 1.0]:
        return distinct[numbers.index(1.0)]
    flags = [BOOLEAN_VALUES.get(value.lower()) for value in distinct]
    if sorted(flag for flag in flags if flag is not None) == [0, 1]:
        return distinct[flags.index(1)]
    return distinct[1]  # two other strings: the later in sorted order (README "Data rules")


def _typed(upload: Upload, name: str, rules: Rules) -> Column:
    values = upload.frame[name].str.strip()
    missing = is_missing(values)
    rows = len(values)
    if missing.sum() > rules.max_missing_share * rows:
        raise DataProblem(
            f"column {name!r} is mostly missing: {int(missing.sum())} of {rows} cells are blank or NA-like "
            f"(more than {rules.max_missing_share:.0%}; first at {upload.where(missing, 3)}); "
            "add it to drop_columns or fill it in"
        )
    present = values[~missing]
    if len(present) and present.str.lower().isin(list(BOOLEAN_VALUES)).all():
        return Column(name, BOOLEAN, missing=int(missing.sum()))
    numbers = to_numbers(present)
    if len(present) and numbers.notna().mean() >= 0.5:
        return _numeric(upload, name, missing, numbers.isna(), rules)
    categories = sorted(present.unique())
    if len(categories) > rules.max_categories:
        raise DataProblem(
            f"column {name!r} has {len(categories)} distinct text values (more than max_categories "
            f"{rules.max_categories}; e.g. {categories[:3]}): an identifier or free text is no feature; "
            "add it to drop_columns"
        )
    return Column(name, CATEGORICAL, categories=categories, missing=int(missing.sum()))


def _numeric(upload: Upload, name: str, missing: pd.Series, text: pd.Series, rules: Rules) -> Column:
    """A numeric column; text cells beyond the allowed share fail, fewer count as missing."""
    text_mask = pd.Series(False, index=missing.index)
    text_mask[text.index] = text.to_numpy()
    present = int((~missing).sum())
    if text_mask.sum() > rules.max_text_share * present:
        offending = upload.frame[name][text_mask].head(SHOWN).tolist()
        raise DataProblem(
            f"column {name!r} is numeric but {int(text_mask.sum())} of {present} values are text "
            f"(more than {rules.max_text_share:.0%}): {offending} at {upload.where(text_mask)}; "
            "fix the values or mark them missing (blank or NA)"
        )
    return Column(name, NUMERIC, missing=int(missing.sum() + text_mask.sum()))


def _no_leak(upload: Upload, column: Column, label: np.ndarray, target: str) -> None:
    """Fail when each class of the target always comes with its own single value of the column."""
    values = upload.frame[column.name].str.strip()
    present = ~is_missing(values).to_numpy()
    by_class = [set(values[present & (label == cls)].str.lower()) for cls in (0, 1)]
    if all(len(seen) == 1 for seen in by_class) and by_class[0] != by_class[1]:
        raise DataProblem(
            f"column {column.name!r} is a copy of the target {target!r} (each class always has the same value: "
            f"{sorted(by_class[1])[0]!r} for the positive, {sorted(by_class[0])[0]!r} for the negative): "
            "a label leak; add it to drop_columns"
        )
