"""publish_job_code: a CloudFormation custom resource that copies the SageMaker job code to S3.

`sam deploy` uploads Lambda code, not files for SageMaker jobs. This resource takes the job code
from its layer (sagemaker_jobs/) and writes it under a content-addressed prefix, so a change in the
code gives a new prefix, a new attribute value and a state machine update in the same deployment.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from aws_lambda_powertools import Logger

from retrainer.ports import CustomResourceResponder, ObjectWriter

logger = Logger(child=True)

JOB_CODE_PREFIX = "job-code/"


# Job folders published with their folder name (the container runs `<code>/monitoring/__main__.py`).
JOB_FOLDERS = ("monitoring",)


def job_files(package_dir: Path) -> dict[str, bytes]:
    """The job scripts to publish: every .py file of the package except its __init__, and every .py
    file of each job folder under `<folder>/<name>.py` (a folder's `__init__.py` too: it is a package)."""
    files = {path.name: path.read_bytes() for path in sorted(package_dir.glob("*.py")) if path.name != "__init__.py"}
    for folder in JOB_FOLDERS:
        files.update(
            {f"{folder}/{path.name}": path.read_bytes() for path in sorted((package_dir / folder).glob("*.py"))}
        )
    if not files:
        raise FileNotFoundError(f"no job scripts found in {package_dir}")
    return files


def content_digest(files: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode("utf-8") + b"\0" + files[name] + b"\0")
    return digest.hexdigest()[:16]


def publish(files: dict[str, bytes], bucket: str, writer: ObjectWriter) -> dict[str, str]:
    prefix = f"{JOB_CODE_PREFIX}{content_digest(files)}/"
    for name, body in files.items():
        writer.put(bucket, prefix + name, body)
    return {"CodePrefix": f"s3://{bucket}/{prefix}", "Digest": prefix.split("/")[1]}


def handle_custom_resource(
    event: dict[str, Any],
    *,
    files: dict[str, bytes],
    bucket: str,
    writer: ObjectWriter,
    responder: CustomResourceResponder,
    log_stream_name: str,
) -> dict[str, Any]:
    """Publish on Create/Update, keep objects on Delete (older stack versions may still use them)."""
    request_type = event.get("RequestType")
    response: dict[str, Any] = {
        "Status": "SUCCESS",
        "PhysicalResourceId": event.get("PhysicalResourceId") or f"job-code-{bucket}",
        "StackId": event.get("StackId"),
        "RequestId": event.get("RequestId"),
        "LogicalResourceId": event.get("LogicalResourceId"),
        "Data": {},
    }
    try:
        if request_type in ("Create", "Update"):
            response["Data"] = publish(files, bucket, writer)
        elif request_type != "Delete":
            raise ValueError(f"unknown RequestType {request_type!r}")
    except Exception as exc:
        logger.exception("job code publishing failed")
        response["Status"] = "FAILED"
        response["Reason"] = f"{type(exc).__name__}: {exc} (see CloudWatch log stream {log_stream_name})"
    responder.send(str(event["ResponseURL"]), response)
    return response
