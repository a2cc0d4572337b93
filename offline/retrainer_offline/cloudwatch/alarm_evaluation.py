"""CloudWatch metric alarm evaluation: how an alarm's datapoints put it in ALARM, OK or INSUFFICIENT_DATA.

What CloudWatch does and this module reproduces (AWS docs "Using Amazon CloudWatch alarms",
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html, sections
"Evaluating an alarm" and "Configuring how CloudWatch alarms treat missing data"):

- A single-metric alarm (Namespace, MetricName, Dimensions, Statistic or ExtendedStatistic pNN,
  Period, EvaluationPeriods N, DatapointsToAlarm M (default N), Threshold, ComparisonOperator,
  Unit) turns each period into one datapoint; M breaching datapoints out of the last N put it in
  ALARM, otherwise it is OK. Metric-math alarms (`Metrics`), anomaly-detection operators and
  composite alarms are left as they are (not evaluated here).
- CloudWatch looks further back than N periods when datapoints are missing ("it retrieves a higher
  number of data points than the number specified as Evaluation Periods"). Here the lookback is
  `LOOKBACK_FACTOR * N` periods; the most recent N real datapoints in it are judged. When fewer
  than M are real, the missing ones are filled as TreatMissingData says:
  `breaching` counts them as breaching, `notBreaching` as not breaching; `missing` goes to
  INSUFFICIENT_DATA when no real datapoint is left and otherwise alarms only if every real one
  breaches; `ignore` keeps the current state when no real datapoint is left or the real ones all
  breach, and is OK otherwise. This reproduces the docs' table of examples.
- The reason text and StateReasonData are CloudWatch's ("Threshold Crossed: 1 datapoint [3.0 (22/11/26
  10:00:00)] was greater than or equal to the threshold (1.0).").

Emulated time: the runtime's ScaledClock makes 1 emulated second last `scale` wall seconds, and
moto stamps datapoints with the wall clock, so a Period of P emulated seconds is the last
`P * scale` wall seconds. `wall_window` is that one mapping; everything here goes through it.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from moto.cloudwatch.models import Alarm, MetricAggregatedDatum, MetricDatum

from retrainer_offline.core import clock

LOOKBACK_FACTOR = 2  # periods looked back = LOOKBACK_FACTOR * EvaluationPeriods
MIN_WALL_WINDOW = 0.001  # wall seconds: a period never shrinks below this, even with scale 0

_OPERATORS: dict[str, tuple[str, Callable[[float, float], bool]]] = {
    "GreaterThanOrEqualToThreshold": ("greater than or equal to", lambda v, t: v >= t),
    "GreaterThanThreshold": ("greater than", lambda v, t: v > t),
    "LessThanThreshold": ("less than", lambda v, t: v < t),
    "LessThanOrEqualToThreshold": ("less than or equal to", lambda v, t: v <= t),
}
_MISSING_NAMES = {"breaching": "Breaching", "notBreaching": "NonBreaching"}


def wall_window(emulated_seconds: float) -> timedelta:
    """The wall-clock span that `emulated_seconds` of emulated time covers on the runtime's clock.

    Datapoints carry wall-clock timestamps; an alarm's Period is emulated time. This is the only
    place the two meet: a period of P emulated seconds is the last P * scale wall seconds.
    """
    return timedelta(seconds=max(emulated_seconds * clock.current().scale, MIN_WALL_WINDOW))


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)  # moto stores naive UTC timestamps


def aws_time(moment: datetime) -> str:
    """2019-10-02T17:04:40.989+0000, the timestamp form of alarm events and reason data."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


@dataclass(frozen=True)
class Datapoint:
    """One period's statistic (None when the period had no data)."""

    start: datetime
    value: float | None
    sample_count: float


@dataclass(frozen=True)
class Evaluation:
    """The state an alarm should be in; `state` None means "keep the current state"."""

    state: str | None
    reason: str
    reason_data: dict[str, Any]


_STATISTICS: dict[str, Callable[[float, float, list[float]], float]] = {
    "Sum": lambda total, count, extremes: total,
    "SampleCount": lambda total, count, extremes: count,
    "Average": lambda total, count, extremes: total / count,
    "Maximum": lambda total, count, extremes: max(extremes),
    "Minimum": lambda total, count, extremes: min(extremes),
}


