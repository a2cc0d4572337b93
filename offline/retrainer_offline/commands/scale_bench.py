"""`make bench`, at scale: one whole retraining vs the same work as one plain script, and training speed.

- A synthetic binary-classification data set (numeric and categorical columns, `BENCH_ROWS` rows,
  100,000 by default) goes through one whole retraining in the offline runtime (preprocess, train,
  register, score, gate, first deployment), and through one plain script in a fresh process doing the
  same work: read the CSV, one-hot encode, split 70/20/10, XGBoost with the pipeline's default
  hyperparameters, predict the test split. Prints
  `overhead ratio (pipeline / plain script, <N> rows): <R>` and peak memory of each side.
- Training inside the runtime (the `xgboost.train` call in the training job's own process) vs the same
  `xgboost.train` call in a fresh process on the same train/validation files.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from retrainer.pipeline_config import DEFAULT_HYPERPARAMETERS
from retrainer_offline.runtime import OfflineRuntime
from retrainer_offline.sagemaker import jobs

MODEL = "scale"
DEFAULT_ROWS = 100_000


def synthetic_csv(rows: int, seed: int = 11) -> bytes:
    """A header CSV: 8 numeric and 3 categorical features, a yes/no label from a noisy logistic model."""
    rng = np.random.default_rng(seed)
    numeric = rng.normal(size=(rows, 8))
    regions = rng.choice(np.array(["north", "south", "east", "west", "centre"]), size=rows)
    plans = rng.choice(np.array(["basic", "plus", "pro"]), size=rows, p=[0.6, 0.3, 0.1])
    channels = rng.choice(np.array([f"c{i}" for i in range(8)]), size=rows)
    score = numeric[:, 0] * 1.2 - numeric[:, 1] + 0.5 * numeric[:, 2] * numeric[:, 3]
    score += np.where(plans == "pro", 1.0, 0.0) - np.where(regions == "west", 0.7, 0.0)
    label = np.where(score + rng.normal(scale=0.8, size=rows) > 0, "yes", "no")
    header = ",".join(["id", "label", *[f"x{i}" for i in range(8)], "region", "plan", "channel"])
    lines = [header]
    for i in range(rows):
        values = ",".join(f"{v:.5f}" for v in numeric[i])
        lines.append(f"{i},{label[i]},{values},{regions[i]},{plans[i]},{channels[i]}")
    return ("\n".join(lines) + "\n").encode()


PLAIN_SCRIPT = """
import json, resource, sys, time
started = time.perf_counter()
import pandas as pd, xgboost
frame = pd.read_csv(sys.argv[1])
label = (frame.pop("label") == "yes").astype(int)
features = pd.get_dummies(frame.drop(columns=["id"]), dtype=int)
data = pd.concat([label.rename("label"), features], axis=1).sample(frac=1, random_state=42)
first, second = int(0.7 * len(data)), int(0.9 * len(data))
train, validation, test = data.iloc[:first], data.iloc[first:second], data.iloc[second:]
params = json.loads(sys.argv[2])
rounds = int(params.pop("num_round"))
dtrain = xgboost.DMatrix(train.drop(columns=["label"]).to_numpy(float), label=train["label"])
dvalid = xgboost.DMatrix(validation.drop(columns=["label"]).to_numpy(float), label=validation["label"])
booster = xgboost.train(params, dtrain, num_boost_round=rounds, evals=[(dtrain, "train"), (dvalid, "validation")],
                        verbose_eval=False)
predictions = booster.predict(xgboost.DMatrix(test.drop(columns=["label"]).to_numpy(float)))
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "predicted": len(predictions)}))
"""

TRAIN_ONLY_SCRIPT = """
import json, sys, time
import numpy as np, xgboost
folder = sys.argv[1]
params = json.loads(sys.argv[2])
rounds = int(params.pop("num_round"))
def load(name):
    rows = np.loadtxt(f"{folder}/{name}.csv", delimiter=",", ndmin=2)
    return xgboost.DMatrix(rows[:, 1:], label=rows[:, 0])
dtrain, dvalid = load("train"), load("validation")
started = time.perf_counter()
xgboost.train(params, dtrain, num_boost_round=rounds, evals=[(dtrain, "train"), (dvalid, "validation")],
              verbose_eval=False)
