"""Faults in the middle of the flow: no duplicate run, no lost trigger, production untouched."""

from __future__ import annotations

from typing import Any

import pytest

from retrainer_offline.runtime import OfflineRuntime

pytestmark = pytest.mark.e2e


def _run(runtime: OfflineRuntime, model: str, body: bytes) -> Any:
    runtime.upload(model, "part-1.csv", body)
    return runtime.follow(runtime.next_execution(model=model))


def test_throttled_start_execution_is_retried_and_starts_exactly_one_run(
    runtime: OfflineRuntime, dataset: Any, model_config: dict[str, Any]
) -> None:
    # Given Step Functions throttles StartExecution more times than botocore retries (Lambda retries the event)
    runtime.put_model_config("throttled", model_config)
    runtime.faults.fail("stepfunctions", "StartExecution", "ThrottlingException", times=6)
    # When data is uploaded
    report = _run(runtime, "throttled", dataset.parts[0])
    # Then one run starts once the throttling passes, and it succeeds
    assert report.status == "SUCCEEDED"
    assert len([e for e in runtime.executions() if e["name"].startswith("throttled-")]) == 1
    assert runtime.faults.injected.count(("stepfunctions", "start_execution", "ThrottlingException")) == 6


def test_throttled_dynamodb_writes_lose_no_trigger(
    runtime: OfflineRuntime, dataset: Any, model_config: dict[str, Any]
) -> None:
    runtime.put_model_config("dynamo", model_config)
    runtime.faults.fail("dynamodb", "PutItem", "ProvisionedThroughputExceededException", times=8)
    report = _run(runtime, "dynamo", dataset.parts[0])
    assert report.status == "SUCCEEDED"
    assert len(report.output["claim"]["triggers"]) == 1
    assert len([e for e in runtime.executions() if e["name"].startswith("dynamo-")]) == 1


def test_sagemaker_throttling_is_retried_by_the_state_machine(
    runtime: OfflineRuntime, dataset: Any, model_config: dict[str, Any]
) -> None:
    # Given SageMaker throttles CreateTrainingJob twice (Step Functions integrations do not retry on their own)
    runtime.put_model_config("sm-throttle", model_config)
    runtime.faults.fail("sagemaker", "CreateTrainingJob", "ThrottlingException", times=2)
    report = _run(runtime, "sm-throttle", dataset.parts[0])
    # Then the Train state's Retry (backoff with jitter) gets through and the run deploys
    assert report.status == "SUCCEEDED"
    assert [s.name for s in report.states].count("Train") == 1
    jobs = runtime.client("sagemaker").list_training_jobs(NameContains="sm-throttle")["TrainingJobSummaries"]
    assert len(jobs) == 1


def test_lambda_timing_out_after_starting_the_run_does_not_start_a_second_one(
    runtime: OfflineRuntime, dataset: Any, model_config: dict[str, Any]
) -> None:
    # Given the trigger function is cut off by its timeout just after it started the execution
    runtime.put_model_config("timeout", model_config)
    function = runtime.stack.functions["StartRetrainingFunction"].function_name
    runtime.lambda_registry.time_out_after_work(function)
    # When Lambda retries the event (asynchronous invocation)
    report = _run(runtime, "timeout", dataset.parts[0])
    runtime.lambda_registry.drain(timeout=30)
    # Then the retry finds the same trigger and the same execution name: one run
    assert report.status == "SUCCEEDED"
    assert len([e for e in runtime.executions() if e["name"].startswith("timeout-")]) == 1
    assert runtime.lambda_registry.invocations.count((function, True)) >= 1


def test_stopped_preprocessing_job_fails_the_run_with_a_notice_and_no_endpoint(
    runtime: OfflineRuntime, dataset: Any, model_config: dict[str, Any]
) -> None:
    import time

    runtime.put_model_config("stopped", model_config)
    runtime.upload("stopped", "part-1.csv", dataset.parts[0])
    arn = runtime.next_execution(model="stopped")
    sagemaker = runtime.client("sagemaker")
    deadline = time.monotonic() + 30
    jobs: list[dict[str, Any]] = []
    while not jobs and time.monotonic() < deadline:
        jobs = sagemaker.list_processing_jobs(NameContains="stopped-")["ProcessingJobSummaries"]
        time.sleep(0.01)
    sagemaker.stop_processing_job(ProcessingJobName=jobs[0]["ProcessingJobName"])
    report = runtime.follow(arn)
    assert report.status == "FAILED" and report.error == "RetrainingFailed"
    [preprocess] = [s for s in report.states if s.name == "Preprocess"]
    assert preprocess.failed is not None and "was stopped" in preprocess.failed
    assert [s.name for s in report.states].count("Preprocess") == 1  # a Stopped job is not retried
    names = [e["EndpointName"] for e in sagemaker.list_endpoints()["Endpoints"]]
    assert "retrainer-stopped" not in names


