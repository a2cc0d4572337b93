"""One offline runtime per test module: deploying template.yaml takes a few seconds."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from retrainer_offline.demo import MODEL_CONFIG, breast_cancer
from retrainer_offline.runtime import OfflineRuntime


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
