"""CloudWatch alarm history: DescribeAlarmHistory, which moto lacks, answered from the history kept here.

Each state change records a StateUpdate item whose HistoryData is
`{"version":"1.0","oldState":{...},"newState":{...}}`, each PutMetricAlarm a ConfigurationUpdate item
(API reference DescribeAlarmHistory / AlarmHistoryItem; the aws-cli example describe-alarm-history.rst).
Answers are newest first unless ScanBy says otherwise.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass
class HistoryItem:
    account: str
    region: str
    item: dict[str, Any]


class AlarmHistory:
    """Every alarm's history items, in the order they happened, for every account and region."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[HistoryItem] = []

    def record(self, account: str, region: str, item: dict[str, Any]) -> None:
        with self._lock:
            self._items.append(HistoryItem(account, region, item))

    def describe(self, response: Any) -> dict[str, Any]:
        """DescribeAlarmHistory: AlarmName, AlarmTypes (default MetricAlarm), HistoryItemType, StartDate,
        EndDate, ScanBy (default TimestampDescending), MaxRecords (default 100) and NextToken."""
        name = response._get_param("AlarmName")
        types = response._get_param("AlarmTypes") or ["MetricAlarm"]
        kind = response._get_param("HistoryItemType")
        start = _aware(response._get_param("StartDate"))
        end = _aware(response._get_param("EndDate"))
        ascending = response._get_param("ScanBy") == "TimestampAscending"
        limit = int(response._get_param("MaxRecords") or 100)
        offset = int(response._get_param("NextToken") or 0)
        with self._lock:
            items = [
                h.item
                for h in self._items
                if h.account == response.current_account
                and h.region == response.region
                and (name is None or h.item["AlarmName"] == name)
                and h.item["AlarmType"] in types
                and (kind is None or h.item["HistoryItemType"] == kind)
                and (start is None or h.item["Timestamp"] >= start)
                and (end is None or h.item["Timestamp"] <= end)
            ]
        items.sort(key=lambda i: i["Timestamp"], reverse=not ascending)
        page = items[offset : offset + limit]
        result: dict[str, Any] = {"AlarmHistoryItems": [dict(i) for i in page]}
        if offset + limit < len(items):
            result["NextToken"] = str(offset + limit)
        return result

    def of(self, alarm_name: str) -> list[dict[str, Any]]:
        """The alarm's history items, oldest first (for tests and reports)."""
        with self._lock:
            return [dict(h.item) for h in self._items if h.item["AlarmName"] == alarm_name]


def _aware(moment: Any) -> datetime | None:
    if moment is None:
        return None
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    if isinstance(moment, int | float):
        moment = datetime.fromtimestamp(float(moment), UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def history_state(state: dict[str, Any]) -> dict[str, Any]:
    """An alarm state as HistoryData writes it (oldState, newState)."""
    shaped: dict[str, Any] = {"stateValue": state["value"], "stateReason": state["reason"]}
    reason_data = state.get("reasonData")
    if reason_data and reason_data != "{}":
        shaped["stateReasonData"] = json.loads(reason_data)
    return shaped