def test_two_models_run_independently(runtime: OfflineRuntime, dataset: Any, model_config: dict[str, Any]) -> None:
    for model in ("left", "right"):
        runtime.put_model_config(model, model_config)
    runtime.upload("left", "part-1.csv", dataset.parts[0])
    runtime.upload("right", "part-1.csv", dataset.parts[0])
    first, second = runtime.next_execution(model="left"), runtime.next_execution(model="right")
    reports = [runtime.follow(first), runtime.follow(second)]
    assert [r.status for r in reports] == ["SUCCEEDED", "SUCCEEDED"]
    assert {r.name.rsplit("-", 1)[0] for r in reports} == {"left", "right"}


def _dead_letters(runtime: OfflineRuntime, key: str, timeout: float = 30) -> list[dict[str, Any]]:
    """Messages in TriggerDeadLetterQueue whose event is about object `key`."""
    import json
    import time

    sqs = runtime.client("sqs")
    url = runtime.output("TriggerDeadLetterQueueUrl")
    deadline = time.monotonic() + timeout
    found: list[dict[str, Any]] = []
    while not found and time.monotonic() < deadline:
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], VisibilityTimeout=0
        ).get("Messages", [])
        found = [m for m in messages if json.loads(m["Body"]).get("detail", {}).get("object", {}).get("key") == key]
        time.sleep(0.05)
    return found


def test_trigger_table_unavailable_dead_letters_the_event_and_its_redrive_starts_one_run(
    runtime: OfflineRuntime, dataset: Any, model_config: dict[str, Any]
) -> None:
    import json

    # Given the trigger table answers ResourceNotFoundException to the trigger's first call, on every attempt
    # Lambda makes (the first and its two retries), so nothing of the trigger is recorded
    runtime.put_model_config("no-table", model_config)
    runtime.faults.fail("dynamodb", "PutItem", "ResourceNotFoundException", times=3, matching="model#no-table")
    # When data is uploaded
    key = runtime.upload("no-table", "part-1.csv", dataset.parts[0])
    runtime.lambda_registry.drain(timeout=30)
    # Then the event lands in the dead-letter queue with the reason, and no run started
    [message] = _dead_letters(runtime, key)
    assert "ResourceNotFoundException" in message["MessageAttributes"]["ErrorMessage"]["StringValue"]
    assert runtime.faults.injected.count(("dynamodb", "put_item", "ResourceNotFoundException")) == 3
    assert not [e for e in runtime.executions() if e["name"].startswith("no-table-")]
    # When the table is back and the message is sent back to its function (the README's redrive), twice
    function = runtime.stack.functions["StartRetrainingFunction"].function_name
    lambda_client = runtime.client("lambda")
    answers = [
        json.loads(lambda_client.invoke(FunctionName=function, Payload=message["Body"])["Payload"].read())
        for _ in range(2)
    ]
    # Then exactly one run starts, and it trains and deploys
    assert [a["status"] for a in answers] == ["started", "duplicate"]
    [execution] = [e for e in runtime.executions() if e["name"].startswith("no-table-")]
    assert runtime.next_execution(model="no-table") == execution["executionArn"]
    assert runtime.follow(execution["executionArn"]).status == "SUCCEEDED"


def _ended_notice(notifications: Any, run_id: str) -> dict[str, Any]:
    import json

    for notice in notifications.drain():
        message = json.loads(notice["Message"])
        if message.get("run_id") == run_id and "status" in message:
            return {"outcome": notice["MessageAttributes"]["outcome"]["Value"], **message}
    raise AssertionError(f"no notice about {run_id}")


def _wait_for_pending(runtime: OfflineRuntime, model: str, count: int, timeout: float = 30) -> None:
    import time

    table = runtime.output("TriggerTableName")
    dynamodb = runtime.client("dynamodb")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        items = dynamodb.query(
            TableName=table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :trigger)",
            ExpressionAttributeValues={":pk": {"S": f"model#{model}"}, ":trigger": {"S": "trigger#"}},
        )["Items"]
        if len([i for i in items if i["status"]["S"] == "pending"]) >= count:
            return
        time.sleep(0.02)
    raise TimeoutError(f"{model} never had {count} pending triggers")


