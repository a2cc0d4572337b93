"""The data rules: every problem in an upload is caught in Preprocess, before training, with a message
naming the file, the column and the line as the user counts it (header = line 1)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from retrainer_jobs import preprocess
from retrainer_offline.sample_data import churn

BAD = churn.bad_csvs()


def _run(tmp_path: Path, *extra: str) -> tuple[int, str]:
    code = preprocess.main(
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
    return code, (tmp_path / "message").read_text()


def _schema(tmp_path: Path) -> dict:
    return json.loads((tmp_path / "output" / "schema" / "schema.json").read_text())


def _features(tmp_path: Path) -> pd.DataFrame:
    frames = [
        pd.read_csv(tmp_path / "output" / n / f"{n}.csv", header=None, keep_default_na=False)
        for n in ("train", "validation")
    ]
    return pd.concat(frames, ignore_index=True)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("empty.csv", ["empty.csv: file is empty"]),
        ("header-only.csv", ["header-only.csv: header only, no data rows"]),
        ("latin-1.csv", ["latin-1.csv: not UTF-8 text"]),
        ("ragged.csv", ["ragged.csv: line 4 has 8 values but the header has 9 columns"]),
        ("duplicate-column.csv", ["duplicate-column.csv: column 'tenure_months' appears twice", "columns 2 and 7"]),
        (
            "text-in-numeric.csv",
            [
                "column 'tenure_months' is numeric but 10 of 200 values are text",
                "'unknown'",
                "text-in-numeric.csv line 2, text-in-numeric.csv line 22",
            ],
        ),
        ("mostly-missing.csv", ["column 'monthly_charges' is mostly missing", "mostly-missing.csv line 2"]),
        ("label-leak.csv", ["column 'churn_flag' is a copy of the target 'churned'", "label leak", "drop_columns"]),
        ("id-as-feature.csv", ["column 'customer_id' has 200 distinct text values", "add it to drop_columns"]),
        ("blank-target.csv", ["target column 'churned' has 2 missing values", "blank-target.csv line 7"]),
        (
            "three-classes.csv",
            ["target column 'churned' has 3 classes", "the rarest, 'Maybe', at three-classes.csv line 5"],
        ),
        ("one-class.csv", ["target column 'churned' holds one class only"]),
    ],
)
def test_each_bad_csv_fails_with_a_message_naming_file_column_and_line(
    tmp_path: Path, name: str, expected: list[str]
) -> None:
    # Given one malformed upload from the corpus
    (tmp_path / "input").mkdir()
    (tmp_path / "input" / name).write_bytes(BAD[name])
    # When preprocessing runs (the id dropped, except where keeping it is the problem)
    drop = () if name == "id-as-feature.csv" else ("--drop-columns", "customer_id")
    code, message = _run(tmp_path, *drop)
    # Then the job fails before writing anything, and the message says what and where
    assert code == 1
    assert message.startswith("DataValidationError: ")
    for fragment in expected:
        assert fragment in message
    assert not (tmp_path / "output" / "train").exists()


def test_missing_tokens_become_missing_values_counted_in_the_schema(tmp_path: Path) -> None:
    # Given a numeric and a categorical column holding every missing spelling once
    frame = churn.table(200, missing_share=0.0)
    tokens = ["", "NA", "N/A", "?", "null", "NaN", "none", "-", " na "]
    frame["monthly_charges"] = frame["monthly_charges"].astype(object)
    frame.loc[range(len(tokens)), "monthly_charges"] = tokens
    frame.loc[range(len(tokens)), "contract"] = tokens
    churn.write_csv(frame, tmp_path / "input" / "a.csv")
    # When preprocessing runs
    code, message = _run(tmp_path, "--drop-columns", "customer_id")
    # Then it completes; both columns report 9 missing cells and keep their type
    assert code == 0, message
    schema = _schema(tmp_path)
    assert schema["missing"] == {"monthly_charges": 9, "contract": 9}
    types = {c["name"]: c["type"] for c in schema["columns"]}
    assert types["monthly_charges"] == "numeric" and types["contract"] == "categorical"
    assert "NA" not in next(c for c in schema["columns"] if c["name"] == "contract")["categories"]
    # ... and XGBoost receives them as nan (not as a parse error at Train)
    assert (_features(tmp_path)[2] == "nan").sum() >= 1


def test_a_few_text_cells_in_a_numeric_column_count_as_missing(tmp_path: Path) -> None:
    # Given 1 text cell among 200 numbers (0.5%, under the 1% allowed)
    frame = churn.table(200)
    frame["tenure_months"] = frame["tenure_months"].astype(object)
    frame.loc[10, "tenure_months"] = "unknown"
    churn.write_csv(frame, tmp_path / "input" / "a.csv")
    # When preprocessing runs
    code, message = _run(tmp_path, "--drop-columns", "customer_id")
    # Then it completes with the cell counted missing; with a stricter share it fails naming the line
    assert code == 0, message
    assert _schema(tmp_path)["missing"]["tenure_months"] == 1
    code, message = _run(tmp_path, "--drop-columns", "customer_id", "--max-text-share", "0")
    assert code == 1 and "a.csv line 12" in message


def test_boolean_columns_become_one_and_zero(tmp_path: Path) -> None:
    # Given Yes/No and True/False columns, and a y/n column in mixed case
    frame = churn.table(200)
    frame["flag"] = ["Y" if i % 3 else "n" for i in range(200)]
    churn.write_csv(frame, tmp_path / "input" / "a.csv")
    # When preprocessing runs
    code, message = _run(tmp_path, "--drop-columns", "customer_id")
    # Then all three are boolean features holding only 0 and 1
    assert code == 0, message
    schema = _schema(tmp_path)
    booleans = [c["name"] for c in schema["columns"] if c["type"] == "boolean"]
    assert booleans == ["paperless_billing", "senior", "flag"]
    features = _features(tmp_path)
    for name in booleans:
        assert set(features[1 + schema["features"].index(name)]) <= {0, 1}


def test_files_with_the_same_columns_in_another_order_are_read_by_name(tmp_path: Path) -> None:
    # Given the same rows uploaded once in one file, once split in two files with the columns reordered
    frame = churn.table(400)
    churn.write_csv(frame, tmp_path / "one" / "input" / "a.csv")
    churn.write_csv(frame.iloc[:200], tmp_path / "two" / "input" / "a.csv")
    churn.write_csv(frame.iloc[200:, ::-1], tmp_path / "two" / "input" / "b.csv")
    # When both are preprocessed
    results = [_run(tmp_path / run, "--id-column", "customer_id") for run in ("one", "two")]
    # Then both complete with the first file's column order and the same training data
    assert [code for code, _ in results] == [0, 0], results
    one, two = _schema(tmp_path / "one"), _schema(tmp_path / "two")
    assert two["features"] == one["features"] and one["fingerprint"] == two["fingerprint"]


def test_a_file_with_a_missing_and_an_extra_column_names_both_files_and_the_columns(tmp_path: Path) -> None:
    # Given a second file without `senior` and with a new `region` column
    frame = churn.table(200)
    churn.write_csv(frame, tmp_path / "input" / "a.csv")
    churn.write_csv(frame.drop(columns=["senior"]).assign(region="north"), tmp_path / "input" / "b.csv")
    # When preprocessing runs
    code, message = _run(tmp_path, "--drop-columns", "customer_id")
    # Then the message names both files and both columns, and no empty list
    assert code == 1
    assert (
        "b.csv: columns differ from a.csv: b.csv lacks ['senior']; b.csv has ['region'] that a.csv has not" in message
    )
    churn.write_csv(frame.drop(columns=["senior"]), tmp_path / "input" / "b.csv")
    code, message = _run(tmp_path, "--drop-columns", "customer_id")
    assert code == 1 and "lacks ['senior']" in message and "[]" not in message


def test_a_column_that_is_a_function_of_the_target_is_a_label_leak(tmp_path: Path) -> None:
    # Given a status column that says `left` for every churner and `active` for everyone else
    frame = churn.table(200)
    frame["status"] = frame["churned"].map({"Yes": "left", "No": "active"})
    churn.write_csv(frame, tmp_path / "input" / "a.csv")
    # When preprocessing runs, then it names the column; dropping it makes the upload valid
    code, message = _run(tmp_path, "--drop-columns", "customer_id")
    assert code == 1 and "column 'status' is a copy of the target 'churned'" in message
    code, message = _run(tmp_path, "--drop-columns", "customer_id,status")
    assert code == 0, message


def test_the_category_limit_is_configurable(tmp_path: Path) -> None:
    # Given a text id kept as a feature (200 distinct values)
    churn.write_csv(churn.table(200), tmp_path / "input" / "a.csv")
    # When the limit is raised above it, then the column becomes a (wide) categorical feature
    code, message = _run(tmp_path, "--max-categories", "500")
    assert code == 0, message
    assert len(_schema(tmp_path)["features"]) == 11 + 200


def test_the_mostly_missing_share_is_configurable(tmp_path: Path) -> None:
    (tmp_path / "input").mkdir()
    (tmp_path / "input" / "a.csv").write_bytes(BAD["mostly-missing.csv"])
    code, message = _run(tmp_path, "--drop-columns", "customer_id", "--max-missing-share", "0.9")
    assert code == 0, message
    assert _schema(tmp_path)["missing"]["monthly_charges"] > 150


@pytest.mark.parametrize(
    ("values", "positive_label", "positive"),
    [
        (["Yes", "No"], None, "Yes"),
        (["no", "yes"], None, "yes"),
        (["TRUE", "FALSE"], None, "TRUE"),
        (["1", "0"], None, "1"),
        (["stay", "leave"], None, "stay"),  # two other strings: the later in sorted order
        (["stay", "leave"], "leave", "leave"),
        (["B", "M"], "M", "M"),
    ],
)
def test_the_positive_class_of_a_binary_target(
    tmp_path: Path, values: list[str], positive_label: str | None, positive: str
) -> None:
    # Given a target spelled with two values
    frame = churn.table(200)
    frame["churned"] = frame["churned"].map({"Yes": values[0], "No": values[1]})
    churn.write_csv(frame, tmp_path / "input" / "a.csv")
    # When preprocessing runs (with the positive label where configured)
    args = ("--positive-label", positive_label) if positive_label else ()
    code, message = _run(tmp_path, "--drop-columns", "customer_id", *args)
    # Then the schema names the positive class, and it is the label 1
    assert code == 0, message
    assert _schema(tmp_path)["positive_label"] == positive
    ones = int(_features(tmp_path)[0].sum()) + int(
        pd.read_csv(tmp_path / "output" / "test" / "test.csv", header=None)[0].sum()
    )
    assert ones == int((frame["churned"] == positive).sum())


def test_a_positive_label_the_target_never_takes_is_named(tmp_path: Path) -> None:
    churn.write_csv(churn.table(200), tmp_path / "input" / "a.csv")
    code, message = _run(tmp_path, "--drop-columns", "customer_id", "--positive-label", "yes")
    assert code == 1 and "never takes the positive label 'yes' (its values: ['No', 'Yes'])" in message
