"""Job and Lambda output to CloudWatch Logs, under the log group names AWS uses.

On AWS a SageMaker job's container output goes to `/aws/sagemaker/ProcessingJobs` (TrainingJobs,
TransformJobs) in a stream `<job name>/algo-1-<epoch>`, and a function's to `/aws/lambda/<name>` with
START/END/REPORT lines around it. The runtime writes the same there, so `retrainer logs`, `aws logs`
and the live progress view read them as they would on AWS.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

import boto3

JOB_LOG_GROUPS = {
    "processing": "/aws/sagemaker/ProcessingJobs",
    "training": "/aws/sagemaker/TrainingJobs",
    "transform": "/aws/sagemaker/TransformJobs",
}
_local = threading.local()
_created: set[tuple[str, str]] = set()
_created_lock = threading.Lock()


def _logs() -> Any:
    client = getattr(_local, "client", None)
    if client is None:
        client = _local.client = boto3.client("logs", region_name="us-east-1")
    return client


def _ensure(group: str, stream: str) -> None:
    with _created_lock:
        if (group, stream) in _created:
            return
        _created.add((group, stream))
    logs = _logs()
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)


def write(group: str, stream: str, lines: list[str]) -> None:
    """Append `lines` to the stream (created with its group when missing); never raises."""
    lines = [line for line in lines if line.strip()]
    if not lines:
        return
    try:
        _ensure(group, stream)
        now = int(time.time() * 1000)
        _logs().put_log_events(
            logGroupName=group,
            logStreamName=stream,
            logEvents=[{"timestamp": now, "message": line} for line in lines[-9000:]],
        )
    except Exception:  # noqa: S110 - logs are a view; a failure to write one must not fail the job
        pass


def job_output(kind: str, job_name: str, output: str) -> None:
    """A finished job's container output, one event per line."""
    write(JOB_LOG_GROUPS[kind], f"{job_name}/algo-1-{int(time.time())}", output.splitlines())


def lambda_output(function_name: str, stream: str, request_id: str, output: str, seconds: float) -> None:
    """One invocation's output between Lambda's START and END/REPORT lines."""
    write(
        f"/aws/lambda/{function_name}",
        stream,
        [
            f"START RequestId: {request_id} Version: $LATEST",
            *output.splitlines(),
            f"END RequestId: {request_id}",
            f"REPORT RequestId: {request_id}\tDuration: {seconds * 1000:.2f} ms",
        ],
    )
