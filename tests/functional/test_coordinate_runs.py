"""coordinate_runs: debounce claims a model's pending triggers; release hands the model to one follow-up."""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from functions.coordinate_runs import app as coordinate
from functions.start_retraining import app as start
from retrainer.errors import InvalidModelConfig
from tests.aws_stack import Stack
from tests.samples import ENVIRONMENT, FakeContext, load_event
from tests.sns_messages import published

UPLOAD = load_event("s3_object_created.json")
CLAIM = load_event("coordinate_runs_claim.json")
RELEASE = load_event("coordinate_runs_release.json")


def upload_event(key: str, sequencer: str) -> dict[str, Any]:
    event = copy.deepcopy(UPLOAD)
    event["id"] = f"event-{sequencer}"
    event["detail"]["object"].update({"key": key, "version-id": sequencer, "sequencer": sequencer})
    return event


def seen_at_start(stack: Stack) -> int:
    """The debounce sequence the run started with (its execution input's claim.seen_seq)."""
    [execution] = stack.executions()
    return int(json.loads(execution["input"])["claim"]["seen_seq"])


def _pending(stack: Stack) -> list[dict[str, Any]]:
    return [i for i in stack.ledger() if i["sk"]["S"].startswith("trigger#") and i["status"]["S"] == "pending"]


def test_triggers_arriving_during_the_quiet_window_are_claimed_by_the_same_run(
    stack: Stack, context: FakeContext
) -> None:
    # Given a run started by the first upload, and two more uploads during its quiet window
    for n in range(3):
        stack.upload(f"incoming/churn/part-{n}.csv")
    first = start.lambda_handler(upload_event("incoming/churn/part-0.csv", "0A"), context)
    others = [start.lambda_handler(upload_event(f"incoming/churn/part-{n}.csv", f"0B{n}"), context) for n in (1, 2)]
    assert [o["status"] for o in others] == ["pending", "pending"]
    seen = json.loads(stack.executions()[0]["input"])["claim"]["seen_seq"]
    # When the run looks after its first wait, new triggers arrived: it waits again
    again = coordinate.lambda_handler({**CLAIM, "run_id": first["run_id"], "seen_seq": seen}, context)
    assert again["settled"] is False and again["round"] == 1
    # When nothing arrived during the next wait, it claims all three triggers and goes on
    settled = coordinate.lambda_handler(
        {**CLAIM, "run_id": first["run_id"], "seen_seq": again["seen_seq"], "round": 1}, context
    )
    assert settled["settled"] is True and len(settled["triggers"]) == 3
    assert _pending(stack) == []
    # And each consumed trigger is traceable to the event and object that caused it
    traced = {t["source"]: t for t in settled["triggers"]}
    assert set(traced) == {f"s3://{stack.data_bucket}/incoming/churn/part-{n}.csv" for n in range(3)}
    part_1 = traced[f"s3://{stack.data_bucket}/incoming/churn/part-1.csv"]
    assert part_1["kind"] == "s3_upload" and part_1["event_id"] == "event-0B1" and part_1["received_at"] > 0
    assert first["run_id"].endswith(traced[f"s3://{stack.data_bucket}/incoming/churn/part-0.csv"]["trigger_id"])
    consumed_by = {i["consumed_by"]["S"] for i in stack.ledger() if i["sk"]["S"].startswith("trigger#")}
    assert consumed_by == {first["run_id"]}
    assert len(stack.executions()) == 1


