"""Tracing that costs nothing at import: every handler's X-Ray tracer is built at its first call."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

_Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


class LazyTracer:
    """Powertools `Tracer`, built at the handler's first invocation instead of at import.

    Building a Tracer imports the X-Ray SDK and patches botocore (about 350 ms); doing it at the first
    call keeps the handler module's import small. On AWS the first invocation then traces exactly as a
    module-level `Tracer()` would (same service, same auto-patching, cold start annotation), and the
    clients the composition root builds afterwards are patched.
    """

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._lock = threading.Lock()
        self.tracer: Any = None

    def capture_lambda_handler(self, handler: _Handler) -> _Handler:
        traced: list[_Handler] = []

        @functools.wraps(handler)
        def wrapper(event: dict[str, Any], context: Any) -> dict[str, Any]:
            if not traced:
                with self._lock:
                    if not traced:
                        from aws_lambda_powertools import Tracer

                        self.tracer = Tracer(**self._options)
                        traced.append(self.tracer.capture_lambda_handler(handler))
            return traced[0](event, context)

        return wrapper
