"""EventBridge Scheduler: the monitoring schedules (port: retrainer.ports.MonitoringSchedules).

A schedule's target is the monitoring state machine (Step Functions StartExecution, the templated target
`arn:aws:states:::...` is the state machine's ARN itself) with the schedule's Input as the execution input;
Scheduler replaces `<aws.scheduler.scheduled-time>` in it with the invocation's time.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from retrainer.adapters.client_errors import error_code
from retrainer.ports import ScheduleSpec


class SchedulerMonitoringSchedules:
    def __init__(self, client: Any, group: str, role_arn: str) -> None:
        self._client = client  # boto3 "scheduler" (no mypy-boto3 stubs installed)
        self._group = group
        self._role = role_arn

    def put(self, schedule: ScheduleSpec) -> None:
        request = {
            "Name": schedule.name,
            "GroupName": self._group,
            "ScheduleExpression": schedule.expression,
            "ScheduleExpressionTimezone": "UTC",
            "Description": schedule.description[:512],
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "State": "ENABLED",
            "Target": {
                "Arn": schedule.state_machine_arn,
                "RoleArn": self._role,
                "Input": schedule.payload,
                "RetryPolicy": {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 5},
            },
        }
        try:
            self._client.create_schedule(**request)
        except ClientError as exc:
            if error_code(exc) != "ConflictException":
                raise
            self._client.update_schedule(**request)

    def delete(self, name: str) -> bool:
        try:
            self._client.delete_schedule(Name=name, GroupName=self._group)
        except ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return False
            raise
        return True