def statistic(alarm: Alarm, data: list[Any]) -> tuple[float | None, float]:
    """The alarm's statistic over one period's datums (raw values and StatisticValues sets), and the sample count.

    Percentiles (ExtendedStatistic pNN, nearest rank) are computed from raw values only.
    """
    values = [float(d.value) for d in data if isinstance(d, MetricDatum)]
    sets = [d for d in data if isinstance(d, MetricAggregatedDatum)]
    count = len(values) + sum(float(s.sample_count) for s in sets)
    if count == 0:
        return None, 0.0
    extended = alarm.extended_statistic
    if extended:
        if not values or not extended.startswith("p"):
            return None, count
        ranked = sorted(values)
        return ranked[max(1, math.ceil(float(extended[1:]) / 100 * len(ranked))) - 1], count
    compute = _STATISTICS.get(alarm.statistic or "")
    if compute is None:
        return None, count
    total = sum(values) + sum(float(s.sum) for s in sets)
    extremes = values + [float(s.max) for s in sets] + [float(s.min) for s in sets]
    return compute(total, count, extremes), count


MetricKey = tuple[str, str, frozenset[tuple[str, str]]]


def metric_key(namespace: str, name: str, dimensions: Iterable[Any]) -> MetricKey:
    """A metric's identity: namespace, name and the full set of dimensions (CloudWatch concepts)."""
    return namespace, name, frozenset((d.name, d.value) for d in dimensions)


def _stamp(datum: Any) -> datetime:
    moment: datetime = datum.timestamp
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


class MetricIndex:
    """moto's metric data of one backend, indexed by metric and sorted by time, updated incrementally."""

    def __init__(self) -> None:
        self._source: list[Any] | None = None
        self._cursor = 0
        self._series: dict[MetricKey, list[Any]] = {}

    def refresh(self, source: list[Any]) -> None:
        if source is not self._source or len(source) < self._cursor:  # a reset backend: start over
            self._source, self._cursor, self._series = source, 0, {}
        new, self._cursor = source[self._cursor :], len(source)
        for datum in new:
            series = self._series.setdefault(metric_key(datum.namespace, datum.name, datum.dimensions), [])
            bisect.insort(series, datum, key=_stamp)

    def between(self, key: MetricKey, after: datetime, until: datetime) -> list[Any]:
        series = self._series.get(key, [])
        return series[bisect.bisect_right(series, after, key=_stamp) : bisect.bisect_right(series, until, key=_stamp)]


def datapoints(alarm: Alarm, data: Iterable[Any], now: datetime) -> list[Datapoint]:
    """The alarm's lookback as period datapoints, newest first (periods end at `now`)."""
    width = wall_window(float(alarm.period))
    periods = LOOKBACK_FACTOR * int(alarm.evaluation_periods)
    earliest = now - width * periods
    wanted = metric_key(alarm.namespace, alarm.metric_name, alarm.dimensions)
    buckets: list[list[Any]] = [[] for _ in range(periods)]
    for datum in data:
        stamp = _stamp(datum)
        if not earliest < stamp <= now or metric_key(datum.namespace, datum.name, datum.dimensions) != wanted:
            continue
        if alarm.unit and datum.unit and datum.unit != alarm.unit:
            continue
        buckets[min(periods - 1, int((now - stamp) / width))].append(datum)
    points = []
    for index, bucket in enumerate(buckets):
        value, count = statistic(alarm, bucket)
        points.append(Datapoint(start=now - width * (index + 1), value=value, sample_count=count))
    return points


def decide(n: int, m: int, treatment: str, real: int, breaching: int) -> tuple[str | None, int]:
    """The state (None: keep the current one) and how many missing datapoints were filled.

    `real` datapoints (at most n) were found in the lookback, `breaching` of them breach. With at
    least M real datapoints the missing ones do not matter; with fewer, TreatMissingData decides
    (module docstring).
    """
    if real >= m:
        return ("ALARM" if breaching >= m else "OK"), 0
    missing = n - real
    if treatment == "breaching":
        return ("ALARM" if breaching + missing >= m else "OK"), missing
    if treatment == "notBreaching":
        return "OK", missing
    if real == 0:
        return (None if treatment == "ignore" else "INSUFFICIENT_DATA"), 0
    if breaching == real:  # every real datapoint breaches, but fewer than M are real
        return (None if treatment == "ignore" else "ALARM"), 0
    return "OK", 0


