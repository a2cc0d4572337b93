"""SageMaker jobs that really run on this machine, each in its own process (sagemaker-contracts.md §1-§4).

moto creates processing, training and transform jobs already `Completed`. Here a created job is
`InProgress` and a runner thread prepares its folder, starts the job's own process and waits for it to
exit (a process wait, no polling), then sets `Completed`, `Failed` (with `FailureReason`) or `Stopped`;
every client sees that lifecycle through Describe, and `wait_for_end` wakes the moment a job ends.

- processing (§1): inputs downloaded into the job folder standing for `/opt/ml/processing/...`, the
  entrypoint and arguments run as a process (paths under `/opt/ml` rewritten to the job folder), outputs
  uploaded after exit 0, `ExitMessage` from `/opt/ml/output/message`;
- training with built-in XGBoost 1.7-1 (§2-§3): channels downloaded to `/opt/ml/input/data/<channel>`,
  `hyperparameters.json`/`inputdataconfig.json` written, `retrainer_offline.sagemaker.containers` trains in its own
  process; `FinalMetricDataList` parsed from its log with the service's metric regexes, `/opt/ml/output/
  failure` as FailureReason, `model.tar.gz` holding `xgboost-model` at
  `{S3OutputPath}/{TrainingJobName}/output/model.tar.gz`;
- batch transform (§4): the model and input objects downloaded, `retrainer_offline.sagemaker.containers` scores
  them in its own process (SplitType Line, InputFilter / JoinSource / OutputFilter on CSV rows as JSON
  arrays, AssembleWith Line), one `<input>.out` per input object, nothing uploaded on failure.

`MaxRuntimeInSeconds` is real compute time (emulated time runs 1:1 while a job computes, see clock.py):
a job process still running then is killed and the job fails `MaxRuntimeExceeded`. StopXJob kills the
process and the job ends `Stopped`. Nothing is ever written outside the job's folder: an object key or
a LocalPath that would land outside it fails the job with a ClientError naming it.

An image the runtime does not know fails the job with a FailureReason naming the image.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

import boto3
from moto.sagemaker import responses as sm_responses

from retrainer_offline.core.background import BackgroundThreads
from retrainer_offline.sagemaker import containers, job_logs
from retrainer_offline.sagemaker.containers import (
    HYPERPARAMETERS,
    METRIC_NAMES,
    PEAK_MEMORY_FILE,
    TRAIN_SECONDS_PREFIX,
    JobFailed,
    apply_filter,
    validate_hyperparameters,
)
from retrainer_offline.sagemaker.serving import is_xgboost_image
from retrainer_offline.sagemaker.sklearn_container import model_containers as _model_containers

__all__ = ["HYPERPARAMETERS", "JobFailed", "apply_filter", "validate_hyperparameters"]

OPT_ML = "/opt/ml"
SKLEARN_REPOSITORY = "sagemaker-scikit-learn"
STDERR_TAIL = 1024
DEFAULT_MAX_RUNTIME = 86400.0
# Fault injection (a slow host): the job's process sleeps, then becomes the job's own command.
SLOW_HOST = "import os, sys, time; time.sleep(float(sys.argv[1])); os.execv(sys.argv[2], sys.argv[2:])"


# The container output of each job (what CloudWatch Logs would hold), by job name.
JOB_LOGS: dict[str, str] = {}


class _JobProcesses:
    """The running job processes by job name (StopXJob kills one), and an event per job that ends."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[str, subprocess.Popen[str] | _Ticket] = {}
        self._stopped: set[str] = set()
        self._ended: dict[str, threading.Event] = {}
        self._delays: dict[str, float] = {}

    def delay(self, name: str, seconds: float) -> None:
        """Fault injection: job `name`'s process sleeps `seconds` before it works (a slow host)."""
        with self._lock:
            self._delays[name] = seconds

    def created(self, name: str) -> None:
        with self._lock:
            self._ended[name] = threading.Event()
            self._stopped.discard(name)

    def ended(self, name: str) -> None:
        with self._lock:
            event = self._ended.setdefault(name, threading.Event())
        event.set()

    def wait_for_end(self, name: str, timeout: float) -> bool:
        with self._lock:
            event = self._ended.setdefault(name, threading.Event())
        return event.wait(timeout)

    def run(self, name: str, command: list[str], cwd: Path, env: dict[str, str], timeout: float) -> tuple[int, str]:
        """Run the job's process to its end; (exit code, its output). Raises TimeoutExpired past `timeout`."""
        with self._lock:
            if name in self._stopped:
                return -9, ""
            if name in self._delays:
                command = [sys.executable, "-c", SLOW_HOST, str(self._delays.pop(name)), *command]
            process = subprocess.Popen(
                command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
            self._running[name] = process
        try:
            output, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise
        finally:
            with self._lock:
                self._running.pop(name, None)
        return process.returncode, output

    def run_forked(self, name: str, kind: str, job_dir: Path, timeout: float) -> tuple[int, str]:
        """Run `containers.run_job_process` as a process forked from the job-process server (numpy and XGBoost
        already imported there: a job starts in milliseconds, not the seconds an import takes under load)."""
        with self._lock:
            if name in self._stopped:
                return -9, ""
            delay = self._delays.pop(name, 0.0)
        server = job_server()
        ticket = server.submit(kind, job_dir, delay)
        with self._lock:
            self._running[name] = ticket
        try:
            if not ticket.ended.wait(timeout):  # an event the server's answer sets: no polling
                ticket.kill()
                ticket.ended.wait()
                raise subprocess.TimeoutExpired(f"job {name}", timeout)
        finally:
            with self._lock:
                self._running.pop(name, None)
        log = job_dir / containers.LOG_FILE
        output = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
        return ticket.exit_code, output

    def stop(self, name: str) -> None:
        with self._lock:
            self._stopped.add(name)
            process = self._running.get(name)
        if process is not None:
            process.kill()


@dataclass
class _Ticket:
    """One job submitted to the job-process server."""

    started: threading.Event = field(default_factory=threading.Event)
    ended: threading.Event = field(default_factory=threading.Event)
    pid: int = 0
    exit_code: int = 0

    def kill(self) -> None:
        self.started.wait()
        if not self.ended.is_set():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)


