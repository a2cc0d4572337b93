"""EventBridge: events the stack puts on the default bus (port: retrainer.ports.EventBus)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from retrainer.errors import AwsCallFailed

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient


class EventBridgeBus:
    def __init__(self, client: EventBridgeClient) -> None:
        self._client = client

    def put(self, source: str, detail_type: str, detail: dict[str, Any]) -> None:
        answer = self._client.put_events(
            Entries=[{"Source": source, "DetailType": detail_type, "Detail": json.dumps(detail, default=str)}]
        )
        if answer.get("FailedEntryCount"):
            entry = answer["Entries"][0]
            raise AwsCallFailed(f"PutEvents refused the event: {entry.get('ErrorCode')} {entry.get('ErrorMessage')}")