def test_release_starts_exactly_one_follow_up_for_triggers_that_arrived_during_the_run(
    stack: Stack, context: FakeContext
) -> None:
    # Given a run that claimed its trigger, and three uploads that arrived while it trained
    for n in range(4):
        stack.upload(f"incoming/churn/part-{n}.csv")
    first = start.lambda_handler(upload_event("incoming/churn/part-0.csv", "0A"), context)
    coordinate.lambda_handler({**CLAIM, "run_id": first["run_id"], "seen_seq": seen_at_start(stack)}, context)
    for n in (1, 2, 3):
        start.lambda_handler(upload_event(f"incoming/churn/part-{n}.csv", f"0B{n}"), context)
    # When the run ends (whatever its outcome) and releases the model, twice (a retried Lambda)
    released = coordinate.lambda_handler({**RELEASE, "run_id": first["run_id"], "outcome": "failed"}, context)
    again = coordinate.lambda_handler({**RELEASE, "run_id": first["run_id"], "outcome": "failed"}, context)
    # Then one follow-up execution exists, and it holds the model's lock
    assert released["follow_up"] is not None and again["follow_up"] == released["follow_up"]
    executions = stack.executions()
    assert len(executions) == 2
    follow_up = json.loads(next(e for e in executions if e["name"] != first["run_id"])["input"])
    assert "follow-up of" in follow_up["trigger"]["detail"] and "3 pending" in follow_up["trigger"]["detail"]
    state = next(i for i in stack.ledger() if i["sk"]["S"] == "state")
    assert state["run_id"]["S"] == follow_up["run_id"]


def test_release_without_pending_triggers_frees_the_model(stack: Stack, context: FakeContext) -> None:
    stack.upload("incoming/churn/part-0.csv")
    first = start.lambda_handler(upload_event("incoming/churn/part-0.csv", "0A"), context)
    coordinate.lambda_handler({**CLAIM, "run_id": first["run_id"], "seen_seq": seen_at_start(stack)}, context)
    assert coordinate.lambda_handler({**RELEASE, "run_id": first["run_id"]}, context) == {
        "released": True,
        "follow_up": None,
    }
    assert not [i for i in stack.ledger() if i["sk"]["S"] == "state" and "run_id" in i]
    # And the next upload starts a run at once
    assert start.lambda_handler(upload_event("incoming/churn/part-0.csv", "0C"), context)["status"] == "started"


