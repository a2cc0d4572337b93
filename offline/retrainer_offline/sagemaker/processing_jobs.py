"""Processing jobs (sagemaker-contracts.md §1) with the SageMaker scikit-learn processing image.

Inputs downloaded into the job folder standing for `/opt/ml/processing/...`, the entrypoint and arguments
run as a process (paths under `/opt/ml` rewritten to the job folder), outputs uploaded after exit 0,
`ExitMessage` from `/opt/ml/output/message`.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from retrainer_offline.sagemaker.containers import JobFailed
from retrainer_offline.sagemaker.job_folders import download_prefix, inside, s3_client, upload_folder
from retrainer_offline.sagemaker.job_processes import JOB_LOGS, PROCESSES, STDERR_TAIL, max_runtime

OPT_ML = "/opt/ml"
SKLEARN_REPOSITORY = "sagemaker-scikit-learn"


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
    s3 = s3_client()
    for item in job.processing_inputs or []:
        source = item["S3Input"]
        download_prefix(s3, source["S3Uri"], _local_path(job_dir, source["LocalPath"]))
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
    code, output = PROCESSES.run(job.processing_job_name, command, job_dir, environment, max_runtime(job))
    JOB_LOGS[job.processing_job_name] = output
    message_file = job_dir / "opt/ml/output/message"
    exit_message = message_file.read_text(encoding="utf-8", errors="replace")[:1024] if message_file.exists() else None
    if exit_message:
        job.exit_message = exit_message
    if code != 0:
        reason = exit_message or output[-STDERR_TAIL:].strip() or f"exit code {code}"
        raise JobFailed(f"AlgorithmError: {reason}")
    for item in outputs:
        upload_folder(s3, _local_path(job_dir, item["S3Output"]["LocalPath"]), item["S3Output"]["S3Uri"])


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
