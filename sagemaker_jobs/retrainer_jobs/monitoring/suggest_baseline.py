"""Baseline job: statistics.json and constraints.json from the promoted model's training split (raw columns).

What `DefaultModelMonitor.suggest_baseline` produces, computed with numpy/pandas in the scikit-learn image:
every `.csv` under the input folder (header row, same columns), minus the target and dropped columns, read in
chunks; a column is numeric unless the schema calls it categorical or a value is not a number. Ends with Model
Monitor's ExitMessage `Completed: Job completed successfully with no violations.`
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .constraint_checks import suggest_constraints
from .feature_statistics import DatasetStatistics, FeatureKind

CHUNK_ROWS = 200_000
TEXT_TYPES = {"categorical", "string", "text", "category"}
NUMERIC_TYPES = {"numeric", "number", "integral", "fractional", "integer", "float", "int"}


class BaselineDataError(Exception):
    """The baseline data set cannot be profiled; the message names the file and the problem."""


@dataclass(frozen=True)
class InputSchema:
    """What the model's input contract says about the columns (schema.json): order, kinds, known categories."""

    columns: tuple[str, ...] = ()
    kinds: dict[str, FeatureKind] = field(default_factory=dict)
    categories: dict[str, list[str]] = field(default_factory=dict)
    excluded: frozenset[str] = frozenset()


def _schema_columns(document: dict[str, Any]) -> list[dict[str, Any]]:
    raw = document.get("columns", document.get("features", []))
    if isinstance(raw, dict):
        return [{"name": name, **(spec if isinstance(spec, dict) else {"type": spec})} for name, spec in raw.items()]
    return [item if isinstance(item, dict) else {"name": str(item)} for item in raw]


def read_schema(path: Path | None) -> InputSchema:
    """schema.json as the preprocessing job writes it: `columns` (list or name -> spec) with `type` and
    `categories`, and the `target`, which is not an input. Unknown types are left to the data."""
    if path is None or not path.exists():
        return InputSchema()
    document = json.loads(path.read_text(encoding="utf-8"))
    columns, kinds, categories = [], {}, {}
    for spec in _schema_columns(document):
        name = str(spec["name"])
        columns.append(name)
        kind = str(spec.get("type", spec.get("inferred_type", ""))).lower()
        if kind in TEXT_TYPES:
            kinds[name] = FeatureKind.TEXT
        elif kind in NUMERIC_TYPES:
            kinds[name] = FeatureKind.NUMERIC
        if spec.get("categories"):
            categories[name] = [str(value) for value in spec["categories"]]
    target = document.get("target") or document.get("target_column")
    return InputSchema(tuple(columns), kinds, categories, frozenset([str(target)] if target else []))


def _chunks(path: Path, dtype: dict[str, Any] | None = None) -> Iterator[pd.DataFrame]:
    try:
        yield from pd.read_csv(path, chunksize=CHUNK_ROWS, dtype=dtype, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise BaselineDataError(f"{path.name}: not a readable CSV with a header: {exc}") from exc


def _is_text(column: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(column):
        return True
    if pd.api.types.is_numeric_dtype(column):
        return False
    present = column.dropna()
    return bool(pd.to_numeric(present, errors="coerce").isna().any())


def column_kinds(files: list[Path], schema: InputSchema, excluded: set[str]) -> dict[str, FeatureKind]:
    """Each feature's kind: the schema's when it says, else numeric unless some value is not a number."""
    header = [str(c) for c in pd.read_csv(files[0], nrows=0).columns]
    for path in files[1:]:
        other = [str(c) for c in pd.read_csv(path, nrows=0).columns]
        if set(other) != set(header):
            raise BaselineDataError(f"{path.name}: columns differ from {files[0].name}")
    names = [c for c in (schema.columns or header) if c not in excluded]
    unknown = [c for c in names if c not in header]
    if unknown:
        raise BaselineDataError(f"schema columns not in the data: {unknown}")
    text = {c for c in names if schema.kinds.get(c) is FeatureKind.TEXT}
    undecided = [c for c in names if c not in schema.kinds]
    for path in files:
        if not undecided:
            break
        for chunk in _chunks(path):
            text.update(c for c in undecided if _is_text(chunk[c]))
        undecided = [c for c in undecided if c not in text]
    return {c: FeatureKind.TEXT if c in text else FeatureKind.NUMERIC for c in names}


def profile_baseline(files: list[Path], schema: InputSchema, drop: set[str]) -> DatasetStatistics:
    if not files:
        raise BaselineDataError("no .csv file in the baseline dataset input")
    kinds = column_kinds(files, schema, drop | set(schema.excluded))
    statistics = DatasetStatistics.for_columns(kinds)
    text_columns = {name: str for name, kind in kinds.items() if kind is FeatureKind.TEXT}
    for path in files:
        for chunk in _chunks(path, text_columns):
            statistics.observe(chunk)
    if statistics.item_count == 0:
        raise BaselineDataError("the baseline dataset has a header but no rows")
    return statistics


def suggest_baseline(input_dir: Path, output_dir: Path, schema_path: Path | None, drop: set[str]) -> dict[str, Any]:
    files = sorted(p for p in input_dir.rglob("*.csv") if p.is_file())
    schema = read_schema(schema_path)
    statistics = profile_baseline(files, schema, drop)
    constraints = suggest_constraints(statistics, schema.categories)
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "statistics.json").write_text(json.dumps(statistics.to_json(), indent=2), encoding="utf-8")
    (output_dir / "constraints.json").write_text(json.dumps(constraints, indent=2), encoding="utf-8")
    return {"rows": statistics.item_count, "features": [f.name for f in statistics.features]}