def atomic_conditional_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB evaluates a write's condition and applies it atomically; moto's backend checks, then writes,
    so under threads two writers can both pass. One lock per write restores DynamoDB's guarantee."""
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.Lock()
    for name in ("put_item", "update_item", "delete_item"):
        original = getattr(DynamoDBBackend, name)

        def atomic(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with lock:
                return _original(self, *args, **kwargs)

        monkeypatch.setattr(DynamoDBBackend, name, atomic)


def test_fifty_concurrent_triggers_give_one_run_and_one_pending_set(
    stack: Stack, context: FakeContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    atomic_conditional_writes(monkeypatch)
    for n in range(50):
        stack.upload(f"incoming/churn/part-{n}.csv")
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(
            pool.map(
                lambda n: start.lambda_handler(upload_event(f"incoming/churn/part-{n}.csv", f"{n:04X}"), context),
                range(50),
            )
        )
    statuses = [r["status"] for r in results]
    assert statuses.count("started") == 1 and statuses.count("pending") == 49
    assert len(stack.executions()) == 1


ENDED = load_event("step_functions_execution_timed_out.json")


def ended_event(stack: Stack, run_id: str, status: str) -> dict[str, Any]:
    """The "Step Functions Execution Status Change" event of this stack's run `run_id`."""
    event = copy.deepcopy(ENDED)
    arn = stack.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{run_id}"
    event["resources"] = [arn]
    event["detail"].update({"executionArn": arn, "stateMachineArn": stack.state_machine_arn, "name": run_id})
    event["detail"]["status"] = status
    return event


def subscribe(stack: Stack) -> Callable[[], list[dict[str, Any]]]:
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="coordination-notices")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    boto3.client("sns").subscribe(TopicArn=ENVIRONMENT["NOTIFICATION_TOPIC_ARN"], Protocol="sqs", Endpoint=arn)

    def received() -> list[dict[str, Any]]:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return [json.loads(m["Body"]) for m in messages]

    return received


def test_a_run_that_timed_out_frees_the_model_notifies_and_hands_over_once(stack: Stack, context: FakeContext) -> None:
    # Given a run that claimed its trigger, and an upload that arrived while it ran
    received = subscribe(stack)
    for n in range(2):
        stack.upload(f"incoming/churn/part-{n}.csv")
    first = start.lambda_handler(upload_event("incoming/churn/part-0.csv", "0A"), context)
    coordinate.lambda_handler({**CLAIM, "run_id": first["run_id"], "seen_seq": seen_at_start(stack)}, context)
    assert start.lambda_handler(upload_event("incoming/churn/part-1.csv", "0B"), context)["status"] == "pending"
    # When the run times out (no Catch runs, so its release step never does) and EventBridge says so, twice
    ended = coordinate.lambda_handler(ended_event(stack, first["run_id"], "TIMED_OUT"), context)
    again = coordinate.lambda_handler(ended_event(stack, first["run_id"], "TIMED_OUT"), context)
    # Then the model was freed and exactly one follow-up run holds it, for the trigger that waited
    assert ended["released"] is True and ended["follow_up"] is not None
    assert again["released"] is False and again["follow_up"] == ended["follow_up"]
    executions = stack.executions()
    assert len(executions) == 2
    follow_up = json.loads(next(e for e in executions if e["name"] != first["run_id"])["input"])
    assert "TIMED_OUT" in follow_up["trigger"]["detail"] and len(follow_up["trigger"]["trigger_ids"]) == 1
    state = next(i for i in stack.ledger() if i["sk"]["S"] == "state")
    assert state["run_id"]["S"] == follow_up["run_id"]
    # And one notice says what happened to which run
    [notice] = received()
    assert notice["MessageAttributes"]["outcome"]["Value"] == "timed out"
    message = json.loads(notice["Message"])
    assert message["run_id"] == first["run_id"] and message["status"] == "TIMED_OUT"
    assert "timed out" in message["what_happened"] and first["run_id"] in notice["Subject"]


def test_a_failed_run_that_released_itself_or_another_machine_changes_nothing(
    stack: Stack, context: FakeContext
) -> None:
    # Given a run that failed and released the model through its own release step
    received = subscribe(stack)
    stack.upload("incoming/churn/part-0.csv")
    first = start.lambda_handler(upload_event("incoming/churn/part-0.csv", "0A"), context)
    coordinate.lambda_handler({**CLAIM, "run_id": first["run_id"], "seen_seq": seen_at_start(stack)}, context)
    coordinate.lambda_handler({**RELEASE, "run_id": first["run_id"], "outcome": "failed"}, context)
    # When its FAILED status change arrives, and one of another state machine
    failed = coordinate.lambda_handler(ended_event(stack, first["run_id"], "FAILED"), context)
    foreign = ended_event(stack, first["run_id"], "ABORTED")
    foreign["detail"]["stateMachineArn"] += "-other"
    other = coordinate.lambda_handler(foreign, context)
    # Then nothing is released, notified or started
    assert failed == {"released": False, "follow_up": None, "status": "FAILED", "state": None}
    assert other["ignored"] is True
    assert received() == [] and len(stack.executions()) == 1


def test_a_config_broken_while_a_run_was_in_progress_is_notified_once(stack: Stack, context: FakeContext) -> None:
    # Given a run of churn in progress and a second upload waiting behind it
    first = start.lambda_handler(upload_event("incoming/churn/part-0.csv", "0A"), context)
    coordinate.lambda_handler({**CLAIM, "run_id": first["run_id"], "seen_seq": seen_at_start(stack)}, context)
    assert start.lambda_handler(upload_event("incoming/churn/part-1.csv", "0B"), context)["status"] == "pending"
    # And churn's configuration document is broken meanwhile
    stack.s3.put_object(Bucket=stack.artifacts_bucket, Key="config/churn.json", Body=b"{broken")
    # When the run releases the model (its follow-up cannot start) and the scheduled sweep tries again
    with pytest.raises(InvalidModelConfig):
        coordinate.lambda_handler({**RELEASE, "run_id": first["run_id"], "outcome": "failed"}, context)
    swept = coordinate.lambda_handler({"action": "sweep"}, context)
    # Then no follow-up starts, the trigger still waits, and the user is told once which file to fix
    assert "InvalidModelConfig" in swept["problems"]["churn"] and swept["started"] == {}
    assert len(stack.executions()) == 1
    [(subject, body)] = published("action needed")
    assert subject == "retrainer: churn action needed"
    assert body["file"] == f"s3://{stack.artifacts_bucket}/config/churn.json" and "not valid JSON" in body["problem"]
