"""Emulated AWS time: real while anything computes, fast-forwarded only while the emulated AWS waits.

The model, one rule for the whole runtime:

- Compute is never faked. While a job, a Lambda or the interpreter itself works, emulated time advances
  1:1 with real (wall) time: a training job that takes 40 s here took 40 s of emulated time.
- Waiting is what gets fast-forwarded: Wait states, Retry backoff, quiet windows, bakes, the scheduler's
  ticks, alarm evaluation periods, endpoint transitions. A wait of `s` emulated seconds takes `s * scale`
  of wall time.
- Each execution keeps its own account on a `Timeline`: emulated now = wall time since it started +
  the time its waits skipped. When a wait ends, the timeline jumps to the wait's end (never backwards,
  never past it), so two Parallel branches waiting 60 s at once advance it by 60 s, not 120 s, and a
  wait in one execution never moves another execution's time. (Nothing is shared: a global offset that
  every waiter advances would let busy neighbours push each other past their deadlines.)
- Every deadline is measured on a timeline. The execution's `TimeoutSeconds` is a deadline on the
  execution's timeline; a Task's `TimeoutSeconds` is a deadline on a timeline of the Task's own, which
  counts what the Task does (compute, or waiting for its job or callback: real time), so a wait in
  another Parallel branch never moves a Task's deadline. A deadline fires either because real time
  reached it (a watcher thread sleeps the remaining wall time) or because a wait reached it: a wait never
  jumps past a pending deadline; it stops there and fires the deadline itself, before its own state could
  hand anything on. So machine load never makes a run time out that would not on AWS (load slows compute,
  and compute counts 1:1 as on a slow AWS host: MaxRuntimeInSeconds and Lambda timeouts are real time
  too), and a run that really waits past its timeout ends TIMED_OUT and starts nothing after.
- Known over-estimate: compute that overlaps a wait in another Parallel branch counts on top of the wait
  (the timeline jumps to the wait's end, then keeps running 1:1), so such an execution's clock can run
  ahead of AWS's by at most that overlapping compute (seconds, against timeouts of hours).
- Waits that belong to no execution (schedules, alarm ticks, async-invoke retries, endpoint
  transitions) wait on the process-wide `ScaledClock` (`sleep`, `wait_event`); alarm periods map to
  `period * scale` of wall time on the same scale, so a bake of P seconds and an alarm period of P
  seconds span the same wall time.
- Waiting *for compute* is not a wait that skips time: a `.sync` task waits on the job's end event,
  a waitForTaskToken task waits on its callback, both in real time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Deadline:
    """`action` runs once when the timeline reaches `at` (emulated seconds since the timeline started)."""

    at: float
    action: Callable[[], None]
    fired: bool = False
    cancelled: bool = False


class Timeline:
    """One execution's emulated time: wall time since it started plus the time its waits skipped."""

    def __init__(self, scale: float, on_skip: Callable[[float], None] | None = None) -> None:
        self.scale = scale
        self._started = time.monotonic()
        self._skipped = 0.0
        self._deadlines: list[Deadline] = []
        self._changed = threading.Condition()
        self._closed = False
        self._watcher: threading.Thread | None = None
        self._on_skip = on_skip

    def now(self) -> float:
        """Emulated seconds since the timeline started."""
        with self._changed:
            return self._now()

    def _now(self) -> float:
        return time.monotonic() - self._started + self._skipped

    def add_deadline(self, after: float, action: Callable[[], None]) -> Deadline:
        """Run `action` once `after` emulated seconds from now have passed on this timeline."""
        with self._changed:
            deadline = Deadline(at=self._now() + after, action=action)
            self._deadlines.append(deadline)
            if self._watcher is None:
                self._watcher = threading.Thread(target=self._watch, daemon=True, name="retrainer-deadlines")
                self._watcher.start()
            self._changed.notify_all()
        return deadline

    def cancel(self, deadline: Deadline) -> None:
        with self._changed:
            deadline.cancelled = True
            if deadline in self._deadlines:
                self._deadlines.remove(deadline)
            self._changed.notify_all()

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._deadlines.clear()
            self._changed.notify_all()

    def _next_deadline(self) -> float | None:
        pending = [d.at for d in self._deadlines if not d.fired and not d.cancelled]
        return min(pending) if pending else None

    def _fire_due(self) -> None:
        """Run every deadline the timeline has reached (outside the lock: actions take other locks)."""
        with self._changed:
            now = self._now()
            due = [d for d in self._deadlines if not d.fired and not d.cancelled and d.at <= now]
            for deadline in due:
                deadline.fired = True
                self._deadlines.remove(deadline)
        for deadline in sorted(due, key=lambda d: d.at):
            deadline.action()

    def _watch(self) -> None:
        """Fires deadlines that real time (compute) reaches; waits are woken by jumps and new deadlines."""
        while True:
            with self._changed:
                if self._closed:
                    return
                nearest = self._next_deadline()
                remaining = None if nearest is None else nearest - self._now()
                if remaining is None or remaining > 0:
                    self._changed.wait(remaining)
                    continue
            self._fire_due()

    def wait(
        self, seconds: float, interrupt: threading.Event | None = None, running: Callable[[], bool] | None = None
    ) -> bool:
        """Wait `seconds` of emulated time (`seconds * scale` of wall time), then jump the timeline to the end.

        A pending deadline inside the wait is reached first and fired by this thread. Returns False when the
        wait was cut short: `interrupt` was set while `running()` is False (moto pulses the event on every
        state change, so a pulse while still running is ignored), or a deadline stopped the execution.
        """
        with self._changed:
            target = self._now() + seconds
        while running is None or running():
            with self._changed:
                current = self._now()
                if current >= target:
                    return True
                nearest = self._next_deadline()
                step = target if nearest is None else min(target, max(nearest, current))
            if not self._sleep_wall((step - current) * self.scale, interrupt, running):
                return False
            self._advance_to(step)
            self._fire_due()
        return False

    @staticmethod
    def _sleep_wall(seconds: float, interrupt: threading.Event | None, running: Callable[[], bool] | None) -> bool:
        """Sleep `seconds` of wall time; False if interrupted while no longer running."""
        if interrupt is None:
            time.sleep(max(seconds, 0.0))
            return True
        until = time.monotonic() + seconds
        while (left := until - time.monotonic()) > 0:
            if interrupt.wait(left) and (running is None or not running()):
                return False
        return True

    def _advance_to(self, at: float) -> None:
        with self._changed:
            behind = at - self._now()
            if behind > 0:
                self._skipped += behind
                self._changed.notify_all()
        if behind > 0 and self._on_skip is not None:
            self._on_skip(behind)


