"""Step Functions execution status-change events and the execution timeout, as the offline runtime sends them."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from retrainer_offline.runtime import OfflineRuntime

pytestmark = pytest.mark.e2e

ROLE = "arn:aws:iam::123456789012:role/states"


@pytest.fixture
def watched(runtime: OfflineRuntime) -> Iterator[tuple[Any, str, dict[str, str]]]:
    """A small state machine of its own, and an SQS queue behind a rule on its terminal status changes."""
    sfn, sqs, events = runtime.client("stepfunctions"), runtime.client("sqs"), runtime.client("events")
    definition = {
        "StartAt": "Choose",
        "TimeoutSeconds": 60,
        "States": {
            "Choose": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.hold", "BooleanEquals": True, "Next": "Hold"}],
                "Default": "Done",
            },
            "Hold": {"Type": "Wait", "Seconds": 3600, "Next": "Done"},
            "Done": {"Type": "Pass", "Result": {"answer": 42}, "End": True},
        },
    }
    arn = sfn.create_state_machine(name="status-events", definition=json.dumps(definition), roleArn=ROLE)[
        "stateMachineArn"
    ]
    url = sqs.create_queue(QueueName="status-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = {
        "source": ["aws.states"],
        "detail-type": ["Step Functions Execution Status Change"],
        "detail": {"stateMachineArn": [arn], "status": ["SUCCEEDED", "TIMED_OUT", "ABORTED"]},
    }
    events.put_rule(Name="status-events", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="status-events", Targets=[{"Id": "queue", "Arn": queue_arn}])
    received: dict[str, str] = {"url": url}
    yield sfn, arn, received
    events.remove_targets(Rule="status-events", Ids=["queue"])
    events.delete_rule(Name="status-events")


_received: dict[str, dict[str, Any]] = {}


def _event(runtime: OfflineRuntime, url: str, execution_arn: str, timeout: float = 20) -> dict[str, Any]:
    """The status-change event the rule delivered for `execution_arn` (others are kept for later calls)."""
    sqs = runtime.client("sqs")
    deadline = time.monotonic() + timeout
    while execution_arn not in _received and time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            body: dict[str, Any] = json.loads(message["Body"])
            _received[body["detail"]["executionArn"]] = body
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        time.sleep(0.05)
    if execution_arn not in _received:
        raise TimeoutError(f"no status-change event for {execution_arn}")
    return _received[execution_arn]


def test_executions_send_their_status_changes_in_the_documented_shape(
    runtime: OfflineRuntime, watched: tuple[Any, str, dict[str, str]]
) -> None:
    """Step Functions developer guide, "EventBridge (CloudWatch Events) for Step Functions execution status
    changes" (https://docs.aws.amazon.com/step-functions/latest/dg/cw-events.html): source `aws.states`,
    detail-type "Step Functions Execution Status Change", `resources` = [the execution ARN], and `detail` with
    executionArn, stateMachineArn, name, status, startDate/stopDate in epoch milliseconds, input and output as
    JSON strings (output null unless SUCCEEDED), inputDetails/outputDetails, error and cause."""
    # Given a state machine with a 60-second TimeoutSeconds and a queue behind a rule on its status changes
    sfn, arn, queue = watched
    # When one execution succeeds, one is stopped by hand, and one runs past the machine's TimeoutSeconds
    done = sfn.start_execution(stateMachineArn=arn, name="done", input='{"hold": false}')["executionArn"]
    stopped = sfn.start_execution(stateMachineArn=arn, name="stopped", input='{"hold": true}')["executionArn"]
    sfn.stop_execution(executionArn=stopped, error="Operator", cause="stopped by hand")
    held = sfn.start_execution(stateMachineArn=arn, name="held", input='{"hold": true}')["executionArn"]
    # Then each sends its status change to the default bus, where a rule on the status picks it up
    succeeded = _event(runtime, queue["url"], done)
    assert succeeded["source"] == "aws.states"
    assert succeeded["detail-type"] == "Step Functions Execution Status Change"
    assert succeeded["resources"] == [done]
    detail = succeeded["detail"]
    assert detail["stateMachineArn"] == arn and detail["name"] == "done" and detail["status"] == "SUCCEEDED"
    assert json.loads(detail["input"]) == {"hold": False} and json.loads(detail["output"]) == {"answer": 42}
    assert detail["inputDetails"] == {"included": True} and detail["outputDetails"] == {"included": True}
    assert isinstance(detail["startDate"], int) and detail["stopDate"] >= detail["startDate"] > 10**12
    aborted = _event(runtime, queue["url"], stopped)["detail"]
    assert aborted["status"] == "ABORTED" and aborted["output"] is None and aborted["outputDetails"] is None
    # And the 60-second TimeoutSeconds counts on the scaled clock: the held execution times out, not waits an hour
    timed_out = _event(runtime, queue["url"], held)["detail"]
    assert timed_out["status"] == "TIMED_OUT" and timed_out["output"] is None
    assert sfn.describe_execution(executionArn=held)["status"] == "TIMED_OUT"
    history = sfn.get_execution_history(executionArn=held)["events"]
    assert max(history, key=lambda event: event["id"])["type"] == "ExecutionTimedOut"
