"""SNS: the trigger side's notices (port: retrainer.ports.Notifier)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient


class SnsNotifier:
    """Trigger-side notices (a deferred trigger) on the same topic the state machine notifies."""

    def __init__(self, client: SNSClient, topic_arn: str) -> None:
        self._client = client
        self._topic = topic_arn

    def publish(self, subject: str, message: dict[str, Any], outcome: str, model_name: str) -> None:
        if not self._topic:
            return
        self._client.publish(
            TopicArn=self._topic,
            Subject=subject[:100],
            Message=json.dumps(message, default=str),
            MessageAttributes={
                "outcome": {"DataType": "String", "StringValue": outcome},
                "model_name": {"DataType": "String", "StringValue": model_name},
            },
        )