class JobServer:
    """`python -m retrainer_offline.sagemaker.containers serve`, started once; jobs fork from it (containers.serve)."""

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "retrainer_offline.sagemaker.containers", "serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self._lock = threading.Lock()
        self._tickets: dict[str, _Ticket] = {}
        self._next = 0
        threading.Thread(target=self._read, daemon=True, name="retrainer-job-server").start()

    def alive(self) -> bool:
        return self._process.poll() is None

    def submit(self, kind: str, job_dir: Path, delay: float = 0.0) -> _Ticket:
        ticket = _Ticket()
        with self._lock:
            self._next += 1
            job_id = str(self._next)
            self._tickets[job_id] = ticket
            assert self._process.stdin is not None
            self._process.stdin.write(f"{job_id}\t{kind}\t{job_dir}\t{delay}\n")
            self._process.stdin.flush()
        return ticket

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            what, job_id, value = line.rstrip("\n").split("\t")
            with self._lock:
                ticket = self._tickets[job_id] if what == "started" else self._tickets.pop(job_id)
            if what == "started":
                ticket.pid = int(value)
                ticket.started.set()
            else:
                ticket.exit_code = int(value)
                ticket.ended.set()
        with self._lock:  # the server is gone: every job still waiting has failed
            orphans, self._tickets = list(self._tickets.values()), {}
        for ticket in orphans:
            ticket.exit_code = -1
            ticket.started.set()
            ticket.ended.set()


_servers: list[JobServer] = []
_servers_lock = threading.Lock()


def job_server() -> JobServer:
    with _servers_lock:
        if not _servers or not _servers[0].alive():
            _servers[:] = [JobServer()]  # started once; again only if it died
        return _servers[0]


def warm_up() -> None:
    """Start the job-process server now (it imports XGBoost while the runtime deploys the stack)."""
    job_server()


