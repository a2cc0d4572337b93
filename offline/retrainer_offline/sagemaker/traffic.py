"""Live traffic for the rollout: a client invoking an endpoint continuously, as production would.

`Traffic` invokes the endpoint from a background thread and records, for every request, when it was
sent, which production variant answered (`x-Amzn-Invoked-Production-Variant`) or the error it got.
`served_during` then counts the variants over a time window, for example one canary step's bake.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3


@dataclass(frozen=True)
class Request:
    at: datetime
    variant: str | None
    error: str | None = None


@dataclass
class Traffic:
    endpoint: str
    rows: list[str]
    region: str = "us-east-1"
    pause_seconds: float = 0.0
    requests: list[Request] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Traffic:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"traffic-{self.endpoint}")
        self._thread.start()
        return self

    def stop(self) -> Traffic:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        return self

    def __enter__(self) -> Traffic:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        client: Any = boto3.client("sagemaker-runtime", region_name=self.region)
        n = 0
        while not self._stop.is_set():
            row = self.rows[n % len(self.rows)]
            n += 1
            sent = datetime.now(UTC)
            try:
                response = client.invoke_endpoint(EndpointName=self.endpoint, ContentType="text/csv", Body=row)
                response["Body"].read()
                self.requests.append(Request(sent, response.get("InvokedProductionVariant")))
            except Exception as exc:  # every failure a client would see is recorded
                self.requests.append(Request(sent, None, f"{type(exc).__name__}: {exc}"))
            if self.pause_seconds:
                time.sleep(self.pause_seconds)

    @property
    def failures(self) -> list[Request]:
        return [r for r in self.requests if r.error is not None]

    def served_during(self, start: datetime, end: datetime | None = None) -> Counter[str]:
        """Which variant answered the requests sent in [start, end)."""
        return Counter(
            r.variant or "error" for r in list(self.requests) if r.at >= start and (end is None or r.at < end)
        )
