"""Faults in the middle of the flow: no duplicate run, no lost trigger, production untouched."""

from __future__ import annotations

from typing import Any

import pytest

from retrainer_offline.runtime import OfflineRuntime

pytestmark = pytest.mark.e2e


def _run(runtime: OfflineRuntime, model: str, body: bytes) -> Any:
    runtime.upload(model, "part-1.csv", body)
    return runtime.follow(runtime.next_execution())


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
    arn = runtime.next_execution()
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
    first, second = runtime.next_execution(), runtime.next_execution()
    reports = [runtime.follow(first), runtime.follow(second)]
    assert [r.status for r in reports] == ["SUCCEEDED", "SUCCEEDED"]
    assert {r.name.rsplit("-", 1)[0] for r in reports} == {"left", "right"}
