"""EventBridge Scheduler schedules that fire (moto stores them and never fires them).

What it reproduces (EventBridge Scheduler User Guide, "Schedule types on EventBridge Scheduler" and
"Adding context attributes to your target"):
- `rate(value unit)` (unit minute(s) | hour(s) | day(s)): the first invocation one period after the schedule is
  created, then every period;
- `cron(minutes hours day-of-month month day-of-week year)`: six fields, `*`, `?`, numbers, lists `a,b`,
  ranges `a-b` and steps `*/n` / `a/n`; day-of-week 1-7 = SUN-SAT or SUN..SAT; evaluated in UTC
  (ScheduleExpressionTimezone other than UTC is not emulated);
- `at(yyyy-mm-ddThh:mm:ss)`: one invocation at that time, then the schedule is deleted when
  ActionAfterCompletion is DELETE;
- a DISABLED schedule, or one outside StartDate/EndDate, does not fire; offline only, an invocation due while
  the schedule's previous execution still runs, or within MIN_WALL_INTERVAL of wall time after it started,
  waits (see `_still_running`);
- the templated target Step Functions StartExecution (the target ARN is the state machine's) starts an
  execution with the target's Input; a Lambda function ARN is invoked asynchronously with it; the context
  attributes `<aws.scheduler.schedule-arn>`, `<aws.scheduler.scheduled-time>`, `<aws.scheduler.execution-id>`
  and `<aws.scheduler.attempt-number>` in Input are replaced.

The period between invocations runs on the scaled clock (an hourly schedule fires every 3.6 s of wall time
at the default 1/1000). Captures and job outputs offline are stamped with the wall clock, so the
`scheduled-time` handed to the target is the wall time of the invocation (on AWS both are the same clock).
`fire(name, group)` invokes a schedule now (tests and the demo use it, as `alarms.evaluate_now` for alarms).
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from moto.scheduler import models as scheduler_models

from retrainer_offline.core import clock

TICK_SECONDS = 60.0  # emulated seconds between looks at the schedules
MIN_WALL_INTERVAL = 10.0  # offline only: wall seconds between two executions one schedule starts
_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")
_CRON = re.compile(r"^cron\((.+)\)$")
_DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_MONTHS = {
    m: i + 1 for i, m in enumerate(["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"])
}


def _values(field: str, low: int, high: int, names: dict[str, int] | None = None) -> set[int] | None:
    """One cron field as the set of values it allows (None: any)."""
    if field in {"*", "?"}:
        return None
    allowed: set[int] = set()
    for part in field.upper().split(","):
        base, _, step = part.partition("/")
        if base == "*":
            start, end = low, high
        elif "-" in base:
            first, last = base.split("-")
            start, end = _number(first, names), _number(last, names)
        else:
            start = _number(base, names)
            end = high if step else start
        allowed.update(range(start, end + 1, int(step) if step else 1))
    return allowed


def _number(text: str, names: dict[str, int] | None) -> int:
    return names[text] if names and text in names else int(text)


@dataclass(frozen=True)
class Cron:
    minutes: set[int] | None
    hours: set[int] | None
    days: set[int] | None
    months: set[int] | None
    weekdays: set[int] | None
    years: set[int] | None

    @classmethod
    def parse(cls, fields: str) -> Cron:
        parts = fields.split()
        if len(parts) != 6:
            raise ValueError(f"cron needs 6 fields (minutes hours day-of-month month day-of-week year): {fields!r}")
        minute, hour, day, month, weekday, year = parts
        if (day == "?") == (weekday == "?"):
            raise ValueError("cron: exactly one of day-of-month and day-of-week must be '?'")
        return cls(
            _values(minute, 0, 59),
            _values(hour, 0, 23),
            _values(day, 1, 31),
            _values(month, 1, 12, _MONTHS),
            _values(weekday, 1, 7, _DAYS),
            _values(year, 1970, 2199),
        )

    def matches(self, moment: datetime) -> bool:
        weekday = (moment.isoweekday() % 7) + 1  # SUN = 1 ... SAT = 7
        return all(
            allowed is None or value in allowed
            for allowed, value in (
                (self.minutes, moment.minute),
                (self.hours, moment.hour),
                (self.days, moment.day),
                (self.months, moment.month),
                (self.weekdays, weekday),
                (self.years, moment.year),
            )
        )


def next_invocation(expression: str, after: datetime) -> datetime | None:
    """The first invocation strictly after `after` (UTC), or None when the expression has no more."""
    rate = _RATE.match(expression)
    if rate:
        return after + timedelta(seconds=int(rate[1]) * _UNIT_SECONDS[rate[2].rstrip("s")])
    at = _AT.match(expression)
    if at:
        moment = datetime.fromisoformat(at[1]).replace(tzinfo=UTC)
        return moment if moment > after else None
    cron = _CRON.match(expression)
    if not cron:
        raise ValueError(f"not an EventBridge Scheduler expression: {expression!r}")
    rule = Cron.parse(cron[1])
    moment = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
    for _ in range(366 * 24 * 60):  # a year of minutes at most
        if rule.matches(moment):
            return moment
        moment += timedelta(minutes=1)
    return None


def target_input(schedule: Any, scheduled_time: datetime) -> str:
    """The target's Input with Scheduler's context attributes filled in."""
    text = str(schedule.target.get("Input") or "{}")
    for key, value in {
        "<aws.scheduler.schedule-arn>": schedule.arn,
        "<aws.scheduler.scheduled-time>": scheduled_time.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "<aws.scheduler.execution-id>": str(uuid.uuid4()),
        "<aws.scheduler.attempt-number>": "1",
    }.items():
        text = text.replace(key, value)
    return text


class SchedulerImitation:
    """Fires moto's schedules on the scaled clock (see the module docstring)."""

    def __init__(self, fire_on_time: bool = True) -> None:
        self.fire_on_time = fire_on_time  # False: schedules fire only through `fire` (see OfflineRuntime)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._due: dict[str, datetime] = {}  # schedule ARN -> next invocation, in emulated time
        self._last_execution: dict[str, str] = {}  # schedule ARN -> the execution it started last
        self._last_wall: dict[str, float] = {}  # schedule ARN -> when (wall, monotonic) it started it
        self.fired: list[dict[str, Any]] = []  # what each invocation started (tests, demo)
        self.now = datetime.now(UTC)  # emulated time: starts at the wall clock, advances by the scaled ticks
        self._thread = threading.Thread(target=self._loop, daemon=True, name="eventbridge-scheduler-schedules")
        self._thread.start()

    def _loop(self) -> None:
        while not clock.current().wait_event(self._stop, TICK_SECONDS):
            with self._lock:
                self.now += timedelta(seconds=TICK_SECONDS)
                due = [schedule for schedule in _schedules() if self.fire_on_time and self._is_due(schedule)]
            for schedule in due:
                if not self._stop.is_set():
                    self._invoke(schedule)

    def _is_due(self, schedule: Any) -> bool:
        if schedule.state != "ENABLED" or not _within_dates(schedule, self.now) or self._still_running(schedule):
            return False
        if schedule.arn not in self._due:
            first = next_invocation(schedule.schedule_expression, self.now)
            if first is None:
                return False
            self._due[schedule.arn] = first
        if self.now < self._due[schedule.arn]:
            return False
        following = next_invocation(schedule.schedule_expression, self._due[schedule.arn])
        if following is None:
            self._due[schedule.arn] = datetime.max.replace(tzinfo=UTC)
        else:
            self._due[schedule.arn] = max(following, self.now)
        return True

    def _still_running(self, schedule: Any) -> bool:
        """Offline only: an invocation due while the execution this schedule started last is still running
        waits for it to end, and a schedule starts at most one execution per MIN_WALL_INTERVAL of wall time.
        At 1/1000 an hour is 3.6 s, shorter than one analysis job (whose compute is not scaled); on AWS an
        hourly run takes minutes of its hour, so runs never pile up there either."""
        execution = self._last_execution.get(schedule.arn)
        if execution is None:
            return False
        if time.monotonic() - self._last_wall.get(schedule.arn, 0.0) < MIN_WALL_INTERVAL:
            return True
        status = boto3.client("stepfunctions", region_name=_region(schedule)).describe_execution(
            executionArn=execution
        )["status"]
        return bool(status == "RUNNING")

    def fire(self, name: str, group: str = "default", scheduled_time: datetime | None = None) -> dict[str, Any]:
        """Invoke one schedule now, as its next invocation would (tests and the demo); `scheduled_time` (default:
        now) is what `<aws.scheduler.scheduled-time>` says, e.g. the next whole minute, as a cron invocation's is."""
        for schedule in _schedules():
            if schedule.name == name and schedule.group_name == group:
                return self._invoke(schedule, scheduled_time)
        raise KeyError(f"no schedule {group}/{name}")

    def _invoke(self, schedule: Any, scheduled_time: datetime | None = None) -> dict[str, Any]:
        arn = str(schedule.target["Arn"])
        payload = target_input(schedule, scheduled_time or datetime.now(UTC))
        record: dict[str, Any] = {"schedule": schedule.name, "group": schedule.group_name, "target": arn}
        if ":states:" in arn and ":stateMachine:" in arn:
            started = boto3.client("stepfunctions", region_name=_region(schedule)).start_execution(
                stateMachineArn=arn, name=f"{schedule.name[:40]}-{uuid.uuid4().hex[:12]}", input=payload
            )
            record["execution_arn"] = started["executionArn"]
            self._last_execution[schedule.arn] = started["executionArn"]
            self._last_wall[schedule.arn] = time.monotonic()
        elif ":lambda:" in arn:
            boto3.client("lambda", region_name=_region(schedule)).invoke(
                FunctionName=arn, InvocationType="Event", Payload=payload.encode()
            )
        record["input"] = json.loads(payload)
        self.fired.append(record)
        if _AT.match(schedule.schedule_expression) and schedule.action_after_completion == "DELETE":
            _backend(schedule).delete_schedule(schedule.group_name, schedule.name)
        return record

    def uninstall(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def _within_dates(schedule: Any, now: datetime) -> bool:
    start, end = getattr(schedule, "start_date", None), getattr(schedule, "end_date", None)
    if start and now < _as_datetime(start):
        return False
    return not (end and now > _as_datetime(end))


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _region(schedule: Any) -> str:
    return str(schedule.arn.split(":")[3])


def _backend(schedule: Any) -> Any:
    return scheduler_models.scheduler_backends[schedule.arn.split(":")[4]][_region(schedule)]


def _schedules() -> list[Any]:
    found = []
    for account_id in list(scheduler_models.scheduler_backends.keys()):
        for region in ("us-east-1",):
            backend = scheduler_models.scheduler_backends[account_id][region]
            for group in list(backend.schedule_groups.values()):
                found += list(group.schedules.values())
    return found


def install(fire_on_time: bool = True) -> SchedulerImitation:
    return SchedulerImitation(fire_on_time)
