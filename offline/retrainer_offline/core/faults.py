"""Fault injection for tests: make the next N calls of an AWS API fail as the service would.

`FaultInjector.fail("dynamodb", "PutItem", "ProvisionedThroughputExceededException", times=2)`
answers the next two PutItem calls, from any client (a Lambda, Step Functions, a test), with a
400 response carrying that error code, in the JSON error shape botocore parses for JSON protocols.

With `after_call=True` the call IS carried out and the caller still gets the error: a response lost
in transit, or a timeout after the service acted. A retry then meets the result of the first try
(e.g. "Cannot create already existing endpoint configuration"), which is what idempotent steps
must handle.

With `matching="text"` only calls whose request body contains that text fail (e.g. one model's items),
so calls that other work makes meanwhile (runs of other models finishing in the background) never
take a fault meant for the call under test.
"""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

from moto.core.responses import BaseResponse
from moto.core.utils import camelcase_to_underscores


class FaultInjector:
    def __init__(self) -> None:
        self._faults: dict[tuple[str, str], list[tuple[str, bool, str | None]]] = {}
        self._lock = threading.Lock()
        self.injected: list[tuple[str, str, str]] = []
        self._original = BaseResponse.call_action
        injector = self

        def call_action(response: BaseResponse) -> Any:
            taken = injector._take(
                getattr(response, "service_name", ""), camelcase_to_underscores(response._get_action()), response
            )
            if taken is None:
                return injector._original(response)
            fault, after_call = taken
            if after_call:
                injector._original(response)  # the service acts; only its answer is lost
            body = json.dumps({"__type": fault, "message": f"Rate exceeded ({fault}, injected)"})
            headers = {
                "status": 400,
                "x-amzn-ErrorType": fault,
                "x-amzn-RequestId": str(uuid.uuid4()),  # AWS answers every request with one; callers read it
                "Content-Type": "application/x-amz-json-1.0",
            }
            return 400, headers, body

        BaseResponse.call_action = call_action

    def fail(
        self,
        service: str,
        action: str,
        error_code: str,
        times: int = 1,
        after_call: bool = False,
        matching: str | None = None,
    ) -> None:
        """Answer the next `times` calls of `action` (whose body contains `matching`, if given) with `error_code`;
        with `after_call`, after carrying them out."""
        with self._lock:
            queue = self._faults.setdefault((service, camelcase_to_underscores(action)), [])
            queue.extend([(error_code, after_call, matching)] * times)

    def _take(self, service: str, action: str, response: BaseResponse) -> tuple[str, bool] | None:
        with self._lock:
            queued = self._faults.get((service, action))
            if not queued:
                return None
            for index, (code, after_call, matching) in enumerate(queued):
                if matching is None or matching in _body_text(response):
                    del queued[index]
                    self.injected.append((service, action, code))
                    return code, after_call
            return None

    def uninstall(self) -> None:
        BaseResponse.call_action = self._original


def _body_text(response: BaseResponse) -> str:
    body = getattr(response, "body", None) or ""
    return body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)


def install() -> FaultInjector:
    return FaultInjector()
