"""SageMaker jobs that really run on this machine (sagemaker-contracts.md §1-§4).

moto creates processing, training and transform jobs already `Completed`. Here a created job is
`InProgress` and a runner thread does the work, then sets `Completed`, `Failed` (with
`FailureReason`) or leaves it `Stopped`; every client sees that lifecycle through Describe.

- processing (§1): inputs downloaded into a job directory standing for `/opt/ml/processing/...`,
  the entrypoint and arguments run in a subprocess (paths under `/opt/ml` rewritten to the job
  directory), outputs uploaded after exit 0, `ExitMessage` from `/opt/ml/output/message`;
- training with built-in XGBoost 1.7-1 (§2-§3): CSV channels with the label first, string
  hyperparameters validated, the training log in the container's format, `FinalMetricDataList`
  parsed from it with the service's metric regexes, `model.tar.gz` holding `xgboost-model` at
  `{S3OutputPath}/{TrainingJobName}/output/model.tar.gz`;
- batch transform (§4): SplitType Line, InputFilter / JoinSource / OutputFilter on CSV rows as
  JSON arrays, AssembleWith Line, one `<input>.out` per input object, nothing uploaded on failure.

An image the runtime does not know fails the job with a FailureReason naming the image.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import xgboost
from moto.sagemaker import responses as sm_responses

from retrainer_offline import job_logs
from retrainer_offline.background import BackgroundThreads
from retrainer_offline.serving import ModelLoadError, UnknownImageError, is_xgboost_image, s3_reader
from retrainer_offline.sklearn_container import ModelServer, load_model, model_containers

OPT_ML = "/opt/ml"
SKLEARN_REPOSITORY = "sagemaker-scikit-learn"
STDERR_TAIL = 1024


# The container output of each job (what CloudWatch Logs would hold), by job name.
JOB_LOGS: dict[str, str] = {}


class JobFailed(Exception):
    """The job ends Failed with this message as its FailureReason."""


def _now() -> datetime:
    return datetime.now(UTC)


def _split(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def _s3() -> Any:
    return boto3.client("s3", region_name="us-east-1")


def _download_prefix(s3: Any, uri: str, target: Path) -> list[str]:
    """S3Prefix: every object under the prefix, key minus prefix as the path (§1 download layout)."""
    bucket, prefix = _split(uri)
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys += [item["Key"] for item in page.get("Contents", [])]
    for key in sorted(keys):
        relative = key[len(prefix) :].lstrip("/") or key.rsplit("/", 1)[-1]
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    return sorted(keys)


def _upload_folder(s3: Any, folder: Path, uri: str) -> int:
    bucket, prefix = _split(uri)
    prefix = prefix.rstrip("/")
    count = 0
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()):
        key = f"{prefix}/{path.relative_to(folder).as_posix()}" if prefix else path.relative_to(folder).as_posix()
        s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())
        count += 1
    return count


# ---------------------------------------------------------------------------------- processing
def _container_path(job_dir: Path, value: str) -> str:
    """`/opt/ml/...` inside the container is `<job dir>/opt/ml/...` here."""
    return str(job_dir) + value if value.startswith(OPT_ML) else value


def run_processing(job: Any, job_dir: Path, backend: Any) -> None:
    del backend
    image = job.app_specification.get("ImageUri", "")
    if image.rpartition("/")[2].partition(":")[0] != SKLEARN_REPOSITORY:
        raise JobFailed(
            f"ClientError: image {image} is not supported by the offline runtime "
            f"(it runs the SageMaker scikit-learn processing image)"
        )
    s3 = _s3()
    for item in job.processing_inputs or []:
        source = item["S3Input"]
        _download_prefix(s3, source["S3Uri"], Path(_container_path(job_dir, source["LocalPath"])))
    outputs = (job.processing_output_config or {}).get("Outputs", [])
    for item in outputs:
        Path(_container_path(job_dir, item["S3Output"]["LocalPath"])).mkdir(parents=True, exist_ok=True)
    config_dir = job_dir / "opt/ml/config"
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "processingjobconfig.json").write_text(json.dumps(_processing_config(job)))
    (config_dir / "resourceconfig.json").write_text(json.dumps({"current_host": "algo-1", "hosts": ["algo-1"]}))
    (job_dir / "opt/ml/output").mkdir(parents=True, exist_ok=True)

    spec = job.app_specification
    command = [
        _container_path(job_dir, part)
        for part in [*spec.get("ContainerEntrypoint", []), *spec.get("ContainerArguments", [])]
    ]
    if not command:
        raise JobFailed("ClientError: the offline runtime needs ContainerEntrypoint (images have no ENTRYPOINT here)")
    if command[0] in {"python3", "python"}:
        command[0] = sys.executable
    timeout = float((job.stopping_condition or {}).get("MaxRuntimeInSeconds", 86400))
    environment = {**os.environ, **(getattr(job, "environment", None) or {})}
    completed = subprocess.run(
        command, cwd=job_dir, env=environment, capture_output=True, text=True, timeout=timeout, check=False
    )
    JOB_LOGS[job.processing_job_name] = completed.stdout + completed.stderr
    message_file = job_dir / "opt/ml/output/message"
    exit_message = message_file.read_text(encoding="utf-8", errors="replace")[:1024] if message_file.exists() else None
    if exit_message:
        job.exit_message = exit_message
    if completed.returncode != 0:
        reason = exit_message or completed.stderr[-STDERR_TAIL:].strip() or f"exit code {completed.returncode}"
        raise JobFailed(f"AlgorithmError: {reason}")
    for item in outputs:
        _upload_folder(s3, Path(_container_path(job_dir, item["S3Output"]["LocalPath"])), item["S3Output"]["S3Uri"])


def _processing_config(job: Any) -> dict[str, Any]:
    inputs = [
        {**i, "S3Input": {"S3CompressionType": "None", "S3DownloadMode": "StartOfJob", **i["S3Input"]}}
        for i in job.processing_inputs or []
    ]
    return {
        "ProcessingJobArn": job.arn,
        "ProcessingJobName": job.processing_job_name,
        "AppSpecification": job.app_specification,
        "Environment": getattr(job, "environment", None) or {},
        "ProcessingInputs": inputs,
        "ProcessingOutputConfig": job.processing_output_config,
        "RoleArn": job.role_arn,
        "StoppingCondition": job.stopping_condition,
    }


# ---------------------------------------------------------------------------------- training
# The container's hyperparameter table (a subset): name -> (parser, check).
_INT, _FLOAT, _STR = int, float, str
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
    "objective": (
        _STR,
        lambda v: (
            v
            in {
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
        ),
    ),
    "eval_metric": (
        _STR,
        lambda v: all(
            m
            in {
                "auc",
                "logloss",
                "error",
                "rmse",
                "mae",
                "merror",
                "mlogloss",
                "aucpr",
                "ndcg",
                "map",
                "poisson-nloglik",
            }
            for m in v.split(",")
        ),
    ),
    "tree_method": (_STR, lambda v: v in {"auto", "exact", "approx", "hist"}),
}
METRIC_REGEX = r".*\[[0-9]+\].*#011{channel}-{metric}:([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?).*"


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


def _load_channel(folder: Path, content_type: str | None) -> xgboost.DMatrix:
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


def run_xgboost_training(job: Any, job_dir: Path, backend: Any) -> None:
    del backend
    image = job.algorithm_specification.get("TrainingImage", "")
    if not is_xgboost_image(image):
        raise JobFailed(
            f"ClientError: image {image} is not supported by the offline runtime (built-in XGBoost 1.7-1 is)"
        )
    hyper = validate_hyperparameters(dict(job.hyper_parameters or {}))
    s3 = _s3()
    channels: dict[str, xgboost.DMatrix] = {}
    job.secondary_status = "Downloading"
    for channel in job.input_data_config or []:
        name = channel["ChannelName"]
        folder = job_dir / "opt/ml/input/data" / name
        _download_prefix(s3, channel["DataSource"]["S3DataSource"]["S3Uri"], folder)
        channels[name] = _load_channel(folder, channel.get("ContentType"))
    if "train" not in channels:
        raise JobFailed("ClientError: channel 'train' is required")
    job.secondary_status = "Training"
    num_round = hyper.pop("num_round")
    early = hyper.pop("early_stopping_rounds", None)
    params = {**hyper, "eval_metric": hyper.get("eval_metric", "rmse").split(","), "nthread": 2}
    evals = [(channels["train"], "train")] + (
        [(channels["validation"], "validation")] if "validation" in channels else []
    )
    history: dict[str, dict[str, list[float]]] = {}
    booster = xgboost.train(
        params,
        channels["train"],
        num_boost_round=num_round,
        evals=evals,
        evals_result=history,
        early_stopping_rounds=early,
        verbose_eval=False,
    )
    log = _training_log(history)
    JOB_LOGS[job.training_job_name] = log
    job.final_metric_data_list = _final_metrics(log, history)
    job.secondary_status = "Uploading"
    model_dir = job_dir / "opt/ml/model"
    model_dir.mkdir(parents=True, exist_ok=True)
    # The container writes Booster.save_model's bytes to a file named `xgboost-model` (§3).
    (model_dir / "xgboost-model").write_bytes(bytes(booster.save_raw(raw_format="ubj")))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(model_dir / "xgboost-model", arcname="xgboost-model")
    artifact = f"{job.output_data_config['S3OutputPath'].rstrip('/')}/{job.training_job_name}/output/model.tar.gz"
    bucket, key = _split(artifact)
    s3.put_object(Bucket=bucket, Key=key, Body=buffer.getvalue())
    job.model_artifacts = {"S3ModelArtifacts": artifact}


def _training_log(history: dict[str, dict[str, list[float]]]) -> str:
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


def _final_metrics(log: str, history: dict[str, dict[str, list[float]]]) -> list[dict[str, Any]]:
    """The last value of each `train:*`/`validation:*` metric that matched (§2 Metrics)."""
    found = []
    for channel, metrics in history.items():
        for metric in metrics:
            pattern = re.compile(METRIC_REGEX.format(channel=channel, metric=re.escape(metric)))
            values = [float(m.group(1)) for line in log.splitlines() if (m := pattern.match(line))]
            if values:
                found.append({"MetricName": f"{channel}:{metric}", "Value": values[-1], "Timestamp": _now()})
    return found


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


def run_transform(job: Any, job_dir: Path, backend: Any) -> None:
    """Each input object's records (CSV rows parsed with `csv`, so quoted commas stay in their cell), filtered,
    sent to the model as one request of that content type (a serial pipeline model: raw rows in), joined."""
    del job_dir
    model = backend.describe_model(job.model_name)
    s3 = _s3()
    try:
        server = load_model(model_containers(model), s3_reader(s3), batch=True)
    except (UnknownImageError, ModelLoadError) as exc:
        raise JobFailed(f"ClientError: {exc}") from exc
    source = job.transform_input["DataSource"]["S3DataSource"]["S3Uri"]
    bucket, prefix = _split(source)
    keys = [
        item["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for item in page.get("Contents", [])
    ]
    if not keys:
        raise JobFailed(f"ClientError: no input objects under {source}")
    results: dict[str, bytes] = {}
    for key in sorted(keys):
        text = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
        results[key] = _transform_object(job, server, text, f"s3://{bucket}/{key}")
    out_bucket, out_prefix = _split(job.transform_output["S3OutputPath"])
    for key, body in results.items():  # nothing is uploaded unless every object succeeded
        relative = key[len(prefix) :].lstrip("/") or key.rsplit("/", 1)[-1]
        s3.put_object(Bucket=out_bucket, Key=f"{out_prefix.rstrip('/')}/{relative}.out".lstrip("/"), Body=body)


def _csv_line(cells: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(cells)
    return buffer.getvalue()


def _transform_object(job: Any, server: ModelServer, text: str, where: str) -> bytes:
    processing = job.data_processing or {}
    split = job.transform_input.get("SplitType", "None")
    content_type = job.transform_input.get("ContentType", "text/csv")
    accept = (job.transform_output or {}).get("Accept", "text/csv")
    records = [line for line in text.splitlines() if line.strip()] if split == "Line" else [text]
    rows = [next(csv.reader([record]), []) for record in records]
    if not rows:
        return b""
    payload = "\n".join(_csv_line(apply_filter(processing.get("InputFilter", "$"), row)) for row in rows) + "\n"
    status, output, _ = server.invoke(payload.encode(), content_type, accept)
    if status != 200:
        raise JobFailed(f"ClientError: {where}: the model answered {status}: {output.decode(errors='replace')[:300]}")
    scores = [line for line in output.decode().splitlines() if line.strip()]
    if len(scores) != len(rows):
        raise JobFailed(f"ClientError: {where}: {len(rows)} records in, {len(scores)} predictions out")
    lines = []
    for row, score in zip(rows, scores, strict=True):
        joined = [*row, score] if processing.get("JoinSource", "None") == "Input" else [score]
        lines.append(_csv_line(apply_filter(processing.get("OutputFilter", "$"), joined)))
    separator = "\n" if (job.transform_output or {}).get("AssembleWith", "None") == "Line" else ""
    return (separator.join(lines) + separator).encode()


# ---------------------------------------------------------------------------------- lifecycle
@dataclass(frozen=True)
class JobKind:
    name: str
    registry: str  # backend dict attribute
    name_param: str
    status_attr: str
    run: Callable[[Any, Path, Any], None]
    start_attr: str
    end_attr: str


KINDS = {
    "processing": JobKind(
        "processing",
        "processing_jobs",
        "ProcessingJobName",
        "processing_job_status",
        run_processing,
        "processing_start_time",
        "processing_end_time",
    ),
    "training": JobKind(
        "training",
        "training_jobs",
        "TrainingJobName",
        "training_job_status",
        run_xgboost_training,
        "training_start_time",
        "training_end_time",
    ),
    "transform": JobKind(
        "transform",
        "transform_jobs",
        "TransformJobName",
        "transform_job_status",
        run_transform,
        "transform_start_time",
        "transform_end_time",
    ),
}


class JobRunner:
    """Installed handle: created jobs start InProgress and a thread runs them for real."""

    def __init__(self) -> None:
        self._background = BackgroundThreads()
        self._failures: list[tuple[str, str, str]] = []  # (kind, reason, part of the job's name)
        self._failures_lock = threading.Lock()
        self.compute_seconds: dict[str, float] = {}
        self._originals: dict[str, Any] = {}
        for kind in KINDS.values():
            self._wrap_create(kind)
        self._originals["stop_training_job"] = getattr(sm_responses.SageMakerResponse, "stop_training_job", None)
        self._originals["stop_transform_job"] = getattr(sm_responses.SageMakerResponse, "stop_transform_job", None)
        sm_responses.SageMakerResponse.stop_training_job = _stop_response("training")
        sm_responses.SageMakerResponse.stop_transform_job = _stop_response("transform")
        self._originals["stop_processing_job"] = sm_responses.SageMakerResponse.stop_processing_job
        sm_responses.SageMakerResponse.stop_processing_job = _stop_response("processing")

    def fail_next(self, kind: str, reason: str, name_contains: str = "") -> None:
        """Fault injection for tests: the next job of `kind` (whose name contains `name_contains`) fails with
        `reason` after starting."""
        with self._failures_lock:
            self._failures.append((kind, reason, name_contains))

    def _injected_failure(self, kind: str, job_name: str) -> str | None:
        with self._failures_lock:
            for index, (wanted, reason, part) in enumerate(self._failures):
                if wanted == kind and part in job_name:
                    del self._failures[index]
                    return reason
        return None

    def _wrap_create(self, kind: JobKind) -> None:
        method = f"create_{kind.name}_job"
        original = getattr(sm_responses.SageMakerResponse, method)
        self._originals[method] = original
        runner = self

        def create(response: Any) -> Any:
            result = original(response)
            backend = response.sagemaker_backend
            job = getattr(backend, kind.registry)[response._get_param(kind.name_param)]
            if kind.name != "transform":
                job.environment = response._get_param("Environment") or {}
            setattr(job, kind.status_attr, "InProgress")
            setattr(job, kind.start_attr, _now())
            setattr(job, kind.end_attr, None)
            if kind.name == "training":
                job.secondary_status = "Starting"
                job.final_metric_data_list = []
                job.algorithm_specification.pop("MetricDefinitions", None)
            runner._start(kind, job, backend)
            return result

        setattr(sm_responses.SageMakerResponse, method, create)

    def _start(self, kind: JobKind, job: Any, backend: Any) -> None:
        self._background.start(self._run, kind, job, backend, name=f"job-{kind.name}")

    def _run(self, kind: JobKind, job: Any, backend: Any) -> None:
        started = time.perf_counter()
        job_dir = Path(tempfile.mkdtemp(prefix=f"retrainer-{kind.name}-"))
        try:
            injected = self._injected_failure(kind.name, str(getattr(job, f"{kind.name}_job_name", "")))
            if injected is not None:
                raise JobFailed(injected)
            kind.run(job, job_dir, backend)
            status, reason = "Completed", None
        except JobFailed as failure:
            status, reason = "Failed", str(failure)
        except subprocess.TimeoutExpired:
            status, reason = "Failed", "MaxRuntimeExceeded: the job ran past MaxRuntimeInSeconds"
        except Exception as exc:
            status, reason = "Failed", f"InternalServerError: {type(exc).__name__}: {exc}"
        finally:
            shutil.rmtree(job_dir, ignore_errors=True)
        name = getattr(job, f"{kind.name}_job_name")
        self.compute_seconds[name] = time.perf_counter() - started
        if getattr(job, kind.status_attr) in {"Stopping", "Stopped"}:
            status, reason = "Stopped", None
        if reason:
            job.failure_reason = reason[:1024]
        setattr(job, kind.end_attr, _now())
        job.last_modified_time = _now()
        if kind.name == "training":
            job.secondary_status = {"Completed": "Completed", "Failed": "Failed", "Stopped": "Stopped"}[status]
        job_logs.job_output(kind.name, name, JOB_LOGS.get(name, "") + (f"\n{reason}" if reason else ""))
        setattr(job, kind.status_attr, status)

    def drain(self, timeout: float = 300) -> None:
        self._background.drain(timeout)

    def uninstall(self) -> None:
        for method, original in self._originals.items():
            if original is None:
                if hasattr(sm_responses.SageMakerResponse, method):
                    delattr(sm_responses.SageMakerResponse, method)
            else:
                setattr(sm_responses.SageMakerResponse, method, original)


def _stop_response(kind_name: str) -> Callable[[Any], Any]:
    """StopXJob: an InProgress job goes Stopping, and the runner leaves it Stopped when it ends."""
    kind = KINDS[kind_name]

    def stop(response: Any) -> Any:
        from moto.core.responses import EmptyResult
        from moto.sagemaker.exceptions import ValidationError

        name = response._get_param(kind.name_param)
        job = getattr(response.sagemaker_backend, kind.registry).get(name)
        if job is None:
            raise ValidationError(message=f"Could not find {kind.name} job '{name}'.")
        if getattr(job, kind.status_attr) == "InProgress":
            setattr(job, kind.status_attr, "Stopping")
        return EmptyResult()

    return stop


def install() -> JobRunner:
    return JobRunner()
