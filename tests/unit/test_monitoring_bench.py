"""The monitoring bench (`python -m retrainer_jobs.monitoring.bench`), run small: it measures both sides and
prints the lines `make bench` reports (rows/s, peak memory, ratio to plain pandas + scipy)."""

from __future__ import annotations

from retrainer_jobs.monitoring.bench import bench_lines


def test_bench_reports_rows_per_second_peak_memory_and_the_ratio() -> None:
    lines = bench_lines(records=2_000, features=3, files=2, baseline_rows=500, isolated=False)

    assert lines[0].startswith("monitoring run, 2,000 records x 3 features in 2 capture files")
    assert "rows/s" in lines[1] and "peak" in lines[1] and "streamed job" in lines[1]
    assert "pandas+scipy" in lines[2]
    assert lines[3].startswith("  ratio ") and "goal <= 1.5x" in lines[3]
