"""CloudWatch alarms on an endpoint variant's metrics (port: retrainer.ports.VariantAlarms)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from retrainer.ports import AlarmEvent, AlarmSpec

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient

SAGEMAKER_NAMESPACE = "AWS/SageMaker"


class CloudWatchVariantAlarms:
    def __init__(self, client: CloudWatchClient) -> None:
        self._client = client

    def put(self, alarms: list[AlarmSpec]) -> None:
        for alarm in alarms:
            self._client.put_metric_alarm(
                AlarmName=alarm.name,
                AlarmDescription=alarm.description[:1024],
                Namespace=SAGEMAKER_NAMESPACE,
                MetricName=alarm.metric_name,
                Dimensions=[{"Name": name, "Value": value} for name, value in alarm.dimensions.items()],
                Statistic=alarm.statistic,  # type: ignore[arg-type]
                Period=alarm.period_seconds,
                EvaluationPeriods=alarm.periods,
                DatapointsToAlarm=alarm.periods,
                Threshold=alarm.threshold,
                ComparisonOperator=alarm.comparison,  # type: ignore[arg-type]
                # No traffic on the challenger is not a reason to roll back.
                TreatMissingData="notBreaching",
            )

    def in_alarm(self, names: list[str], since: str) -> list[AlarmEvent]:
        if not names:
            return []
        found: dict[str, AlarmEvent] = {}
        for alarm in self._client.describe_alarms(AlarmNames=names).get("MetricAlarms", []):
            if alarm.get("StateValue") == "ALARM":
                found[alarm["AlarmName"]] = AlarmEvent(
                    name=alarm["AlarmName"],
                    state="ALARM",
                    when=_iso(alarm.get("StateUpdatedTimestamp")),
                    reason=str(alarm.get("StateReason", "")),
                )
        start = datetime.fromisoformat(since.replace("Z", "+00:00"))
        # An alarm that fired and recovered between two checks still counts: read its history.
        for name in names:
            if name in found:
                continue
            history = self._client.describe_alarm_history(
                AlarmName=name, HistoryItemType="StateUpdate", StartDate=start, ScanBy="TimestampDescending"
            )
            for item in history.get("AlarmHistoryItems", []):
                data = _json(item.get("HistoryData", ""))
                if data.get("newState", {}).get("stateValue") == "ALARM":
                    found[name] = AlarmEvent(
                        name=name,
                        state="ALARM (recovered since)",
                        when=_iso(item.get("Timestamp")),
                        reason=str(data.get("newState", {}).get("stateReason", item.get("HistorySummary", ""))),
                    )
                    break
        return [found[name] for name in names if name in found]

    def delete(self, names: list[str]) -> None:
        if names:
            self._client.delete_alarms(AlarmNames=names)


def _iso(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value or "")


def _json(text: str) -> dict[str, Any]:
    try:
        parsed = json.loads(text)
    except (TypeError, ValueError):
        return {}
    return parsed if isinstance(parsed, dict) else {}
