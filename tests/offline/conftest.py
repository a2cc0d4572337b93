"""One offline runtime per test module: deploying template.yaml takes a few seconds."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from retrainer_offline.runtime import OfflineRuntime
from retrainer_offline.sample_data.breast_cancer import MODEL_CONFIG, breast_cancer

ROLE = "arn:aws:iam::123456789012:role/sagemaker"
XGBOOST = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


def wait_for_job(describe: Callable[[], Any], field: str, timeout: float = 60) -> dict[str, Any]:
    """Poll a Describe* call until the job's `field` leaves InProgress/Stopping (or `timeout` passes)."""
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = describe()
        if job[field] not in {"InProgress", "Stopping"} or time.monotonic() > deadline:
            return job
        time.sleep(0.02)


class Notifications:
    """An SQS queue subscribed to the stack's topic: what a subscriber would receive."""

    def __init__(self, runtime: OfflineRuntime) -> None:
        self.sqs = runtime.client("sqs")
        self.url = self.sqs.create_queue(QueueName="test-notifications")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        runtime.client("sns").subscribe(TopicArn=runtime.output("NotificationTopicArn"), Protocol="sqs", Endpoint=arn)

    def drain(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return found
            for message in messages:
                found.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture(scope="module")
def runtime() -> Iterator[OfflineRuntime]:
    with OfflineRuntime() as started:
        yield started


@pytest.fixture(scope="module")
def notifications(runtime: OfflineRuntime) -> Notifications:
    return Notifications(runtime)


@pytest.fixture(scope="module")
def dataset() -> Any:
    return breast_cancer()


@pytest.fixture(scope="module")
def model_config() -> dict[str, Any]:
    return dict(MODEL_CONFIG)


@pytest.fixture(scope="module")
def bucket(runtime: OfflineRuntime) -> str:
    return runtime.output("ArtifactsBucketName")


@pytest.fixture(scope="module")
def trained(runtime: OfflineRuntime, bucket: str) -> dict[str, Any]:
    """A small training job on separable data, label first, no header (§3 CSV layout)."""
    s3 = runtime.client("s3")
    rows = [f"{i % 2},{(i % 2) * 5 + (i % 7) * 0.1},{i % 3}" for i in range(200)]
    for channel in ("train", "validation"):
        s3.put_object(Bucket=bucket, Key=f"t/{channel}/part.csv", Body="\n".join(rows).encode())
    sm = runtime.client("sagemaker")
    sm.create_training_job(
        TrainingJobName="pinned-train",
        AlgorithmSpecification={"TrainingImage": XGBOOST, "TrainingInputMode": "File"},
        RoleArn=ROLE,
        HyperParameters={"num_round": "5", "objective": "binary:logistic", "eval_metric": "auc", "max_depth": "2"},
        InputDataConfig=[
            {
                "ChannelName": c,
                "ContentType": "text/csv",
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/t/{c}/"}},
            }
            for c in ("train", "validation")
        ],
        OutputDataConfig={"S3OutputPath": f"s3://{bucket}/out"},
        ResourceConfig={"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 5},
        StoppingCondition={"MaxRuntimeInSeconds": 600},
    )
    first = sm.describe_training_job(TrainingJobName="pinned-train")
    job = wait_for_job(lambda: sm.describe_training_job(TrainingJobName="pinned-train"), "TrainingJobStatus")
    return {"first": first, "job": job}
