"""The monitoring jobs' files in Model Monitor's formats, checked against AWS's documented examples.

Sources: SageMaker developer guide "Schema for Statistics (statistics.json file)", "Schema for Constraints
(constraints.json file)", "Schema for Violations (constraint_violations.json file)", "Capture data"; SageMaker Python
SDK `tests/data/monitor/{capture.jsonl,constraint_violations.json}`; /work/shared/docs/monitoring-contracts.md.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pandas as pd
import pytest

from retrainer_jobs.monitoring.__main__ import main
from retrainer_jobs.monitoring.capture_records import (
    CaptureFormatError,
    ShapeTracker,
    Window,
    batch_frames,
    parse_time,
    read_batches,
)
from retrainer_jobs.monitoring.feature_statistics import baseline_counts, baseline_sketch

DATA = Path(__file__).resolve().parents[1] / "data" / "monitoring"


def _baseline(tmp_path: Path, frame: pd.DataFrame, *extra: str) -> tuple[dict, dict]:
    (tmp_path / "in").mkdir(exist_ok=True)
    frame.to_csv(tmp_path / "in" / "train.csv", index=False)
    code = main(["baseline", "--input-dir", str(tmp_path / "in"), "--output-dir", str(tmp_path / "out"), *extra])
    assert code == 0
    return (
        json.loads((tmp_path / "out" / "statistics.json").read_text()),
        json.loads((tmp_path / "out" / "constraints.json").read_text()),
    )


def _frame(rows: int = 40) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "churned": [i % 2 for i in range(rows)],
            "age": [18 + i for i in range(rows)],
            "balance": [i * 1.5 - 3 for i in range(rows)],
            "plan": ["basic" if i % 4 else "premium" for i in range(rows)],
        }
    )


def test_statistics_json_has_the_documented_nesting(tmp_path: Path) -> None:
    """Given a header CSV, when the baseline job runs, then statistics.json nests as the developer guide's schema:
    version, dataset.item_count, features[name, inferred_type, numerical_statistics{common, mean, sum, std_dev,
    min, max, distribution.kll{buckets, sketch{parameters{c,k}, data}}} | string_statistics{common, distinct_count,
    distribution.categorical.buckets[{value, count}]}]."""
    documented = json.loads((DATA / "documented_statistics.json").read_text())
    statistics, _ = _baseline(tmp_path, _frame(), "--drop-columns", "churned")

    assert set(statistics) == set(documented)
    assert statistics["dataset"] == {"item_count": 40}
    age, balance, plan = statistics["features"]
    assert (age["name"], age["inferred_type"]) == ("age", "Integral")
    assert (balance["inferred_type"], plan["inferred_type"]) == ("Fractional", "String")
    documented_numeric, documented_string = documented["features"]
    assert set(age["numerical_statistics"]) == set(documented_numeric["numerical_statistics"])
    kll = age["numerical_statistics"]["distribution"]["kll"]
    assert set(kll) == {"buckets", "sketch"}
    assert kll["sketch"]["parameters"] == {"c": 0.64, "k": 2048.0}
    assert set(plan["string_statistics"]) == set(documented_string["string_statistics"])
    assert plan["string_statistics"]["distribution"]["categorical"]["buckets"] == [
        {"value": "basic", "count": 30},
        {"value": "premium", "count": 10},
    ]
    assert plan["string_statistics"]["distinct_count"] == 2.0


def test_numeric_statistics_are_exact_and_kll_has_ten_buckets_the_last_closed(tmp_path: Path) -> None:
    """Given ages 18..57, then mean/sum/min/max/std_dev (population) are exact and the 10 KLL buckets
    (equal width from min to max, the last one inclusive; monitoring-contracts "statistics.json") count all 40."""
    statistics, _ = _baseline(tmp_path, _frame(), "--drop-columns", "churned")
    numbers = statistics["features"][0]["numerical_statistics"]
    ages = pd.Series(range(18, 58))

    assert numbers["common"] == {"num_present": 40, "num_missing": 0}
    assert (numbers["min"], numbers["max"], numbers["sum"]) == (18.0, 57.0, float(ages.sum()))
    assert numbers["mean"] == pytest.approx(ages.mean())
    assert numbers["std_dev"] == pytest.approx(ages.std(ddof=0))
    buckets = numbers["distribution"]["kll"]["buckets"]
    assert len(buckets) == 10
    assert buckets[0]["lower_bound"] == 18.0 and buckets[-1]["upper_bound"] == 57.0
    assert sum(b["count"] for b in buckets) == 40
    assert buckets[-1]["count"] == 4  # 54.1 <= x <= 57 includes the max


def test_the_documented_statistics_example_reads_back(tmp_path: Path) -> None:
    """Given the documented statistics.json (a numeric feature with its sketch, a string one), then the analysis
    reads the baseline's sketch and categorical counts from it."""
    documented = json.loads((DATA / "documented_statistics.json").read_text())
    sketch = baseline_sketch(documented["features"][0])

    assert sketch is not None and sketch.total_weight == 4
    assert (
        sketch.bucket_counts(10.0, 40.0)
        == documented["features"][0]["numerical_statistics"]["distribution"]["kll"]["buckets"]
    )
    assert baseline_counts(documented["features"][1]) == {"basic": 3.0, "premium": 1.0}