PROCESSES = _JobProcesses()
TRAIN_SECONDS: dict[str, float] = {}  # the xgboost.train call inside each training job, by job name
PEAK_RSS_KIB: dict[str, int] = {}  # peak resident memory of each job's process, by job name


def wait_for_end(name: str, timeout: float) -> bool:
    """Wait (on an event, at most `timeout` wall seconds) until job `name` has ended; True if it has."""
    return PROCESSES.wait_for_end(name, timeout)


def _now() -> datetime:
    return datetime.now(UTC)


def _split(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def _s3() -> Any:
    return boto3.client("s3", region_name="us-east-1")


def inside(root: Path, relative: str, what: str) -> Path:
    """`root / relative`, refused (ClientError naming `what`) unless it stays inside `root`.

    Object keys are data: `../`, absolute paths, `.` segments and NUL bytes never reach the filesystem
    outside the job's folder."""
    parts = PurePosixPath(relative).parts
    if not relative or "\x00" in relative or PurePosixPath(relative).is_absolute() or ".." in parts:
        raise JobFailed(f"ClientError: {what} {relative!r} would be written outside the job's folder")
    path = (root / relative).resolve()
    if not path.is_relative_to(root.resolve()):
        raise JobFailed(f"ClientError: {what} {relative!r} would be written outside the job's folder")
    return path


def _listed_keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys += [item["Key"] for item in page.get("Contents", [])]
    return sorted(keys)


def _relative(key: str, prefix: str) -> str:
    return key[len(prefix) :].lstrip("/") or key.rsplit("/", 1)[-1]


def _download_prefix(s3: Any, uri: str, target: Path) -> list[str]:
    """S3Prefix: every object under the prefix, key minus prefix as the path (§1 download layout).

    Folder markers (keys ending in `/`) are skipped; a key that would land outside `target` fails the job."""
    bucket, prefix = _split(uri)
    keys = [key for key in _listed_keys(s3, bucket, prefix) if not key.endswith("/")]
    target.mkdir(parents=True, exist_ok=True)
    paths = [(key, inside(target, _relative(key, prefix), f"object key s3://{bucket}/{key} as path")) for key in keys]
    for key, path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    return keys


def _upload_folder(s3: Any, folder: Path, uri: str) -> int:
    bucket, prefix = _split(uri)
    prefix = prefix.rstrip("/")
    count = 0
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()):
        key = f"{prefix}/{path.relative_to(folder).as_posix()}" if prefix else path.relative_to(folder).as_posix()
        s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())
        count += 1
    return count


def _max_runtime(job: Any) -> float:
    return float((getattr(job, "stopping_condition", None) or {}).get("MaxRuntimeInSeconds", DEFAULT_MAX_RUNTIME))


def _container(kind: str, name: str, job: Any, job_dir: Path) -> str:
    """Run `retrainer_offline.sagemaker.containers` `kind` work as the job process; its output, or JobFailed."""
    code, output = PROCESSES.run_forked(name, kind, job_dir, _max_runtime(job))
    JOB_LOGS[name] = output
    peak = job_dir / PEAK_MEMORY_FILE
    if peak.exists():
        PEAK_RSS_KIB[name] = int(peak.read_text())
    if code != 0:
        failure = job_dir / "opt/ml/output/failure"
        reason = failure.read_text(encoding="utf-8", errors="replace")[:1024] if failure.exists() else ""
        raise JobFailed(reason or f"AlgorithmError: exit code {code}: {output[-STDERR_TAIL:].strip()}")
    return output


# ---------------------------------------------------------------------------------- processing
def _container_path(job_dir: Path, value: str) -> str:
    """`/opt/ml/...` inside the container is `<job dir>/opt/ml/...` here."""
    return str(job_dir) + value if value.startswith(OPT_ML) else value


