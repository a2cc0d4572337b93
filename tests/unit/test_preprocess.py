"""preprocess.py (the processing job): header CSVs in, XGBoost-ready splits out."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from retrainer_jobs import preprocess


def _write_dataset(folder: Path, rows: int = 100, name: str = "part-1.csv") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(
        {
            "id": range(rows),
            "age": [20 + i % 50 for i in range(rows)],
            "plan": ["basic" if i % 3 else "premium" for i in range(rows)],
            "churned": ["yes" if i % 4 == 0 else "no" for i in range(rows)],
        }
    )
    path = folder / name
    frame.to_csv(path, index=False)
    return path


def _run(tmp_path: Path, *extra: str) -> int:
    return preprocess.main(
        [
            "--input-dir",
            str(tmp_path / "input"),
            "--output-dir",
            str(tmp_path / "output"),
            "--message-file",
            str(tmp_path / "message"),
            "--target-column",
            "churned",
            *extra,
        ]
    )


def test_splits_70_20_10_with_label_first_no_header_and_one_hot(tmp_path: Path) -> None:
    # Given 100 rows in two files with an id column and a categorical column
    _write_dataset(tmp_path / "input", rows=60, name="a.csv")
    _write_dataset(tmp_path / "input" / "2026", rows=40, name="b.csv")
    # When preprocessing drops the id and names the positive label
    code = _run(tmp_path, "--drop-columns", "id", "--positive-label", "yes")
    # Then train/validation/test hold 70/20/10 rows, label first as 0/1, features one-hot, no header
    assert code == 0
    splits = {
        n: pd.read_csv(tmp_path / "output" / n / f"{n}.csv", header=None) for n in ("train", "validation", "test")
    }
    assert {n: len(f) for n, f in splits.items()} == {"train": 70, "validation": 20, "test": 10}
    for frame in splits.values():
        assert set(frame[0].unique()) <= {0, 1}
        assert frame.shape[1] == 1 + 1 + 2  # label, age, plan_basic, plan_premium
    total_positive = sum(int(f[0].sum()) for f in splits.values())
    assert total_positive == 15 + 10  # every 4th row of each file
    assert "Completed" in (tmp_path / "message").read_text()


def test_split_is_reproducible(tmp_path: Path) -> None:
    # Given a dataset preprocessed once
    _write_dataset(tmp_path / "input")
    _run(tmp_path, "--positive-label", "yes")
    first = (tmp_path / "output" / "test" / "test.csv").read_text()
    # When the same data is preprocessed again (a retried job)
    _run(tmp_path, "--positive-label", "yes")
    # Then the test split holds the same rows: champion and challenger are scored on the same held-out data
    assert (tmp_path / "output" / "test" / "test.csv").read_text() == first


@pytest.mark.parametrize(
    ("content", "args", "problem"),
    [
        (b"a,b\n1,2\n" * 20, ("--positive-label", "yes"), "target column 'churned' not found"),
        (b"", (), "a.csv: file is empty"),
        (b"age,churned\n", (), "a.csv: header only"),
        (b"age,churned\n\xff\xfe1,0\n", (), "a.csv: not UTF-8"),
        (b"age,churned\n" + b"1,maybe\n2,no\n" * 10, (), "is not 0/1"),
        (b"age,churned\n" + b"1,1\n" * 20, (), "one class only"),
        (b"age,churned\n1,1\n2,0\n", (), "only 2 rows"),
    ],
    ids=["no target", "empty", "header only", "not utf-8", "string target", "one class", "too few rows"],
)
def test_data_problems_fail_the_job_with_a_message_naming_file_and_problem(
    tmp_path: Path, content: bytes, args: tuple[str, ...], problem: str
) -> None:
    # Given one input file with a data problem
    (tmp_path / "input").mkdir()
    (tmp_path / "input" / "a.csv").write_bytes(content)
    # When the job runs
    # Then it fails, its message names the file and the problem, and it writes no split
    assert _run(tmp_path, *args) == 1
    message = (tmp_path / "message").read_text()
    assert message.startswith("DataValidationError:") and problem in message
    assert not (tmp_path / "output" / "train").exists()


def test_files_with_different_columns_are_named(tmp_path: Path) -> None:
    # Given two files whose columns differ
    _write_dataset(tmp_path / "input", name="a.csv")
    (tmp_path / "input" / "b.csv").write_text("age,churned,extra\n1,yes,3\n")
    # When the job runs
    # Then it fails naming the file that differs and the one it differs from
    assert _run(tmp_path, "--positive-label", "yes") == 1
    assert "b.csv: columns differ from a.csv" in (tmp_path / "message").read_text()