def test_constraints_json_has_the_documented_fields_and_service_defaults(tmp_path: Path) -> None:
    """constraints.json per "Schema for Constraints": features[name, inferred_type, completeness,
    num_constraints.is_non_negative, string_constraints.domains] and monitoring_config with the defaults the service
    writes (type/domain thresholds 1.0, drift 0.1 Robust, categorical 0.1 LInfinity)."""
    _, constraints = _baseline(tmp_path, _frame(), "--drop-columns", "churned")
    age, balance, plan = constraints["features"]

    assert age == {
        "name": "age",
        "inferred_type": "Integral",
        "completeness": 1.0,
        "num_constraints": {"is_non_negative": True},
    }
    assert balance["num_constraints"] == {"is_non_negative": False}
    assert plan["string_constraints"] == {"domains": ["basic", "premium"]}
    assert constraints["monitoring_config"] == {
        "evaluate_constraints": "Enabled",
        "emit_metrics": "Enabled",
        "datatype_check_threshold": 1.0,
        "domain_content_threshold": 1.0,
        "distribution_constraints": {
            "perform_comparison": "Enabled",
            "comparison_threshold": 0.1,
            "comparison_method": "Robust",
            "categorical_comparison_threshold": 0.1,
            "categorical_drift_method": "LInfinity",
        },
    }


def test_schema_json_orders_columns_and_gives_categories(tmp_path: Path) -> None:
    """Given the model's schema.json (columns in upload order, types, known categories, the target), then the
    baseline follows its order, leaves out the target and uses the known categories as the domain."""
    schema = {
        "target": "churned",
        "columns": [
            {"name": "plan", "type": "categorical", "categories": ["basic", "premium", "gold"]},
            {"name": "age", "type": "numeric"},
            {"name": "balance", "type": "numeric"},
        ],
    }
    (tmp_path / "schema.json").write_text(json.dumps(schema))
    statistics, constraints = _baseline(tmp_path, _frame(), "--schema", str(tmp_path / "schema.json"))

    assert [f["name"] for f in statistics["features"]] == ["plan", "age", "balance"]
    assert constraints["features"][0]["string_constraints"]["domains"] == ["basic", "premium", "gold"]


def test_violations_file_matches_the_sdk_example_layout(tmp_path: Path) -> None:
    """constraint_violations.json: {"violations": [{feature_name, constraint_check_type, description}]}, as in the
    SDK's tests/data/monitor/constraint_violations.json."""
    from tests.unit.test_monitoring_runs import analysis_run, write_captures

    example = json.loads((DATA / "sdk_constraint_violations.json").read_text())
    _baseline(tmp_path, _frame(), "--drop-columns", "churned")
    write_captures(tmp_path / "capture", [f"{20 + i},{i * 1.5},gold" for i in range(30)])
    code, _, _ = analysis_run(tmp_path)

    ours = json.loads((tmp_path / "report" / "constraint_violations.json").read_text())
    assert code == 0
    assert set(ours) == set(example)
    assert {frozenset(v) for v in ours["violations"]} == {frozenset(v) for v in example["violations"]}