def _local_path(job_dir: Path, value: str) -> Path:
    """A ProcessingInput/Output LocalPath: under `/opt/ml/processing/` (§1), inside the job's folder."""
    if not value.startswith(f"{OPT_ML}/processing/"):
        raise JobFailed(f"ClientError: LocalPath {value!r} must begin with /opt/ml/processing/")
    return inside(job_dir, value.lstrip("/"), "LocalPath")


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
        _download_prefix(s3, source["S3Uri"], _local_path(job_dir, source["LocalPath"]))
    outputs = (job.processing_output_config or {}).get("Outputs", [])
    for item in outputs:
        _local_path(job_dir, item["S3Output"]["LocalPath"]).mkdir(parents=True, exist_ok=True)
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
    environment = {**os.environ, **(getattr(job, "environment", None) or {})}
    code, output = PROCESSES.run(job.processing_job_name, command, job_dir, environment, _max_runtime(job))
    JOB_LOGS[job.processing_job_name] = output
    message_file = job_dir / "opt/ml/output/message"
    exit_message = message_file.read_text(encoding="utf-8", errors="replace")[:1024] if message_file.exists() else None
    if exit_message:
        job.exit_message = exit_message
    if code != 0:
        reason = exit_message or output[-STDERR_TAIL:].strip() or f"exit code {code}"
        raise JobFailed(f"AlgorithmError: {reason}")
    for item in outputs:
        _upload_folder(s3, _local_path(job_dir, item["S3Output"]["LocalPath"]), item["S3Output"]["S3Uri"])


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
METRIC_REGEX = r".*\[[0-9]+\].*#011{channel}-{metric}:([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?).*"


def run_xgboost_training(job: Any, job_dir: Path, backend: Any) -> None:
    del backend
    image = job.algorithm_specification.get("TrainingImage", "")
    if not is_xgboost_image(image):
        raise JobFailed(
            f"ClientError: image {image} is not supported by the offline runtime (built-in XGBoost 1.7-1 is)"
        )
    validate_hyperparameters(dict(job.hyper_parameters or {}))  # fail before downloading, as the service does
    s3 = _s3()
    job.secondary_status = "Downloading"
    channels: dict[str, dict[str, str]] = {}
    for channel in job.input_data_config or []:
        name = channel["ChannelName"]
        folder = inside(job_dir / "opt/ml/input/data", name, "ChannelName")
        _download_prefix(s3, channel["DataSource"]["S3DataSource"]["S3Uri"], folder)
        channels[name] = {
            "ContentType": channel.get("ContentType"),
            "TrainingInputMode": "File",
            "S3DistributionType": "FullyReplicated",
            "RecordWrapperType": "None",
        }
    config = job_dir / "opt/ml/input/config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "hyperparameters.json").write_text(json.dumps(dict(job.hyper_parameters or {})))
    (config / "inputdataconfig.json").write_text(json.dumps(channels))
    job.secondary_status = "Training"
    output = _container("training", job.training_job_name, job, job_dir)
    marker = TRAIN_SECONDS_PREFIX
    log = "".join(line + "\n" for line in output.splitlines() if not line.startswith(marker))
    JOB_LOGS[job.training_job_name] = log
    timings = [line.removeprefix(marker) for line in output.splitlines() if line.startswith(marker)]
    if timings:  # the xgboost.train call alone, for `make bench`
        TRAIN_SECONDS[job.training_job_name] = float(timings[-1])
    job.final_metric_data_list = _final_metrics(log)
    job.secondary_status = "Uploading"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(job_dir / "opt/ml/model/xgboost-model", arcname="xgboost-model")
    artifact = f"{job.output_data_config['S3OutputPath'].rstrip('/')}/{job.training_job_name}/output/model.tar.gz"
    bucket, key = _split(artifact)
    s3.put_object(Bucket=bucket, Key=key, Body=buffer.getvalue())
    job.model_artifacts = {"S3ModelArtifacts": artifact}


def _final_metrics(log: str) -> list[dict[str, Any]]:
    """The last value of each `train:*`/`validation:*` metric that matched (§2 Metrics)."""
    found = []
    names = sorted({match for line in log.splitlines() for match in METRIC_NAMES.findall(line)})
    for channel, metric in names:
        pattern = re.compile(METRIC_REGEX.format(channel=channel, metric=re.escape(metric)))
        values = [float(m.group(1)) for line in log.splitlines() if (m := pattern.match(line))]
        if values:
            found.append({"MetricName": f"{channel}:{metric}", "Value": values[-1], "Timestamp": _now()})
    return found