class ScaledClock:
    """The runtime's scale, the waits that belong to no execution, and one `Timeline` per execution."""

    def __init__(self, scale: float = 0.001, minimum_sleep: float = 0.0) -> None:
        if scale < 0:
            raise ValueError("scale must be >= 0")
        self.scale = scale
        self.minimum_sleep = minimum_sleep
        self._lock = threading.Lock()
        self._slept_aws_seconds = 0.0
        self._timelines: dict[str, Timeline] = {}

    def sleep(self, seconds: float) -> None:
        """Wait for `seconds` of emulated time outside any execution."""
        if seconds <= 0:
            return
        self._count(seconds)
        time.sleep(max(seconds * self.scale, self.minimum_sleep))

    def wait_event(self, event: threading.Event, seconds: float) -> bool:
        """Wait on `event` for at most `seconds` of emulated time; True if it was set."""
        return event.wait(max(seconds * self.scale, self.minimum_sleep))

    def _count(self, seconds: float) -> None:
        with self._lock:
            self._slept_aws_seconds += seconds

    @property
    def slept_aws_seconds(self) -> float:
        """Emulated seconds waited so far (for reports: how much time the scaling saved)."""
        with self._lock:
            return self._slept_aws_seconds

    # ------------------------------------------------------------------ per-execution time
    def timeline(self, key: str) -> Timeline:
        """The timeline of execution `key`, started now if it has none yet."""
        with self._lock:
            if key not in self._timelines:
                self._timelines[key] = Timeline(self.scale, on_skip=self._count)
            return self._timelines[key]

    def end_timeline(self, key: str) -> None:
        with self._lock:
            timeline = self._timelines.pop(key, None)
        if timeline is not None:
            timeline.close()


class _ClockHolder:
    """The process-wide clock the runtime's patches consult; the runtime replaces it at start."""

    clock = ScaledClock()


def current() -> ScaledClock:
    return _ClockHolder.clock


def use(clock: ScaledClock) -> None:
    _ClockHolder.clock = clock