def test_the_sdk_capture_example_is_read_in_the_schema_order() -> None:
    """Given the SDK's capture records (eventMetadata first, headerless CSV of 7 values), then each record is one
    row, values by position in the baseline's column order."""
    columns = [f"f{i}" for i in range(7)]
    tracker = ShapeTracker(columns)
    batches = list(read_batches([DATA / "sdk_capture.jsonl"], Window()))
    frame = pd.concat([f for b in batches for f in batch_frames(b, set(), tracker)])

    assert sum(b.records for b in batches) == 3
    assert frame["f0"].tolist() == [9, 27, 9]
    assert frame["f6"].tolist() == [0, 37, 25]
    assert tracker.shape().missing == () and tracker.shape().extra == ()


def test_records_outside_the_window_are_left_out() -> None:
    """Model Monitor filters captures to [start_time, end_time): the 10:59:59 record is outside [10:00, 10:30)."""
    window = Window(parse_time("2026-12-01T10:00:00Z"), parse_time("2026-12-01T10:30:00Z"))
    batches = list(read_batches([DATA / "sdk_capture.jsonl"], window))

    assert sum(b.records for b in batches) == 2


def _record(data: str, encoding: str, content_type: str) -> str:
    return json.dumps(
        {
            "captureData": {
                "endpointInput": {
                    "observedContentType": content_type,
                    "mode": "INPUT",
                    "data": data,
                    "encoding": encoding,
                },
                "endpointOutput": {
                    "observedContentType": "text/csv",
                    "mode": "OUTPUT",
                    "data": "0.1",
                    "encoding": "CSV",
                },
            },
            "eventMetadata": {"eventId": "e", "inferenceId": "i", "inferenceTime": "2026-12-01T10:00:00Z"},
            "eventVersion": "0",
        }
    )


def test_json_and_base64_inputs_are_decoded(tmp_path: Path) -> None:
    """JSON requests are read by name (one object, a list, {"instances": [...]}) or, in SageMaker's
    {"instances": [{"features": [...]}]} format, by position; a content type outside the capture config arrives
    BASE64-encoded ("Capture data")."""
    lines = [
        _record(json.dumps({"age": 30, "plan": "basic"}), "JSON", "application/json"),
        _record(json.dumps([{"age": 31, "plan": "gold"}, {"age": 32, "plan": "basic"}]), "JSON", "application/json"),
        _record(json.dumps({"instances": [{"age": 33, "plan": "basic"}]}), "JSON", "application/json"),
        _record(base64.b64encode(b"34,premium").decode(), "BASE64", "text/x-custom-csv"),
        _record(json.dumps({"instances": [{"features": [35, "gold"]}]}), "JSON", "application/json"),
    ]
    path = tmp_path / "c.jsonl"
    path.write_text("\n".join(lines) + "\n")
    tracker = ShapeTracker(["age", "plan"])
    frames = [f for b in read_batches([path], Window()) for f in batch_frames(b, {"plan"}, tracker)]
    frame = pd.concat(frames, ignore_index=True)

    assert sorted(frame["age"].astype(int)) == [30, 31, 32, 33, 34, 35]
    assert sorted(frame["plan"].astype(str)) == ["basic", "basic", "basic", "gold", "gold", "premium"]


def test_a_line_that_is_not_a_capture_record_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.jsonl"
    path.write_text(_record("1,a", "CSV", "text/csv") + "\nnot json\n")

    with pytest.raises(CaptureFormatError, match=r"broken\.jsonl line 2"):
        list(read_batches([path], Window()))
