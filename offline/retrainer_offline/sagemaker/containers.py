"""What runs inside a job's container: the training and batch-transform work, in the job's own process.

SageMaker runs every job in its own container; the offline runtime runs each in its own process
(`python -m retrainer_offline.sagemaker.containers <kind> <job folder>`), so a job never competes with the
runtime's threads for the interpreter and runs at the speed of a plain script. The job folder stands for
the container's filesystem: `<job folder>/opt/ml/...` is `/opt/ml/...` (sagemaker-contracts.md §2-§4).

- training (built-in XGBoost 1.7-1): reads `/opt/ml/input/config/hyperparameters.json` and
  `inputdataconfig.json`, the channels under `/opt/ml/input/data/<channel>`, prints the training log in
  the container's format, writes `/opt/ml/model/xgboost-model`; a failure writes `/opt/ml/output/failure`
  and exits 1 (the platform turns that file into FailureReason).
- transform: reads `<job folder>/transform.json` (what the platform tells the serving container: model,
  split, filters), scores each input file and writes `<job folder>/output/<input>.out`.

Nothing here talks to AWS: the runtime downloads inputs before and uploads outputs after.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import xgboost

OPT_ML = "opt/ml"
TRAIN_SECONDS_PREFIX = "#retrainer-offline xgboost.train seconds: "
METRIC_NAMES = re.compile(r"#011([A-Za-z0-9_]+)-([^:#\s]+):")  # (channel, metric) in a training log line


class JobFailed(Exception):
    """The job ends Failed with this message as its FailureReason."""


# ---------------------------------------------------------------------------------- training
# The container's hyperparameter table (a subset): name -> (parser, check).
_INT, _FLOAT, _STR = int, float, str
OBJECTIVES = {
    "binary:logistic",
    "binary:logitraw",
    "binary:hinge",
    "reg:squarederror",
    "reg:logistic",
    "reg:absoluteerror",
    "multi:softprob",
    "multi:softmax",
    "count:poisson",
    "reg:tweedie",
    "rank:pairwise",
}
EVAL_METRICS = {
    *("auc", "logloss", "error", "rmse", "mae", "merror", "mlogloss", "aucpr", "ndcg", "map", "poisson-nloglik"),
}
HYPERPARAMETERS: dict[str, tuple[Callable[[str], Any], Callable[[Any], bool]]] = {
    "num_round": (_INT, lambda v: v >= 1),
    "max_depth": (_INT, lambda v: v >= 0),
    "eta": (_FLOAT, lambda v: 0 <= v <= 1),
    "gamma": (_FLOAT, lambda v: v >= 0),
    "min_child_weight": (_FLOAT, lambda v: v >= 0),
    "subsample": (_FLOAT, lambda v: 0 < v <= 1),
    "colsample_bytree": (_FLOAT, lambda v: 0 < v <= 1),
    "lambda": (_FLOAT, lambda v: v >= 0),
    "alpha": (_FLOAT, lambda v: v >= 0),
    "scale_pos_weight": (_FLOAT, lambda v: v > 0),
    "max_delta_step": (_FLOAT, lambda v: v >= 0),
    "seed": (_INT, lambda v: True),
    "num_class": (_INT, lambda v: v >= 2),
    "early_stopping_rounds": (_INT, lambda v: v >= 1),
    "verbosity": (_INT, lambda v: 0 <= v <= 3),
    "objective": (_STR, lambda v: v in OBJECTIVES),
    "eval_metric": (_STR, lambda v: all(m in EVAL_METRICS for m in v.split(","))),
    "tree_method": (_STR, lambda v: v in {"auto", "exact", "approx", "hist"}),
}


def validate_hyperparameters(raw: dict[str, str]) -> dict[str, Any]:
    """String hyperparameters checked as the container does; errors name the parameter."""
    unknown = sorted(set(raw) - set(HYPERPARAMETERS))
    if unknown:
        raise JobFailed(f"ClientError: Additional hyperparameters are not allowed ({unknown[0]!r} was unexpected)")
    if "num_round" not in raw:
        raise JobFailed("ClientError: Missing required hyperparameter: num_round")
    parsed: dict[str, Any] = {}
    for name, text in raw.items():
        parser, check = HYPERPARAMETERS[name]
        try:
            value = parser(text)
        except ValueError as exc:
            raise JobFailed(
                f"ClientError: Hyperparameter {name}: value {text!r} is not a valid {parser.__name__}"
            ) from exc
        if not check(value):
            raise JobFailed(f"ClientError: Hyperparameter {name}: value {text!r} is out of range")
        parsed[name] = value
    return parsed


def load_channel(folder: Path, content_type: str | None) -> xgboost.DMatrix:
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    if not files:
        raise JobFailed(f"ClientError: channel {folder.name} has no data")
    media = (content_type or "libsvm").split(";")[0].strip().lower()
    if media in {"text/csv", "csv"}:
        if content_type and "label_size" in content_type and "label_size=1" not in content_type:
            raise JobFailed(f"ClientError: {content_type}: only label_size=1 is supported")
        try:
            rows = np.vstack([np.loadtxt(f, delimiter=",", ndmin=2) for f in files])
        except ValueError as exc:
            raise JobFailed(f"ClientError: channel {folder.name}: not numeric CSV with the label first: {exc}") from exc
        return xgboost.DMatrix(rows[:, 1:], label=rows[:, 0])
    if media in {"libsvm", "text/libsvm", "text/x-libsvm"}:
        return xgboost.DMatrix(f"{files[0]}?format=libsvm")
    raise JobFailed(f"ClientError: content type {content_type} is not supported (text/csv or libsvm)")


def training_log(history: dict[str, dict[str, list[float]]]) -> str:
    """`[i]<TAB>train-auc:0.97<TAB>validation-auc:0.95` per round, TAB shown as #011 (CloudWatch)."""
    rounds = max((len(v) for metrics in history.values() for v in metrics.values()), default=0)
    lines = []
    for i in range(rounds):
        parts = [
            f"{channel}-{metric}:{values[i]:.5f}"
            for channel, metrics in history.items()
            for metric, values in metrics.items()
        ]
        lines.append(f"[{i}]#011" + "#011".join(parts))
    return "\n".join(lines) + "\n"


