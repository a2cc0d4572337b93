"""CloudWatch metric alarms that evaluate, on the metric data moto stores (moto never evaluates an alarm).

What CloudWatch does and this module reproduces, beyond evaluating (alarm_evaluation.py):

- A new alarm starts in INSUFFICIENT_DATA; PutMetricAlarm on an existing alarm keeps its state
  (API reference PutMetricAlarm). moto starts alarms in OK and resets the state on update.
- Each state change (evaluated, or forced by SetAlarmState) sets StateValue, StateReason in
  CloudWatch's text ("Threshold Crossed: 1 datapoint [3.0 (22/11/26 10:00:00)] was greater than or
  equal to the threshold (1.0)."), StateReasonData JSON and StateUpdatedTimestamp, records a
  StateUpdate history item, and puts a "CloudWatch Alarm State Change" event on the default bus
  through moto's events backend, so rules match as usual (sagemaker-contracts.md §8; AWS docs
  "Alarm events and EventBridge", cloudwatch-and-eventbridge.html).
- DescribeAlarmHistory (absent from moto) answers from that history, newest first (API reference
  DescribeAlarmHistory / AlarmHistoryItem; the aws-cli example describe-alarm-history.rst shows
  HistoryData `{"version":"1.0","oldState":{...},"newState":{...}}`).
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

from moto.cloudwatch import responses as cw_responses
from moto.cloudwatch.models import Alarm, CloudWatchBackend, cloudwatch_backends
from moto.core.responses import ActionResult
from moto.events.models import events_backends

from retrainer_offline.cloudwatch.alarm_evaluation import (
    LOOKBACK_FACTOR,
    MetricIndex,
    aws_time,
    evaluate,
    metric_key,
    utcnow,
    wall_window,
)
from retrainer_offline.cloudwatch.alarm_history import AlarmHistory, history_state
from retrainer_offline.core import clock

logger = logging.getLogger(__name__)

EVALUATION_TICK_SECONDS = 10.0  # emulated seconds between two evaluations of every alarm
INITIAL_REASON = "Unchecked: Initial alarm creation"


class AlarmEvaluator:
    """Evaluates every metric alarm on a tick of the scaled clock; records history; emits events."""

    def __init__(self, tick_seconds: float = EVALUATION_TICK_SECONDS) -> None:
        self.tick_seconds = tick_seconds
        self._lock = threading.RLock()
        self._history = AlarmHistory()
        self._metric_ids: dict[str, str] = {}
        self._indexes: dict[tuple[str, str], MetricIndex] = {}
        self._stop = threading.Event()
        self._update_state = Alarm.update_state
        self._put_metric_alarm = CloudWatchBackend.put_metric_alarm
        self._had_history_action = hasattr(cw_responses.CloudWatchResponse, "describe_alarm_history")
        evaluator = self

        def update_state(alarm: Alarm, reason: str, reason_data: str, state_value: str) -> None:
            evaluator._change(alarm, reason, reason_data, state_value)

        def put_metric_alarm(backend: CloudWatchBackend, name: str, *args: Any, **kwargs: Any) -> Alarm:
            return evaluator._put_alarm(backend, name, *args, **kwargs)

        def describe_alarm_history(response: Any) -> ActionResult:
            return ActionResult(evaluator.describe_alarm_history(response))

        Alarm.update_state = update_state
        CloudWatchBackend.put_metric_alarm = put_metric_alarm
        cw_responses.CloudWatchResponse.describe_alarm_history = describe_alarm_history
        self._thread = threading.Thread(target=self._loop, daemon=True, name="cloudwatch-alarms")
        self._thread.start()

    # ------------------------------------------------------------------ evaluation
    def _loop(self) -> None:
        while not self._stop.is_set():
            clock.current().wait_event(self._stop, self.tick_seconds)
            if self._stop.is_set():
                return
            try:
                self.evaluate_now()
            except Exception:  # a moto backend reset mid-tick must not kill the evaluator
                logger.exception("alarm evaluation failed; retrying on the next tick")

    def evaluate_now(self) -> list[str]:
        """Evaluate every metric alarm of every cloudwatch backend now; return the names that changed state."""
        changed: list[str] = []
        with self._lock:
            now = utcnow()
            for account in list(cloudwatch_backends.keys()):
                regions = cloudwatch_backends[account]
                for region in list(dict.keys(regions)):
                    backend = dict.__getitem__(regions, region)
                    alarms = list(backend.alarms.values())
                    if not alarms:
                        continue
                    index = self._indexes.setdefault((account, region), MetricIndex())
                    index.refresh(backend.metric_data)
                    for alarm in alarms:
                        if not alarm.metric_name or alarm.period is None:
                            continue
                        after = now - wall_window(float(alarm.period)) * LOOKBACK_FACTOR * int(alarm.evaluation_periods)
                        key = metric_key(alarm.namespace, alarm.metric_name, alarm.dimensions)
                        result = evaluate(alarm, index.between(key, after, now), now)
                        if result is None or result.state is None or result.state == alarm.state_value:
                            continue
                        alarm.update_state(result.reason, json.dumps(result.reason_data), result.state)
                        changed.append(alarm.name)
        return changed

    # ------------------------------------------------------------------ state changes
    def _change(self, alarm: Alarm, reason: str, reason_data: str, state_value: str) -> None:
        with self._lock:
            previous = {
                "value": alarm.state_value,
                "reason": alarm.state_reason,
                "reasonData": alarm.state_reason_data,
                "timestamp": alarm.state_updated_timestamp,
            }
            self._update_state(alarm, reason, reason_data, state_value)
            account, region = _account_region(alarm)
            history_data = {
                "version": "1.0",
                "oldState": history_state(previous),
                "newState": history_state({"value": state_value, "reason": reason, "reasonData": reason_data}),
            }
            self._history.record(
                account,
                region,
                {
                    "AlarmName": alarm.name,
                    "AlarmType": "MetricAlarm" if alarm.rule is None else "CompositeAlarm",
                    "Timestamp": alarm.state_updated_timestamp.replace(tzinfo=UTC),
                    "HistoryItemType": "StateUpdate",
                    "HistorySummary": f"Alarm updated from {previous['value']} to {state_value}",
                    "HistoryData": json.dumps(history_data),
                },
            )
            self._emit(alarm, account, region, previous)

    def _emit(self, alarm: Alarm, account: str, region: str, previous: dict[str, Any]) -> None:
        detail = {
            "alarmName": alarm.name,
            "state": _event_state(
                {
                    "value": alarm.state_value,
                    "reason": alarm.state_reason,
                    "reasonData": alarm.state_reason_data,
                    "timestamp": alarm.state_updated_timestamp,
                }
            ),
            "previousState": _event_state(previous),
            "configuration": self._configuration(alarm),
        }
        entry = {
            "Source": "aws.cloudwatch",
            "DetailType": "CloudWatch Alarm State Change",
            "Detail": json.dumps(detail),
            "Resources": [alarm.alarm_arn],
        }
        events_backends[account][region].put_events([entry])

    def _configuration(self, alarm: Alarm) -> dict[str, Any]:
        configuration: dict[str, Any] = {"description": alarm.description or ""}
        if alarm.metric_name:
            metric_id = self._metric_ids.setdefault(alarm.alarm_arn, str(uuid.uuid4()))
            stat = alarm.extended_statistic or alarm.statistic
            configuration["metrics"] = [
                {
                    "id": metric_id,
                    "metricStat": {
                        "metric": {
                            "dimensions": {d.name: d.value for d in alarm.dimensions},
                            "name": alarm.metric_name,
                            "namespace": alarm.namespace,
                        },
                        "period": int(alarm.period),
                        "stat": stat,
                    },
                    "returnData": True,
                }
            ]
        return configuration

    def _put_alarm(self, backend: CloudWatchBackend, name: str, *args: Any, **kwargs: Any) -> Alarm:
        with self._lock:
            before = backend.alarms.get(name)
            alarm: Alarm = self._put_metric_alarm(backend, name, *args, **kwargs)
            if before is not None:  # an update keeps the alarm's state and history
                alarm.state_value = before.state_value
                alarm.state_reason = before.state_reason
                alarm.state_reason_data = before.state_reason_data
                alarm.state_updated_timestamp = before.state_updated_timestamp
                alarm.history = before.history
                summary = f'Alarm "{name}" updated'
            else:
                alarm.state_value = "INSUFFICIENT_DATA"
                alarm.state_reason = INITIAL_REASON
                alarm.state_reason_data = "{}"
                alarm.state_updated_timestamp = utcnow()
                summary = f'Alarm "{name}" created'
            self._history.record(
                backend.account_id,
                backend.region_name,
                {
                    "AlarmName": name,
                    "AlarmType": "MetricAlarm" if alarm.rule is None else "CompositeAlarm",
                    "Timestamp": datetime.now(UTC),
                    "HistoryItemType": "ConfigurationUpdate",
                    "HistorySummary": summary,
                    "HistoryData": json.dumps(
                        {
                            "version": "1.0",
                            "type": "Update" if before is not None else "Create",
                            "configuration": self._configuration(alarm),
                        }
                    ),
                },
            )
            return alarm

    # ------------------------------------------------------------------ DescribeAlarmHistory
    def describe_alarm_history(self, response: Any) -> dict[str, Any]:
        return self._history.describe(response)

    def history(self, alarm_name: str) -> list[dict[str, Any]]:
        """The alarm's history items, oldest first (for tests and reports)."""
        return self._history.of(alarm_name)

    def uninstall(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        Alarm.update_state = self._update_state
        CloudWatchBackend.put_metric_alarm = self._put_metric_alarm
        if not self._had_history_action:
            delattr(cw_responses.CloudWatchResponse, "describe_alarm_history")


def _account_region(alarm: Alarm) -> tuple[str, str]:
    # arn:aws:cloudwatch:<region>:<account>:alarm:<name>
    parts = alarm.alarm_arn.split(":")
    return parts[4], parts[3]


def _event_state(state: dict[str, Any]) -> dict[str, Any]:
    shaped: dict[str, Any] = {"value": state["value"], "reason": state["reason"]}
    if state.get("reasonData") and state["reasonData"] != "{}":
        shaped["reasonData"] = state["reasonData"]
    shaped["timestamp"] = aws_time(state["timestamp"])
    return shaped


def install(tick_seconds: float = EVALUATION_TICK_SECONDS) -> AlarmEvaluator:
    return AlarmEvaluator(tick_seconds)
