"""Background work the emulator starts (jobs, async invocations, endpoint transitions), drainable.

Leaving the moto mock while such a thread still runs would send its calls to real AWS, so the
runtime drains every tracker before it stops.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any


class BackgroundThreads:
    def __init__(self) -> None:
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def start(self, target: Callable[..., Any], *args: Any, name: str = "retrainer-background") -> None:
        thread = threading.Thread(target=target, args=args, daemon=True, name=name)
        with self._lock:
            self._threads.append(thread)
        thread.start()

    def drain(self, timeout: float = 300) -> None:
        """Wait until every thread started here has finished, or `timeout` seconds have passed."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                alive = [t for t in self._threads if t.is_alive()]
                self._threads = alive
            if not alive or time.monotonic() > deadline:
                return
            alive[0].join(timeout=max(0.0, min(1.0, deadline - time.monotonic())))