def train(job_dir: Path) -> None:
    config = job_dir / OPT_ML / "input/config"
    hyper = validate_hyperparameters(json.loads((config / "hyperparameters.json").read_text()))
    channels_config: dict[str, dict[str, Any]] = json.loads((config / "inputdataconfig.json").read_text())
    channels = {
        name: load_channel(job_dir / OPT_ML / "input/data" / name, spec.get("ContentType"))
        for name, spec in channels_config.items()
    }
    if "train" not in channels:
        raise JobFailed("ClientError: channel 'train' is required")
    num_round = hyper.pop("num_round")
    early = hyper.pop("early_stopping_rounds", None)
    params = {**hyper, "eval_metric": hyper.get("eval_metric", "rmse").split(",")}
    evals = [(channels["train"], "train")] + (
        [(channels["validation"], "validation")] if "validation" in channels else []
    )
    history: dict[str, dict[str, list[float]]] = {}
    started = time.perf_counter()
    booster = xgboost.train(
        params,
        channels["train"],
        num_boost_round=num_round,
        evals=evals,
        evals_result=history,
        early_stopping_rounds=early,
        verbose_eval=False,
    )
    seconds = time.perf_counter() - started
    sys.stdout.write(training_log(history))
    sys.stdout.write(f"{TRAIN_SECONDS_PREFIX}{seconds:.6f}\n")
    model_dir = job_dir / OPT_ML / "model"
    model_dir.mkdir(parents=True, exist_ok=True)
    # The container writes Booster.save_model's bytes to a file named `xgboost-model` (§3).
    (model_dir / "xgboost-model").write_bytes(bytes(booster.save_raw(raw_format="ubj")))


# ---------------------------------------------------------------------------------- transform
_SLICE = re.compile(r"^\$\[(-?\d*):(-?\d*)\]$")
_INDEXES = re.compile(r"^\$\[(-?\d+(?:\s*,\s*-?\d+)*)\]$")


def apply_filter(expression: str, row: list[str]) -> list[str]:
    """The JSONPath subset batch transform supports on a CSV row as a JSON array (§4 DataProcessing)."""
    if expression in ("$", "$[*]"):
        return list(row)
    if match := _SLICE.match(expression):
        start = int(match.group(1)) if match.group(1) else None
        end = int(match.group(2)) if match.group(2) else None
        return row[start:end]
    if match := _INDEXES.match(expression):
        try:
            return [row[int(i)] for i in match.group(1).split(",")]
        except IndexError as exc:
            raise JobFailed(
                f"ClientError: filter {expression} is out of range for a row of {len(row)} columns"
            ) from exc
    raise JobFailed(f"ClientError: filter {expression!r} is not supported by the offline runtime")