# ---------------------------------------------------------------------------------- transform
def run_transform(job: Any, job_dir: Path, backend: Any) -> None:
    """The model's containers (one, or a serial pipeline that takes raw rows) with their artifacts in the
    job's folder, and the input objects; then the job's process scores them (containers.transform)."""
    s3 = _s3()
    model_containers = _model_containers(backend.describe_model(job.model_name))
    for index, container in enumerate(model_containers):
        model_data_url = container.get("ModelDataUrl", "")
        model_file = job_dir / "model" / str(index) / "model.tar.gz"
        model_file.parent.mkdir(parents=True, exist_ok=True)
        model_bucket, model_key = _split(model_data_url)
        try:
            model_file.write_bytes(s3.get_object(Bucket=model_bucket, Key=model_key)["Body"].read())
        except Exception as exc:
            raise JobFailed(f"ClientError: cannot read model data {model_data_url}: {exc}") from exc
    source = job.transform_input["DataSource"]["S3DataSource"]["S3Uri"]
    bucket, prefix = _split(source)
    keys = [key for key in _listed_keys(s3, bucket, prefix) if not key.endswith("/")]
    if not keys:
        raise JobFailed(f"ClientError: no input objects under {source}")
    inputs = [(key, _relative(key, prefix)) for key in keys]
    for key, relative in inputs:
        path = inside(job_dir / "input", relative, f"object key s3://{bucket}/{key} as path")
        inside(job_dir / "output", f"{relative}.out", f"object key s3://{bucket}/{key} as path")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    processing = job.data_processing or {}
    spec = {
        "containers": [
            {key: c.get(key) or default for key, default in (("Image", ""), ("ModelDataUrl", ""), ("Environment", {}))}
            for c in model_containers
        ],
        "content_type": job.transform_input.get("ContentType", "text/csv"),
        "accept": (job.transform_output or {}).get("Accept", "text/csv"),
        "split": job.transform_input.get("SplitType", "None"),
        "input_filter": processing.get("InputFilter", "$"),
        "output_filter": processing.get("OutputFilter", "$"),
        "join": processing.get("JoinSource", "None"),
        "assemble": (job.transform_output or {}).get("AssembleWith", "None"),
        "source_bucket_uri": f"s3://{bucket}/",
        "inputs": inputs,
    }
    (job_dir / "transform.json").write_text(json.dumps(spec))
    _container("transform", job.transform_job_name, job, job_dir)
    out_bucket, out_prefix = _split(job.transform_output["S3OutputPath"])
    for _, relative in inputs:  # nothing is uploaded unless every object succeeded
        body = (job_dir / "output" / f"{relative}.out").read_bytes()
        s3.put_object(Bucket=out_bucket, Key=f"{out_prefix.rstrip('/')}/{relative}.out".lstrip("/"), Body=body)


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
        self._slowdowns: list[tuple[str, float, str]] = []  # (kind, seconds, part of the job's name)
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

    def slow_next(self, kind: str, seconds: float, name_contains: str = "") -> None:
        """Fault injection for tests: the next job of `kind` (whose name contains `name_contains`) runs on a slow
        host: its process sleeps `seconds` of real time before it works."""
        with self._failures_lock:
            self._slowdowns.append((kind, seconds, name_contains))

    def _injected_slowdown(self, kind: str, job_name: str) -> float | None:
        with self._failures_lock:
            for index, (wanted, seconds, part) in enumerate(self._slowdowns):
                if wanted == kind and part in job_name:
                    del self._slowdowns[index]
                    return seconds
        return None

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
            PROCESSES.created(response._get_param(kind.name_param))
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
            slowdown = self._injected_slowdown(kind.name, str(getattr(job, f"{kind.name}_job_name", "")))
            if slowdown is not None:
                PROCESSES.delay(getattr(job, f"{kind.name}_job_name"), slowdown)
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
        PROCESSES.ended(name)

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
            PROCESSES.stop(name)
        return EmptyResult()

    return stop


def install() -> JobRunner:
    return JobRunner()
