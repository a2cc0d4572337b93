"""EventBridge Scheduler as the offline runtime imitates it (retrainer_offline/eventbridge/scheduler.py).

Pinned against the EventBridge Scheduler User Guide: "Schedule types on EventBridge Scheduler" (rate
`rate(value unit)`, cron `cron(minutes hours day-of-month month day-of-week year)` with one of the day
fields `?`, one-time `at(yyyy-mm-ddThh:mm:ss)`) and "Adding context attributes" (`<aws.scheduler.scheduled-time>`,
`<aws.scheduler.schedule-arn>`, ... in the target's Input); the templated target StartExecution.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from retrainer_offline.eventbridge.scheduler import next_invocation
from retrainer_offline.runtime import OfflineRuntime

NOON = datetime(2026, 12, 1, 12, 0, 30, tzinfo=UTC)


def _executions(sfn: Any, machine: str) -> list[dict[str, Any]]:
    for _ in range(50):
        try:
            return list(sfn.list_executions(stateMachineArn=machine)["executions"])
        except Exception:  # moto lists an execution being created before it has a status: look again
            time.sleep(0.02)
    raise RuntimeError("list_executions kept failing")


@pytest.mark.parametrize(
    "expression, expected",
    [
        ("rate(5 minutes)", datetime(2026, 12, 1, 12, 5, 30, tzinfo=UTC)),
        ("rate(1 hour)", datetime(2026, 12, 1, 13, 0, 30, tzinfo=UTC)),
        ("rate(1 day)", datetime(2026, 12, 2, 12, 0, 30, tzinfo=UTC)),
        ("cron(0 * ? * * *)", datetime(2026, 12, 1, 13, 0, tzinfo=UTC)),  # hourly, on the hour
        ("cron(15 10 ? * FRI 2026)", datetime(2026, 12, 4, 10, 15, tzinfo=UTC)),  # Fridays at 10:15
        ("cron(0/15 * * * ? *)", datetime(2026, 12, 1, 12, 15, tzinfo=UTC)),  # every 15 minutes
        ("cron(0 9 1 * ? *)", datetime(2027, 1, 1, 9, 0, tzinfo=UTC)),  # 09:00 on the first of each month
        ("at(2026-12-01T12:30:00)", datetime(2026, 12, 1, 12, 30, tzinfo=UTC)),
        ("at(2026-12-01T11:00:00)", None),  # a one-time schedule in the past never fires
    ],
)
def test_expressions_fire_when_the_user_guide_says(expression: str, expected: datetime | None) -> None:
    assert next_invocation(expression, NOON) == expected


def test_cron_needs_six_fields_and_one_question_mark() -> None:
    with pytest.raises(ValueError, match="6 fields"):
        next_invocation("cron(0 * * * *)", NOON)
    with pytest.raises(ValueError, match="exactly one"):
        next_invocation("cron(0 * * * * *)", NOON)


def _echo_machine(sfn: Any) -> str:
    """A state machine that succeeds at once: the schedule's target."""
    return str(
        sfn.create_state_machine(
            name="echo",
            definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
            roleArn="arn:aws:iam::123456789012:role/states",
        )["stateMachineArn"]
    )


@pytest.mark.e2e
def test_a_rate_schedule_starts_its_state_machine_with_the_context_attributes_filled_in() -> None:
    # Given a state machine and a schedule targeting it every 10 minutes (0.6 s of wall time at 1/1000)
    with OfflineRuntime(schedules=True) as runtime:
        sfn, scheduler = runtime.client("stepfunctions"), runtime.client("scheduler")
        machine = _echo_machine(sfn)
        scheduler.create_schedule(
            Name="every-ten",
            ScheduleExpression="rate(10 minutes)",
            FlexibleTimeWindow={"Mode": "OFF"},
            Target={
                "Arn": machine,
                "RoleArn": "arn:aws:iam::123456789012:role/scheduler",
                "Input": '{"at": "<aws.scheduler.scheduled-time>", "by": "<aws.scheduler.schedule-arn>"}',
            },
        )
        # When emulated time passes
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(_executions(sfn, machine)) < 2:
            time.sleep(0.05)
        # Then the schedule started executions, each with Scheduler's attributes in its input
        executions = sorted(_executions(sfn, machine), key=lambda e: e["startDate"])
        assert len(executions) >= 2
        first = json.loads(sfn.describe_execution(executionArn=executions[0]["executionArn"])["input"])
        assert first["by"] == "arn:aws:scheduler:us-east-1:123456789012:schedule/default/every-ten"
        assert datetime.strptime(first["at"], "%Y-%m-%dT%H:%M:%SZ")
        # And a disabled schedule starts nothing more
        scheduler.update_schedule(
            Name="every-ten",
            ScheduleExpression="rate(10 minutes)",
            FlexibleTimeWindow={"Mode": "OFF"},
            State="DISABLED",
            Target={"Arn": machine, "RoleArn": "arn:aws:iam::123456789012:role/scheduler"},
        )
        time.sleep(0.5)
        settled = len(_executions(sfn, machine))
        time.sleep(2.0)
        assert len(_executions(sfn, machine)) == settled


@pytest.mark.e2e
def test_a_schedule_fired_by_hand_says_the_scheduled_time_it_was_given() -> None:
    # Given a schedule whose target Input carries <aws.scheduler.scheduled-time> (its cron invocations are whole minutes)
    with OfflineRuntime() as runtime:
        sfn, scheduler = runtime.client("stepfunctions"), runtime.client("scheduler")
        machine = _echo_machine(sfn)
        scheduler.create_schedule(
            Name="hourly",
            ScheduleExpression="cron(0 * ? * * *)",
            FlexibleTimeWindow={"Mode": "OFF"},
            Target={
                "Arn": machine,
                "RoleArn": "arn:aws:iam::123456789012:role/scheduler",
                "Input": '{"at": "<aws.scheduler.scheduled-time>"}',
            },
        )
        assert runtime.scheduler is not None
        # When it is fired now as the invocation of the next whole minute
        fired = runtime.scheduler.fire("hourly", scheduled_time=datetime(2026, 12, 1, 11, 0, tzinfo=UTC))
        # Then the execution's input has that time, in Scheduler's format
        started = json.loads(sfn.describe_execution(executionArn=fired["execution_arn"])["input"])
        assert started == {"at": "2026-12-01T11:00:00Z"}