print(time.perf_counter() - started)
"""


def _params() -> dict[str, Any]:
    params: dict[str, Any] = dict(DEFAULT_HYPERPARAMETERS)
    params["eval_metric"] = params["eval_metric"].split(",")
    return params


def _fresh_python(code: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True, env=dict(os.environ)
    )
    return result.stdout.strip().splitlines()[-1]


def _download_channels(runtime: OfflineRuntime, report: Any, folder: Path) -> None:
    """The train and validation files the run's training job read, from the emulated S3."""
    s3 = runtime.client("s3")
    name = (report.final_state.get("training") or {}).get("TrainingJobName", "")
    training = runtime.client("sagemaker").describe_training_job(TrainingJobName=name)
    for channel in training.get("InputDataConfig", []):
        uri = channel["DataSource"]["S3DataSource"]["S3Uri"]
        bucket, _, prefix = uri.removeprefix("s3://").partition("/")
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]
        body = b"".join(s3.get_object(Bucket=bucket, Key=key)["Body"].read() for key in sorted(keys))
        (folder / f"{channel['ChannelName']}.csv").write_bytes(body)


def run(rows: int | None = None) -> dict[str, Any]:
    rows = rows or int(os.environ.get("BENCH_ROWS", DEFAULT_ROWS))
    body = synthetic_csv(rows)
    with tempfile.TemporaryDirectory(prefix="retrainer-bench-") as folder:
        data_file = Path(folder) / "data.csv"
        data_file.write_bytes(body)
        with OfflineRuntime() as runtime:
            runtime.put_model_config(
                MODEL, {"target_column": "label", "positive_label": "yes", "drop_columns": ["id"], "threshold": 0.5}
            )
            jobs.job_server()  # started with the runtime; the plain script's interpreter start is not counted either
            runtime.upload(MODEL, "part-1.csv", body)
            report = runtime.follow(runtime.next_execution(), timeout=3600)
            _download_channels(runtime, report, Path(folder))
            training = (report.final_state.get("training") or {}).get("TrainingJobName", "")
            train_in_runtime = jobs.TRAIN_SECONDS.get(training)
            job_peaks = {name: kib for name, kib in jobs.PEAK_RSS_KIB.items() if name.startswith(MODEL)}
        processing_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        plain = json.loads(_fresh_python(PLAIN_SCRIPT, str(data_file), json.dumps(_params())))
        train_fresh = float(_fresh_python(TRAIN_ONLY_SCRIPT, folder, json.dumps(_params())))
    return {
        "rows": rows,
        "status": report.status,
        "pipeline_seconds": report.seconds,
        "plain_seconds": plain["seconds"],
        "ratio": report.seconds / plain["seconds"],
        "train_in_runtime": train_in_runtime,
        "train_fresh": train_fresh,
        "job_peak_mib": max([*job_peaks.values(), processing_peak]) / 1024,
        "job_peaks_mib": {name: kib / 1024 for name, kib in job_peaks.items()},
        "processing_peak_mib": processing_peak / 1024,
        "plain_peak_mib": plain["peak_kib"] / 1024,
    }


def report_lines(result: dict[str, Any]) -> list[str]:
    train_ratio = (
        f"{result['train_in_runtime'] / result['train_fresh']:.2f}x"
        if result["train_in_runtime"] and result["train_fresh"]
        else "n/a"
    )
    load = os.getloadavg()
    return [
        f"  at scale: {result['rows']} synthetic rows (8 numeric, 3 categorical columns); run {result['status']};"
        f" load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
        f"  training: xgboost.train in the runtime's training job {result['train_in_runtime'] or 0:.2f} s vs the same"
        f" call in a fresh process on the same files {result['train_fresh']:.2f} s: {train_ratio}",
        f"  one whole retraining {result['pipeline_seconds']:.1f} s"
        f" vs the plain script {result['plain_seconds']:.1f} s",
        f"overhead ratio (pipeline / plain script, {result['rows']} rows): {result['ratio']:.2f}",
        f"  peak memory: pipeline jobs {result['job_peak_mib']:.0f} MiB (largest job process; preprocessing"
        f" {result['processing_peak_mib']:.0f} MiB, "
        + ", ".join(f"{name} {mib:.0f} MiB" for name, mib in result["job_peaks_mib"].items())
        + f") vs the plain script {result['plain_peak_mib']:.0f} MiB",
    ]


if __name__ == "__main__":
    for line in report_lines(run()):
        print(line)
