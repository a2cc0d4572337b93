"""Rows keep their split: train/validation/test by a stable hash, so a model is never scored on rows it
was trained on, across runs and added uploads; and the training data fingerprint."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from retrainer_jobs import preprocess
from retrainer_offline.sample_data import churn


def _run(folder: Path, *extra: str) -> dict:
    code = preprocess.main(
        [
            "--input-dir",
            str(folder / "input"),
            "--output-dir",
            str(folder / "output"),
            "--message-file",
            str(folder / "message"),
            "--target-column",
            "churned",
            *extra,
        ]
    )
    assert code == 0, (folder / "message").read_text()
    return json.loads((folder / "output" / "schema" / "schema.json").read_text())


def _splits(folder: Path) -> dict[str, str]:
    return dict(pd.read_csv(folder / "output" / "schema" / "row-splits.csv").itertuples(index=False))


@pytest.mark.parametrize("id_args", [("--id-column", "customer_id"), ("--drop-columns", "customer_id")])
def test_a_row_keeps_its_split_when_files_are_added(tmp_path: Path, id_args: tuple[str, str]) -> None:
    # Given a first upload, and a later run over it plus a backfill file read before it (new customers, drifted)
    first = churn.table(2000, seed=1)
    later = churn.table(1000, seed=2, drift=0.5, new_category="wallet", id_start=2000)
    churn.write_csv(first, tmp_path / "run1" / "input" / "2026-01.csv")
    churn.write_csv(first, tmp_path / "run2" / "input" / "2026-01.csv")
    churn.write_csv(later, tmp_path / "run2" / "input" / "2025-12-backfill.csv")
    # When both runs preprocess (by the id column, or by row content without one)
    _run(tmp_path / "run1", *id_args)
    _run(tmp_path / "run2", *id_args)
    # Then every row of the first upload is in the same split in both runs
    before, after = _splits(tmp_path / "run1"), _splits(tmp_path / "run2")
    assert all(after[key] == split for key, split in before.items())
    # ... so the first model (trained on run 1's train and validation rows) has seen 0 of run 2's test rows
    seen = {key for key, split in before.items() if split != "test"}
    test_rows = {key for key, split in after.items() if split == "test"}
    assert len(test_rows) > 250 and not seen & test_rows


def test_the_split_keeps_the_70_20_10_proportions(tmp_path: Path) -> None:
    churn.write_csv(churn.table(5000, seed=4), tmp_path / "input" / "a.csv")
    rows = _run(tmp_path, "--id-column", "customer_id")["rows"]
    assert abs(rows["train"] / 5000 - 0.7) < 0.02
    assert abs(rows["validation"] / 5000 - 0.2) < 0.02
    assert abs(rows["test"] / 5000 - 0.1) < 0.02


def test_the_fingerprint_ignores_file_and_row_order_and_sees_any_changed_value(tmp_path: Path) -> None:
    frame = churn.table(500, seed=5)
    # Given the same rows in one file, and shuffled across two files
    churn.write_csv(frame, tmp_path / "a" / "input" / "x.csv")
    shuffled = frame.sample(frac=1, random_state=1)
    churn.write_csv(shuffled.iloc[:250], tmp_path / "b" / "input" / "z.csv")
    churn.write_csv(shuffled.iloc[250:], tmp_path / "b" / "input" / "y.csv")
    # ... and the same rows with one label changed
    changed = frame.copy()
    changed.loc[7, "churned"] = "No" if frame.loc[7, "churned"] == "Yes" else "Yes"
    churn.write_csv(changed, tmp_path / "c" / "input" / "x.csv")
    # When each is preprocessed
    prints = [_run(tmp_path / run, "--id-column", "customer_id")["fingerprint"] for run in "abc"]
    # Then the same data has the same fingerprint (a retrain on it is no new data), a changed label another
    assert prints[0] == prints[1] != prints[2]
