"""The model-quality bench (`python -m retrainer_jobs.monitoring.model_quality_bench`), run small: it measures the
merge and the whole run and prints labels per second and peak memory, with the merge's counts behind them."""

from __future__ import annotations

from pathlib import Path

from retrainer_jobs.monitoring.model_quality_bench import bench_lines, generate, measure_merge


def test_bench_reports_labels_per_second_for_the_merge_and_the_whole_run() -> None:
    lines = bench_lines(records=2_000, files=2, isolated=False)

    assert lines[0].startswith("model-quality run, 2,000 captured records in 2 files")
    assert "labels/s" in lines[1] and "merge" in lines[1] and "peak" in lines[1]
    assert "whole run" in lines[2] and "exit 0" in lines[2]


def test_the_bench_data_has_the_late_duplicate_and_missing_labels_it_claims(tmp_path: Path) -> None:
    generate(tmp_path, records=1_000, files=1)

    result = measure_merge(tmp_path)

    counts = result["counts"]
    assert counts["captured_records"] == 1_000
    assert (counts["merged_records"], counts["late"], counts["missing"]) == (940, 10, 50)
    assert counts["duplicate_labels"] == 10
