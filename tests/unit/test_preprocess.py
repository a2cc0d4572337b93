"""preprocess.py (the processing job): header CSVs in; XGBoost files, a raw test split, a schema and
the feature model out. The data rules, the split and serving have their own files
(test_input_contract_*.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pandas as pd
import pytest

from retrainer_jobs import preprocess
from retrainer_offline.sample_data import churn

JOB_FILES = Path(preprocess.__file__).parent


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


def _split(tmp_path: Path, name: str) -> pd.DataFrame:
    file = "test.csv" if name == "test-raw" else f"{name}.csv"
    return pd.read_csv(tmp_path / "output" / name / file, header=None, keep_default_na=False)


def test_writes_label_first_headerless_splits_a_raw_test_split_a_schema_and_the_feature_model(tmp_path: Path) -> None:
    # Given 1,000 churn rows in two files (a text id, numbers with blanks, categories, booleans, a Yes/No target)
    frame = churn.table(1000, seed=3)
    churn.write_csv(frame.iloc[:600], tmp_path / "input" / "a.csv")
    churn.write_csv(frame.iloc[600:], tmp_path / "input" / "2026" / "b.csv")
    # When preprocessing with the id column and the positive label
    code = _run(tmp_path, "--id-column", "customer_id", "--positive-label", "Yes")
    # Then it completes; train/validation are label-first 0/1, 11 numeric features wide, no header
    assert code == 0, (tmp_path / "message").read_text()
    train, validation, test, raw = (_split(tmp_path, n) for n in ("train", "validation", "test", "test-raw"))
    for encoded in (train, validation, test):
        assert set(encoded[0].unique()) <= {0, 1}
        assert encoded.shape[1] == 1 + 11  # tenure, charges, 3 contracts, 4 payments, paperless, senior
    # ... the raw test split holds the same rows: label first, then the columns a client sends (no id, no target)
    assert raw.shape == (len(test), 1 + 6) and raw[0].tolist() == test[0].tolist()
    assert set(raw[3]) <= {"month-to-month", "one-year", "two-year"} and set(raw[5]) <= {"Yes", "No"}
    # ... the rows are all there, split about 70/20/10, with every positive counted once
    assert len(train) + len(validation) + len(test) == 1000
    assert 0.62 < len(train) / 1000 < 0.78 and 0.05 < len(test) / 1000 < 0.15
    positives = int(train[0].sum() + validation[0].sum() + test[0].sum())
    assert positives == int((frame["churned"] == "Yes").sum())
    # ... the schema is beside the splits and inside the feature model, which SageMaker can serve
    schema = json.loads((tmp_path / "output" / "schema" / "schema.json").read_text())
    assert schema["rows"] == {"train": len(train), "validation": len(validation), "test": len(test)}
    with tarfile.open(tmp_path / "output" / "encoder" / "model.tar.gz") as tar:
        assert sorted(tar.getnames()) == ["code/inference.py", "encoder.json", "schema.json"]
        assert json.loads(tar.extractfile("schema.json").read()) == schema  # type: ignore[union-attr]
    message = (tmp_path / "message").read_text()
    assert message.startswith("Completed: ") and schema["fingerprint"] in message


def test_a_rerun_on_the_same_files_writes_the_same_bytes(tmp_path: Path) -> None:
    # Given one upload
    churn.write_csv(churn.table(300), tmp_path / "input" / "a.csv")
    # When preprocessing runs twice
    _run(tmp_path, "--id-column", "customer_id")
    first = {p.relative_to(tmp_path): p.read_bytes() for p in (tmp_path / "output").rglob("*") if p.is_file()}
    shutil.rmtree(tmp_path / "output")
    _run(tmp_path, "--id-column", "customer_id")
    second = {p.relative_to(tmp_path): p.read_bytes() for p in (tmp_path / "output").rglob("*") if p.is_file()}
    # Then every output, the model artifact included, is byte-identical
    assert first == second


@pytest.mark.parametrize(
    ("content", "args", "problem"),
    [
        (b"a,b\n1,2\n" * 20, ("--positive-label", "yes"), "target column 'churned' not found"),
        (b"", (), "a.csv: file is empty"),
        (b"age,churned\n", (), "a.csv: header only"),
        (b"age,churned\n\xff\xfe1,0\n", (), "a.csv: not UTF-8"),
        (b"age,churned\n" + b"1,maybe\n2,no\n3,yes\n" * 5, (), "has 3 classes"),
        (b"age,churned\n" + b"1,1\n" * 20, (), "one class only"),
        (b"age,churned\n1,1\n2,0\n", (), "only 2 rows"),
    ],
    ids=["no target", "empty", "header only", "not utf-8", "three classes", "one class", "too few rows"],
)
def test_data_problems_fail_the_job_with_a_message_and_write_nothing(
    tmp_path: Path, content: bytes, args: tuple[str, ...], problem: str
) -> None:
    (tmp_path / "input").mkdir()
    (tmp_path / "input" / "a.csv").write_bytes(content)
    assert _run(tmp_path, *args) == 1
    message = (tmp_path / "message").read_text()
    assert message.startswith("DataValidationError:") and problem in message
    assert not (tmp_path / "output" / "train").exists()


def test_runs_as_the_processing_container_runs_it_a_script_beside_its_sibling_files(tmp_path: Path) -> None:
    # Given the published job files side by side, as in /opt/ml/processing/input/code, and no repository on the path
    code = tmp_path / "code"
    code.mkdir()
    for path in JOB_FILES.glob("*.py"):
        if path.name != "__init__.py":
            shutil.copy(path, code / path.name)
    churn.write_csv(churn.table(200), tmp_path / "input" / "a.csv")
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    # When the container's command runs it
    completed = subprocess.run(
        [
            sys.executable,
            str(code / "preprocess.py"),
            "--input-dir",
            str(tmp_path / "input"),
            "--output-dir",
            str(tmp_path / "output"),
            "--target-column",
            "churned",
            "--id-column",
            "customer_id",
        ],
        env=environment,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    # Then it completes and writes the feature model
    assert completed.returncode == 0, completed.stderr
    assert (tmp_path / "output" / "encoder" / "model.tar.gz").exists()
