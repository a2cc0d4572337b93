"""Benchmark of the monitoring run: 1,000,000 captured records with 20 features.

    python -m retrainer_jobs.monitoring.bench [--records 1000000] [--features 20] [--files 100]

Writes a baseline (50,000 rows) and the capture files (CSV requests, one hour folder), then measures, each in a
fresh interpreter so peak memory (ru_maxrss) is its own:
- `stream`: the monitoring job's analysis (capture files streamed in batches, statistics, sketch, checks);
- `plain`: a plain pandas + scipy computation of the same statistics (every record loaded at once, then count,
  missing, mean, sum, std, min, max, a 10-bucket histogram and `scipy.stats.ks_2samp` against the baseline).
Prints rows/s, peak memory and the time ratio stream / plain (goal <= 1.5). `bench_lines()` returns the same lines
for the offline bench.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .analyze_window import Baseline, analyze
from .capture_records import Window, parse_time
from .suggest_baseline import suggest_baseline

BASELINE_ROWS = 50_000
HOUR = "2026-12-01T10"
WINDOW = Window(parse_time(f"{HOUR}:00:00Z"), parse_time("2026-12-01T11:00:00Z"))


def generate(root: Path, records: int, features: int, files: int, baseline_rows: int = BASELINE_ROWS) -> None:
    rng = np.random.default_rng(14)
    names = [f"f{i:02d}" for i in range(features)]
    base = pd.DataFrame({name: rng.normal(i, 1 + i % 3, baseline_rows).round(4) for i, name in enumerate(names)})
    (root / "train").mkdir(parents=True, exist_ok=True)
    base.to_csv(root / "train" / "train.csv", index=False)
    suggest_baseline(root / "train", root / "baseline", None, set())
    folder = root / "capture" / "bench-endpoint" / "AllTraffic" / "2026" / "12" / "01" / "10"
    folder.mkdir(parents=True, exist_ok=True)
    head = '{"captureData":{"endpointInput":{"observedContentType":"text/csv","mode":"INPUT","data":"'
    middle = '","encoding":"CSV"},"endpointOutput":{"observedContentType":"text/csv","mode":"OUTPUT","data":"0.5",'
    per_file = records // files
    for part in range(files):
        values = rng.normal(np.arange(features) + 0.05, 1 + np.arange(features) % 3, (per_file, features)).round(4)
        rows = pd.DataFrame(values).to_csv(header=False, index=False).splitlines()
        with (folder / f"{part:02d}-00-000-bench.jsonl").open("w", encoding="utf-8") as out:
            for i, row in enumerate(rows):
                stamp = f"{HOUR}:{(i // 60) % 60:02d}:{i % 60:02d}Z"
                out.write(
                    f'{head}{row}{middle}"encoding":"CSV"}}}},"eventMetadata":{{"eventId":"{part}-{i}",'
                    f'"inferenceTime":"{stamp}"}},"eventVersion":"0"}}\n'
                )


def measure_stream(root: Path) -> dict[str, Any]:
    baseline = Baseline.load(root / "baseline" / "statistics.json", root / "baseline" / "constraints.json")
    report = analyze(root / "capture", baseline, WINDOW)
    return {"rows": report.statistics.item_count, "violations": len(report.violations)}


def measure_plain(root: Path) -> dict[str, Any]:
    from scipy.stats import ks_2samp  # imported before the clock starts (see _child)

    rows = []
    for path in sorted((root / "capture").rglob("*.jsonl")):
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                record = json.loads(line)
                if "2026-12-01T10:00:00" <= record["eventMetadata"]["inferenceTime"][:19] < "2026-12-01T11:00:00":
                    rows.append(record["captureData"]["endpointInput"]["data"])
    frame = pd.read_csv(pd.io.common.StringIO("\n".join(rows)), header=None)
    base = pd.read_csv(root / "train" / "train.csv")
    statistics = {}
    for position, name in enumerate(base.columns):
        values = frame[position]
        present = values.dropna().to_numpy()
        statistics[name] = {
            "num_present": len(present),
            "num_missing": int(values.isna().sum()),
            "mean": float(present.mean()),
            "sum": float(present.sum()),
            "std_dev": float(present.std()),
            "min": float(present.min()),
            "max": float(present.max()),
            "histogram": np.histogram(present, bins=10)[0].tolist(),
            "distance": float(ks_2samp(base[name].to_numpy(), present, method="asymp").statistic),
        }
    return {"rows": len(frame), "features": len(statistics)}


def _measure(kind: str, root: Path) -> dict[str, Any]:
    import scipy.stats  # noqa: F401  (import time is not computation time, for either side)

    started = time.perf_counter()
    result = measure_stream(root) if kind == "stream" else measure_plain(root)
    result["seconds"] = time.perf_counter() - started
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def _run(kind: str, root: Path, isolated: bool) -> dict[str, Any]:
    """In a fresh interpreter (its own peak memory), or in this one (quick; the peak is this process's)."""
    if not isolated:
        return _measure(kind, root)
    command = [sys.executable, "-m", "retrainer_jobs.monitoring.bench", "--measure", kind, str(root)]
    completed = subprocess.run(command, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def bench_lines(
    records: int = 1_000_000,
    features: int = 20,
    files: int = 100,
    baseline_rows: int = BASELINE_ROWS,
    isolated: bool = True,
) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="monitoring-bench-") as folder:
        root = Path(folder)
        generate(root, records, features, files, baseline_rows)
        stream, plain = _run("stream", root, isolated), _run("plain", root, isolated)
    ratio = stream["seconds"] / plain["seconds"]
    return [
        f"monitoring run, {stream['rows']:,} records x {features} features in {files} capture files:",
        f"  streamed job   {stream['seconds']:6.1f} s  {stream['rows'] / stream['seconds']:>9,.0f} rows/s"
        f"  peak {stream['peak_mb']:6.0f} MB  ({stream['violations']} violations)",
        f"  pandas+scipy   {plain['seconds']:6.1f} s  {plain['rows'] / plain['seconds']:>9,.0f} rows/s"
        f"  peak {plain['peak_mb']:6.0f} MB  (all records loaded at once)",
        f"  ratio {ratio:.2f}x (goal <= 1.5x)",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--measure", choices=["stream", "plain"], default=None)
    parser.add_argument("root", nargs="?", type=Path)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(_measure(args.measure, args.root)))
        return 0
    print("\n".join(bench_lines(args.records, args.features, args.files)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
