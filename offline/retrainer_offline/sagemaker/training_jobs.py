"""Training jobs with built-in XGBoost 1.7-1 (sagemaker-contracts.md §2-§3).

Channels downloaded to `/opt/ml/input/data/<channel>`, `hyperparameters.json`/`inputdataconfig.json`
written, `retrainer_offline.sagemaker.containers` trains in the job's own process; `FinalMetricDataList`
parsed from its log with the service's metric regexes, `/opt/ml/output/failure` as FailureReason,
`model.tar.gz` holding `xgboost-model` at `{S3OutputPath}/{TrainingJobName}/output/model.tar.gz`.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
from pathlib import Path
from typing import Any

from retrainer_offline.sagemaker.containers import (
    METRIC_NAMES,
    TRAIN_SECONDS_PREFIX,
    JobFailed,
    validate_hyperparameters,
)
from retrainer_offline.sagemaker.job_folders import download_prefix, inside, now, s3_client, split_uri
from retrainer_offline.sagemaker.job_processes import JOB_LOGS, TRAIN_SECONDS, run_container
from retrainer_offline.sagemaker.serving import is_xgboost_image

METRIC_REGEX = r".*\[[0-9]+\].*#011{channel}-{metric}:([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?).*"


def run_xgboost_training(job: Any, job_dir: Path, backend: Any) -> None:
    del backend
    image = job.algorithm_specification.get("TrainingImage", "")
    if not is_xgboost_image(image):
        raise JobFailed(
            f"ClientError: image {image} is not supported by the offline runtime (built-in XGBoost 1.7-1 is)"
        )
    validate_hyperparameters(dict(job.hyper_parameters or {}))  # fail before downloading, as the service does
    s3 = s3_client()
    job.secondary_status = "Downloading"
    channels: dict[str, dict[str, str]] = {}
    for channel in job.input_data_config or []:
        name = channel["ChannelName"]
        folder = inside(job_dir / "opt/ml/input/data", name, "ChannelName")
        download_prefix(s3, channel["DataSource"]["S3DataSource"]["S3Uri"], folder)
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
    output = run_container("training", job.training_job_name, job, job_dir)
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
    bucket, key = split_uri(artifact)
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
            found.append({"MetricName": f"{channel}:{metric}", "Value": values[-1], "Timestamp": now()})
    return found
