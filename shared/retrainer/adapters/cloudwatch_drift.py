"""CloudWatch: the metrics of a monitoring run and the alarms on them, drift (data quality) and model quality
(port: retrainer.ports.DriftAlarms). Names as Model Monitor's (monitoring-contracts.md "CloudWatch")."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from retrainer.ports import DATA_METRICS_NAMESPACE, MODEL_METRICS_NAMESPACE, DriftAlarmSpec

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient

MONITORING_NAMESPACES = frozenset({DATA_METRICS_NAMESPACE, MODEL_METRICS_NAMESPACE})
HOUR = 3600


class CloudWatchDriftAlarms:
    def __init__(self, client: CloudWatchClient) -> None:
        self._client = client

    def put(self, alarms: list[DriftAlarmSpec]) -> None:
        for alarm in alarms:
            self._client.put_metric_alarm(
                AlarmName=alarm.name,
                AlarmDescription=alarm.description[:1024],
                Namespace=alarm.namespace,
                MetricName=alarm.metric_name,
                Dimensions=[
                    {"Name": "Endpoint", "Value": alarm.endpoint_name},
                    {"Name": "MonitoringSchedule", "Value": alarm.schedule_name},
                ],
                Statistic=alarm.statistic,
                Period=HOUR,
                EvaluationPeriods=1,
                DatapointsToAlarm=1,
                Threshold=alarm.threshold,
                ComparisonOperator=alarm.comparison,
                # An hour without traffic (or without labels) publishes nothing: that is neither drift nor a drop.
                TreatMissingData="notBreaching",
            )

    def of_schedule(self, prefix: str, schedule_name: str) -> list[str]:
        names: list[str] = []
        for page in self._client.get_paginator("describe_alarms").paginate(
            AlarmNamePrefix=prefix, AlarmTypes=["MetricAlarm"]
        ):
            for alarm in page.get("MetricAlarms", []):
                dimensions = {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}
                if (
                    alarm.get("Namespace") in MONITORING_NAMESPACES
                    and dimensions.get("MonitoringSchedule") == schedule_name
                ):
                    names.append(alarm["AlarmName"])
        return names

    def delete(self, names: list[str]) -> None:
        for start in range(0, len(names), 100):  # DeleteAlarms takes up to 100 names
            self._client.delete_alarms(AlarmNames=names[start : start + 100])

    def put_metric_data(self, requests: list[dict[str, Any]]) -> int:
        count = 0
        for request in requests:
            data = [{**datum, "Timestamp": _timestamp(datum.get("Timestamp"))} for datum in request["MetricData"]]
            self._client.put_metric_data(Namespace=request["Namespace"], MetricData=data)  # type: ignore[arg-type]
            count += len(data)
        return count


def _timestamp(value: Any) -> datetime:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else datetime.now().astimezone()
