"""A scaled clock, so Wait states, retry backoff and poll intervals do not take wall time.

Only waiting is scaled. Job compute is never faked: a training job takes as long as it takes.
"""

from __future__ import annotations

import threading
import time


class ScaledClock:
    """Sleeps `seconds * scale` of wall time for a requested `seconds` of AWS time."""

    def __init__(self, scale: float = 0.001, minimum_sleep: float = 0.0) -> None:
        if scale < 0:
            raise ValueError("scale must be >= 0")
        self.scale = scale
        self.minimum_sleep = minimum_sleep
        self._lock = threading.Lock()
        self._slept_aws_seconds = 0.0

    def sleep(self, seconds: float) -> None:
        """Wait for `seconds` of emulated time."""
        if seconds <= 0:
            return
        with self._lock:
            self._slept_aws_seconds += seconds
        time.sleep(max(seconds * self.scale, self.minimum_sleep))

    def wait_event(self, event: threading.Event, seconds: float) -> bool:
        """Wait on `event` for at most `seconds` of emulated time; True if it was set."""
        return event.wait(max(seconds * self.scale, self.minimum_sleep))

    @property
    def slept_aws_seconds(self) -> float:
        """Emulated seconds waited so far (for reports: how much time the scaling saved)."""
        with self._lock:
            return self._slept_aws_seconds


class _ClockHolder:
    """The process-wide clock the runtime's patches consult; the runtime replaces it at start."""

    clock = ScaledClock()


def current() -> ScaledClock:
    return _ClockHolder.clock


def use(clock: ScaledClock) -> None:
    _ClockHolder.clock = clock
