"""Fault injection for tests: make the next N calls of an AWS API fail as the service would.

`FaultInjector.fail("dynamodb", "PutItem", "ProvisionedThroughputExceededException", times=2)`
answers the next two PutItem calls, from any client (a Lambda, Step Functions, a test), with a
400 response carrying that error code, in the JSON error shape botocore parses for JSON protocols.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from moto.core.responses import BaseResponse
from moto.core.utils import camelcase_to_underscores


class FaultInjector:
    def __init__(self) -> None:
        self._faults: dict[tuple[str, str], list[str]] = {}
        self._lock = threading.Lock()
        self.injected: list[tuple[str, str, str]] = []
        self._original = BaseResponse.call_action
        injector = self

        def call_action(response: BaseResponse) -> Any:
            fault = injector._take(
                getattr(response, "service_name", ""), camelcase_to_underscores(response._get_action())
            )
            if fault is None:
                return injector._original(response)
            body = json.dumps({"__type": fault, "message": f"Rate exceeded ({fault}, injected)"})
            return 400, {"status": 400, "x-amzn-ErrorType": fault, "Content-Type": "application/x-amz-json-1.0"}, body

        BaseResponse.call_action = call_action

    def fail(self, service: str, action: str, error_code: str, times: int = 1) -> None:
        with self._lock:
            self._faults.setdefault((service, camelcase_to_underscores(action)), []).extend([error_code] * times)

    def _take(self, service: str, action: str) -> str | None:
        with self._lock:
            queued = self._faults.get((service, action))
            if not queued:
                return None
            code = queued.pop(0)
            self.injected.append((service, action, code))
            return code

    def uninstall(self) -> None:
        BaseResponse.call_action = self._original


def install() -> FaultInjector:
    return FaultInjector()