def evaluate(alarm: Alarm, data: Iterable[Any], now: datetime) -> Evaluation | None:
    """Judge one single-metric alarm as CloudWatch does; None for alarms this module does not evaluate."""
    operator = _OPERATORS.get(alarm.comparison_operator or "")
    if alarm.rule is not None or alarm.metric_data_queries or not alarm.metric_name or operator is None:
        return None
    n = int(alarm.evaluation_periods)
    m = int(alarm.datapoints_to_alarm or n)
    points = datapoints(alarm, data, now)
    real = [p for p in points if p.value is not None][:n]
    breaching = [p for p in real if operator[1](float(p.value or 0.0), float(alarm.threshold))]
    calm = [p for p in real if p not in breaching]
    treatment = alarm.treat_missing_data or "missing"
    state, filled = decide(n, m, treatment, len(real), len(breaching))
    data_reason = _reason_data(alarm, now, real, points[n - 1].start, treatment if len(real) < n else None)
    if state is None:
        return Evaluation(None, "", data_reason)
    if state == "INSUFFICIENT_DATA":
        return Evaluation(
            state, f"Insufficient Data: {n} datapoint{'s were' if n > 1 else ' was'} unknown.", data_reason
        )
    listed = breaching if state == "ALARM" else calm
    return Evaluation(state, _threshold_reason(alarm, state, listed, filled, treatment), data_reason)


def _reason_data(
    alarm: Alarm, now: datetime, real: list[Datapoint], range_start: datetime, treatment: str | None
) -> dict[str, Any]:
    """StateReasonData as CloudWatch writes it for a single-metric alarm."""
    stat_key = "extendedStatistic" if alarm.extended_statistic else "statistic"
    data: dict[str, Any] = {
        "version": "1.0",
        "queryDate": aws_time(now),
        "startDate": aws_time(real[-1].start if real else range_start),
        stat_key: alarm.extended_statistic or alarm.statistic,
        "period": int(alarm.period),
        "recentDatapoints": [float(p.value or 0.0) for p in reversed(real)],
        "threshold": float(alarm.threshold),
        "evaluatedDatapoints": [
            {"timestamp": aws_time(p.start), "sampleCount": float(p.sample_count), "value": float(p.value or 0.0)}
            for p in real
        ],
    }
    if treatment is not None:
        data["treatMissingData"] = treatment
    return data


def _threshold_reason(alarm: Alarm, state: str, listed: list[Datapoint], filled: int, treatment: str) -> str:
    """ "Threshold Crossed: ..." in CloudWatch's words (AWS docs "Alarm events and EventBridge" examples)."""
    n = int(alarm.evaluation_periods)
    m = int(alarm.datapoints_to_alarm or n)
    words = _OPERATORS[alarm.comparison_operator][0]
    threshold = float(alarm.threshold)
    negation = "" if state == "ALARM" else "not "
    treated = (
        f"{filled} missing datapoint{'s were' if filled > 1 else ' was'} treated as [{_MISSING_NAMES.get(treatment)}]."
    )
    if filled and not listed:
        periods = f"{filled} period{'s' if filled > 1 else ''}"
        return f"Threshold Crossed: no datapoints were received for {periods} and {treated}"
    values = ", ".join(f"{float(p.value or 0.0)} ({p.start:%d/%m/%y %H:%M:%S})" for p in reversed(listed))
    if n == 1:
        text = f"1 datapoint [{values}] was {negation}{words} the threshold ({threshold})."
    else:
        minimum = m if state == "ALARM" else n - m + 1
        text = (
            f"{len(listed)} out of the last {n} datapoints [{values}] {'was' if len(listed) == 1 else 'were'} "
            f"{negation}{words} the threshold ({threshold}) (minimum {minimum} datapoint{'s' if minimum > 1 else ''} "
            f"for {alarm.state_value} -> {state} transition)."
        )
    return f"Threshold Crossed: {text}" + (f" {treated}" if filled else "")