def transform(job_dir: Path) -> None:
    """Each input file's records (CSV rows parsed with `csv`: quoted commas stay in their cell), filtered,
    sent to the model as one request (a serial pipeline model takes raw rows), joined and assembled."""
    from retrainer_offline.sagemaker.serving import ModelLoadError, UnknownImageError
    from retrainer_offline.sagemaker.sklearn_container import load_model

    spec: dict[str, Any] = json.loads((job_dir / "transform.json").read_text())
    containers = spec["containers"]
    files = {c["ModelDataUrl"]: job_dir / "model" / str(i) / "model.tar.gz" for i, c in enumerate(containers)}
    try:
        server = load_model(containers, lambda url: files[url].read_bytes(), True, job_dir / OPT_ML / "model")
    except (UnknownImageError, ModelLoadError) as exc:
        raise JobFailed(f"ClientError: {exc}") from exc
    separator = "\n" if spec["assemble"] == "Line" else ""
    for key, relative in spec["inputs"]:
        text = (job_dir / "input" / relative).read_text(encoding="utf-8")
        lines = _transform_records(spec, server, text, f"{spec['source_bucket_uri']}{key}")
        target = job_dir / "output" / f"{relative}.out"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(separator.join(lines) + separator, encoding="utf-8")


def _csv_line(cells: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(cells)
    return buffer.getvalue()


def _transform_records(spec: dict[str, Any], server: Any, text: str, where: str) -> list[str]:
    records = [line for line in text.splitlines() if line.strip()] if spec["split"] == "Line" else [text]
    rows = [next(csv.reader([record]), []) for record in records]
    if not rows:
        return []
    payload = "".join(_csv_line(apply_filter(spec["input_filter"], row)) + "\n" for row in rows)
    status, output, _ = server.invoke(payload.encode(), spec["content_type"], spec["accept"])
    if status != 200:
        raise JobFailed(f"ClientError: {where}: the model answered {status}: {output.decode(errors='replace')[:300]}")
    scores = [line for line in output.decode().splitlines() if line.strip()]
    if len(scores) != len(rows):
        raise JobFailed(f"ClientError: {where}: {len(rows)} records in, {len(scores)} predictions out")
    joined = ([*row, score] if spec["join"] == "Input" else [score] for row, score in zip(rows, scores, strict=True))
    return [_csv_line(apply_filter(spec["output_filter"], cells)) for cells in joined]


WORK: dict[str, Callable[[Path], None]] = {"training": train, "transform": transform}


LOG_FILE = "container.log"  # the container's output (what CloudWatch Logs would hold), beside opt/
PEAK_MEMORY_FILE = "peak-rss-kib"  # the process's peak resident memory, for `make bench`


def main(argv: list[str]) -> int:
    kind, folder = argv
    job_dir = Path(folder)
    try:
        WORK[kind](job_dir)
    except JobFailed as failure:
        failure_file = job_dir / OPT_ML / "output/failure"
        failure_file.parent.mkdir(parents=True, exist_ok=True)
        failure_file.write_text(str(failure), encoding="utf-8")
        return 1
    return 0


def run_job_process(kind: str, folder: str, delay: float = 0.0) -> int:
    """One job in this (forked) process: output to the job's log file, peak memory noted; the exit code."""
    import resource

    time.sleep(delay)  # fault injection: a slow host
    with (Path(folder) / LOG_FILE).open("w", encoding="utf-8") as log:
        sys.stdout = sys.stderr = log
        code = main([kind, folder])
        log.flush()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    (Path(folder) / PEAK_MEMORY_FILE).write_text(str(peak))
    return code


def _child(kind: str, folder: str, delay: float) -> int:
    """The forked job process: whatever happens, it exits (never returns into the server's loop)."""
    import traceback

    try:
        return run_job_process(kind, folder, delay)
    except BaseException:
        with (Path(folder) / LOG_FILE).open("a", encoding="utf-8") as log:
            traceback.print_exc(file=log)
        return 1


def serve() -> None:
    """The job-process server: numpy and XGBoost are imported once here, and each job is a fork of it.

    Reads `<id> <kind> <folder> <delay>` lines on stdin; answers `started <id> <pid>` when the job's process
    is forked and `ended <id> <exit code>` when it exits. Single-threaded: it waits on stdin and on each
    child's pidfd at once (no polling), so forking is safe.
    """
    import os
    import select

    children: dict[int, tuple[str, int]] = {}  # pidfd -> (id, pid)
    stdin = sys.stdin.fileno()
    buffer = b""

    def answer(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    while True:
        ready, _, _ = select.select([stdin, *children], [], [])
        for fd in ready:
            if fd == stdin:
                chunk = os.read(stdin, 65536)
                if not chunk:
                    return
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    job_id, kind, folder, delay = line.decode().split("\t")
                    pid = os.fork()
                    if pid == 0:
                        os._exit(_child(kind, folder, float(delay)))
                    children[os.pidfd_open(pid)] = (job_id, pid)
                    answer(f"started\t{job_id}\t{pid}")
            else:
                job_id, pid = children.pop(fd)
                os.close(fd)
                _, status = os.waitpid(pid, 0)
                answer(f"ended\t{job_id}\t{os.waitstatus_to_exitcode(status)}")


if __name__ == "__main__":
    if sys.argv[1:] == ["serve"]:
        serve()
    else:
        sys.exit(main(sys.argv[1:]))