def _wait_for_state(runtime: OfflineRuntime, execution_arn: str, state: str, timeout: float = 30) -> None:
    import time

    sfn = runtime.client("stepfunctions")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events = sfn.get_execution_history(executionArn=execution_arn)["events"]
        if any((e.get("stateEnteredEventDetails") or {}).get("name") == state for e in events):
            return
        time.sleep(0.01)
    raise TimeoutError(f"{execution_arn} never entered {state}")


def test_a_stopped_run_frees_the_model_notifies_and_the_trigger_that_waited_runs_once(
    runtime: OfflineRuntime, notifications: Any, dataset: Any, model_config: dict[str, Any]
) -> None:
    # Given a run waiting in its debounce (a one-hour quiet window), and a second upload that arrived meanwhile
    runtime.put_model_config("halted", {**model_config, "quiet_window_seconds": 3600})
    runtime.upload("halted", "part-1.csv", dataset.parts[0])
    arn = runtime.next_execution(model="halted")
    runtime.upload("halted", "part-2.csv", dataset.parts[1])
    _wait_for_pending(runtime, "halted", 2)
    runtime.put_model_config("halted", model_config)
    notifications.drain()
    _wait_for_state(runtime, arn, "Debounce")
    # When an operator stops it (Step Functions runs no Catch, so the run's own release step never runs)
    runtime.client("stepfunctions").stop_execution(executionArn=arn, error="Operator", cause="stopped by hand")
    stopped = runtime.follow(arn)
    # Then the model is freed and exactly one follow-up run trains on both triggers
    assert stopped.status == "ABORTED"
    follow_up = runtime.follow(runtime.next_execution(model="halted"))
    assert follow_up.status == "SUCCEEDED"
    assert len(follow_up.output["claim"]["triggers"]) == 2
    assert len([e for e in runtime.executions() if e["name"].startswith("halted-")]) == 2
    # And a notice says the run was aborted, and where
    notice = _ended_notice(notifications, stopped.name)
    assert notice["outcome"] == "aborted" and notice["status"] == "ABORTED"
    assert notice["state"] in {"Debounce", "ClaimTriggers", "Settled"} and notice["lock_released"] is True


def test_a_run_past_the_state_machine_timeout_frees_the_model_and_the_trigger_that_waited_runs_once(
    runtime: OfflineRuntime, notifications: Any, dataset: Any, model_config: dict[str, Any]
) -> None:
    import json

    sfn = runtime.client("stepfunctions")
    original = sfn.describe_state_machine(stateMachineArn=runtime.state_machine_arn)["definition"]
    # Given the state machine times out after 30 minutes, and a run waits in an hour-long quiet window
    shortened = {**json.loads(original), "TimeoutSeconds": 1800}
    sfn.update_state_machine(stateMachineArn=runtime.state_machine_arn, definition=json.dumps(shortened))
    try:
        runtime.put_model_config("overdue", {**model_config, "quiet_window_seconds": 3600})
        runtime.upload("overdue", "part-1.csv", dataset.parts[0])
        # StartExecution copies the definition into the execution before it is listed: once listed, it has it
        arn = runtime.next_execution(model="overdue")
    finally:
        sfn.update_state_machine(stateMachineArn=runtime.state_machine_arn, definition=original)
    runtime.put_model_config("overdue", model_config)
    runtime.upload("overdue", "part-2.csv", dataset.parts[1])
    _wait_for_pending(runtime, "overdue", 2)
    notifications.drain()
    # When it runs past TimeoutSeconds (no Catch runs, so its release step never does)
    timed_out = runtime.follow(arn)
    assert timed_out.status == "TIMED_OUT"
    # Then the model is freed and exactly one follow-up run trains on the triggers that waited
    follow_up = runtime.follow(runtime.next_execution(model="overdue"))
    assert follow_up.status == "SUCCEEDED"
    assert len(follow_up.output["claim"]["triggers"]) == 2
    assert len([e for e in runtime.executions() if e["name"].startswith("overdue-")]) == 2
    # And a notice says the run timed out, and in which state
    notice = _ended_notice(notifications, timed_out.name)
    assert notice["outcome"] == "timed out" and notice["state"] == "Debounce"
    assert "timed out in state Debounce" in notice["what_happened"]
