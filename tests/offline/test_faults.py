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
