"""Benchmark of the model-quality run: merge throughput on 1,000,000 captured records and their labels.

    python -m retrainer_jobs.monitoring.model_quality_bench [--records 1000000] [--files 100]

Writes one hour of capture files (CSV requests of 10 features, CSV scores, every 10th with an InferenceId) and the
labels of 95% of them spread over the 24 ground-truth hours after the window (1% uploaded twice, 1% after the
cut-off), then measures, in a fresh interpreter so peak memory (ru_maxrss) is its own:
- `merge`: reading the ground truth and merging it with the window's captures (labels per second);
- `run`: the whole job (merge, metrics with standard deviations, per-variant statistics, violations, feedback CSV).
Wall time depends on the machine's load; labels per CPU second does much less.
`bench_lines()` returns the printed lines for the offline bench.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

from .capture_records import Window, parse_time
from .ground_truth import read_ground_truth
from .model_quality_merge import merge_window

HOUR = "2026-12-01T10"
WINDOW = Window(parse_time(f"{HOUR}:00:00Z"), parse_time("2026-12-01T11:00:00Z"))
FEATURES = 10


def _capture_line(event_id: str, stamp: str, row: str, score: float, inference_id: str | None) -> str:
    extra = f',"inferenceId":"{inference_id}"' if inference_id else ""
    return (
        '{"captureData":{"endpointInput":{"observedContentType":"text/csv","mode":"INPUT","data":"'
        f'{row}","encoding":"CSV"}},"endpointOutput":{{"observedContentType":"text/csv","mode":"OUTPUT","data":"'
        f'{score:.6f}","encoding":"CSV"}}}},"eventMetadata":{{"eventId":"{event_id}"{extra},'
        f'"inferenceTime":"{stamp}"}},"eventVersion":"0"}}\n'
    )


def generate(root: Path, records: int, files: int) -> None:
    rng = np.random.default_rng(15)
    folder = root / "capture" / "bench-endpoint" / "AllTraffic" / "2026" / "12" / "01" / "10"
    folder.mkdir(parents=True, exist_ok=True)
    per_file = records // files
    truth: dict[int, list[str]] = {hour: [] for hour in range(10, 36)}
    for part in range(files):
        labels = rng.integers(0, 2, per_file)
        scores = 1 / (1 + np.exp(-(2 * (labels - 0.5) + rng.normal(0, 1, per_file))))
        values = rng.normal(0, 1, (per_file, FEATURES)).round(3)
        with (folder / f"{part:03d}.jsonl").open("w", encoding="utf-8") as out:
            for i in range(per_file):
                event_id, key = f"{part}-{i}", (f"inv-{part}-{i}" if i % 10 == 0 else None)
                stamp = f"{HOUR}:{(i // 60) % 60:02d}:{i % 60:02d}Z"
                out.write(_capture_line(event_id, stamp, ",".join(map(str, values[i])), scores[i], key))
                draw = (part * per_file + i) % 100
                if draw < 95:  # 95% labelled in time, 1% twice, 1% late, 4% never
                    line = json.dumps(
                        {"groundTruthData": {"data": str(labels[i]), "encoding": "CSV"},
                         "eventMetadata": {"eventId": key or event_id}, "eventVersion": "0"}
                    )  # fmt: skip
                    hour = 35 if draw == 94 else 10 + (i % 24)
                    truth[hour].append(line)
                    if draw == 0:
                        truth[hour + 1].append(line)
    for hour, lines in truth.items():
        day, hh = 1 + hour // 24, hour % 24
        target = root / "truth" / "2026" / "12" / f"{day:02d}" / f"{hh:02d}"
        target.mkdir(parents=True, exist_ok=True)
        (target / "labels.jsonl").write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def measure_merge(root: Path) -> dict[str, Any]:
    truth = read_ground_truth(root / "truth", WINDOW, timedelta(hours=24))
    merged = merge_window(root / "capture", truth, WINDOW)
    return {"labels": truth.records, "merged": merged.counts.merged_rows, "counts": merged.counts.to_json()}


def measure_run(root: Path) -> dict[str, Any]:
    from .model_quality_job import main

    schema = {"columns": [f"f{i}" for i in range(FEATURES)], "target": "label"}
    (root / "schema.json").write_text(json.dumps(schema), encoding="utf-8")
    code = main(
        ["--capture-dir", str(root / "capture"), "--ground-truth-dir", str(root / "truth"),
         "--output-dir", str(root / "report"), "--start-time", f"{HOUR}:00:00Z", "--end-time", "2026-12-01T11:00:00Z",
         "--schema", str(root / "schema.json"), "--feedback-output-dir", str(root / "feedback"),
         "--gate-threshold", "0.7", "--message-file", str(root / "message")]
    )  # fmt: skip
    summary = json.loads((root / "report" / "merge_summary.json").read_text(encoding="utf-8"))
    return {"code": code, "labels": summary["labels_read"], "merged": summary["merged_rows"]}


def _measure(kind: str, root: Path) -> dict[str, Any]:
    started, cpu = time.perf_counter(), time.process_time()
    result = measure_merge(root) if kind == "merge" else measure_run(root)
    result["seconds"] = time.perf_counter() - started
    result["cpu_seconds"] = time.process_time() - cpu
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def _run(kind: str, root: Path, isolated: bool) -> dict[str, Any]:
    if not isolated:
        return _measure(kind, root)
    command = [sys.executable, "-m", "retrainer_jobs.monitoring.model_quality_bench", "--measure", kind, str(root)]
    completed = subprocess.run(command, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def bench_lines(records: int = 1_000_000, files: int = 100, isolated: bool = True) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="model-quality-bench-") as folder:
        root = Path(folder)
        generate(root, records, files)
        merge, run = _run("merge", root, isolated), _run("run", root, isolated)
    return [
        f"model-quality run, {records:,} captured records in {files} files, {merge['labels']:,} labels read:",
        f"  merge          {merge['seconds']:6.1f} s  {merge['labels'] / merge['seconds']:>9,.0f} labels/s"
        f"  ({merge['labels'] / merge['cpu_seconds']:,.0f} per CPU second)  peak {merge['peak_mb']:6.0f} MB"
        f"  ({merge['merged']:,} rows merged)",
        f"  whole run      {run['seconds']:6.1f} s  {run['labels'] / run['seconds']:>9,.0f} labels/s"
        f"  ({run['labels'] / run['cpu_seconds']:,.0f} per CPU second)  peak {run['peak_mb']:6.0f} MB"
        f"  (metrics, variants, violations, feedback CSV; exit {run['code']})",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--measure", choices=["merge", "run"], default=None)
    parser.add_argument("root", nargs="?", type=Path)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(_measure(args.measure, args.root)))
        return 0
    print("\n".join(bench_lines(args.records, args.files)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
