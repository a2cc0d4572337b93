"""Batch transform jobs (sagemaker-contracts.md §4).

The model and input objects downloaded, `retrainer_offline.sagemaker.containers` scores them in the job's
own process (SplitType Line, InputFilter / JoinSource / OutputFilter on CSV rows as JSON arrays,
AssembleWith Line), one `<input>.out` per input object, nothing uploaded on failure.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from retrainer_offline.sagemaker.containers import JobFailed
from retrainer_offline.sagemaker.job_folders import inside, listed_keys, relative_key, s3_client, split_uri
from retrainer_offline.sagemaker.job_processes import run_container
from retrainer_offline.sagemaker.sklearn_container import model_containers as _model_containers


def run_transform(job: Any, job_dir: Path, backend: Any) -> None:
    """The model's containers (one, or a serial pipeline that takes raw rows) with their artifacts in the
    job's folder, and the input objects; then the job's process scores them (containers.transform)."""
    s3 = s3_client()
    model_containers = _model_containers(backend.describe_model(job.model_name))
    for index, container in enumerate(model_containers):
        model_data_url = container.get("ModelDataUrl", "")
        model_file = job_dir / "model" / str(index) / "model.tar.gz"
        model_file.parent.mkdir(parents=True, exist_ok=True)
        model_bucket, model_key = split_uri(model_data_url)
        try:
            model_file.write_bytes(s3.get_object(Bucket=model_bucket, Key=model_key)["Body"].read())
        except Exception as exc:
            raise JobFailed(f"ClientError: cannot read model data {model_data_url}: {exc}") from exc
    source = job.transform_input["DataSource"]["S3DataSource"]["S3Uri"]
    bucket, prefix = split_uri(source)
    keys = [key for key in listed_keys(s3, bucket, prefix) if not key.endswith("/")]
    if not keys:
        raise JobFailed(f"ClientError: no input objects under {source}")
    inputs = [(key, relative_key(key, prefix)) for key in keys]
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
    run_container("transform", job.transform_job_name, job, job_dir)
    out_bucket, out_prefix = split_uri(job.transform_output["S3OutputPath"])
    for _, relative in inputs:  # nothing is uploaded unless every object succeeded
        body = (job_dir / "output" / f"{relative}.out").read_bytes()
        s3.put_object(Bucket=out_bucket, Key=f"{out_prefix.rstrip('/')}/{relative}.out".lstrip("/"), Body=body)
