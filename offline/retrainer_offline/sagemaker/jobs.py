"""SageMaker jobs that really run on this machine, each in its own process (sagemaker-contracts.md §1-§4).

moto creates processing, training and transform jobs already `Completed`. Here a created job is
`InProgress` and a runner thread prepares its folder, starts the job's own process and waits for it to
exit (a process wait, no polling), then sets `Completed`, `Failed` (with `FailureReason`) or `Stopped`;
every client sees that lifecycle through Describe, and `wait_for_end` wakes the moment a job ends.

- processing (§1): `processing_jobs.py`;
- training with built-in XGBoost 1.7-1 (§2-§3): `training_jobs.py`;
- batch transform (§4): `transform_jobs.py`;
- each job's process, its output and its end: `job_processes.py`; its folder and S3: `job_folders.py`.

`MaxRuntimeInSeconds` is real compute time (emulated time runs 1:1 while a job computes, see clock.py):
a job process still running then is killed and the job fails `MaxRuntimeExceeded`. StopXJob kills the
process and the job ends `Stopped`. Nothing is ever written outside the job's folder: an object key or
a LocalPath that would land outside it fails the job with a ClientError naming it.

An image the runtime does not know fails the job with a FailureReason naming the image.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moto.sagemaker import responses as sm_responses

from retrainer_offline.core.background import BackgroundThreads
from retrainer_offline.sagemaker import job_logs
from retrainer_offline.sagemaker.containers import HYPERPARAMETERS, JobFailed, apply_filter, validate_hyperparameters
from retrainer_offline.sagemaker.job_folders import now
from retrainer_offline.sagemaker.job_processes import (
    JOB_LOGS,
    PEAK_RSS_KIB,
    PROCESSES,
    TRAIN_SECONDS,
    job_server,
    wait_for_end,
    warm_up,
)
from retrainer_offline.sagemaker.processing_jobs import run_processing
from retrainer_offline.sagemaker.training_jobs import run_xgboost_training
from retrainer_offline.sagemaker.transform_jobs import run_transform

__all__ = [
    "HYPERPARAMETERS",
    "PEAK_RSS_KIB",
    "TRAIN_SECONDS",
    "JobFailed",
    "JobRunner",
    "apply_filter",
    "install",
    "job_server",
    "validate_hyperparameters",
    "wait_for_end",
    "warm_up",
]


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
            setattr(job, kind.start_attr, now())
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
        setattr(job, kind.end_attr, now())
        job.last_modified_time = now()
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
