"""A CloudWatch "Alarm State Change" event as a drift alarm puts it on the bus (AWS docs "Alarm events and
EventBridge"), for tests and the demo that start a retraining without waiting for metrics."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def drift_alarm_event(stack_name: str, model: str) -> dict[str, Any]:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"
    alarm = f"{stack_name}-drift-{model}--feature-mean_radius"
    return {
        "source": "aws.cloudwatch",
        "detail-type": "CloudWatch Alarm State Change",
        "resources": [f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{alarm}"],
        "detail": {
            "alarmName": alarm,
            "previousState": {"value": "OK", "reason": "Threshold not crossed", "timestamp": now},
            "state": {
                "value": "ALARM",
                "reason": "Threshold Crossed: 1 datapoint [0.31] was greater than the threshold (0.1).",
                "timestamp": now,
            },
            "configuration": {"description": f"Model Monitor drift of mean_radius on {stack_name}-{model}"},
        },
    }
