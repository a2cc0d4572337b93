"""Whole retraining runs in the offline runtime: the demo flow and each failure path of the ASL."""

from __future__ import annotations

import json
from typing import Any

import pytest

from retrainer_offline.runtime import OfflineRuntime
from retrainer_offline.sample_data.alarm_events import drift_alarm_event
from tests.offline.conftest import Notifications

pytestmark = pytest.mark.e2e


def _run(runtime: OfflineRuntime, model: str, name: str, body: bytes) -> Any:
    runtime.upload(model, name, body)
    return runtime.follow(runtime.next_execution())


def _wait_for_state(runtime: OfflineRuntime, execution_arn: str, state: str, timeout: float = 30) -> None:
    import time

    deadline = time.monotonic() + timeout
    sfn = runtime.client("stepfunctions")
    while time.monotonic() < deadline:
        events = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
        if any(e.get("stateEnteredEventDetails", {}).get("name") == state for e in events):
            return
        time.sleep(0.01)
    raise TimeoutError(f"{execution_arn} never entered {state}")


def _states(report: Any) -> list[str]:
    return [state.name for state in report.states]


FIRST_DEPLOYMENT = [
    "Debounce",
    "ClaimTriggers",
    "Settled",
    "Preprocess",
    "FindChampion",
    "CheckNewData",
    "HasNewData",
    "Train",
    "CreateModel",
    "RegisterModel",
    "Validate",
    "Evaluate",
    "QualityGate",
    "PlanRollout",
    "ChooseRollout",
    "CreateFirstConfig",
    "CreateEndpoint",
    "AwaitFirstDeployment",
    "Promote",
    "NotifyDeployed",
]


def test_upload_trains_evaluates_and_deploys_a_model_that_answers(
    runtime: OfflineRuntime, notifications: Notifications, dataset: Any, model_config: dict[str, Any]
) -> None:
    # Given the demo model's configuration
    runtime.put_model_config("cancer", model_config)
    # When its first data part is uploaded
    report = _run(runtime, "cancer", "part-1.csv", dataset.parts[0])
    # Then the execution deploys a good model to the model's endpoint
    assert report.status == "SUCCEEDED", report
    main_line = [s for s in _states(report) if s in FIRST_DEPLOYMENT]
    assert main_line == FIRST_DEPLOYMENT
    assert report.output["claim"]["settled"] is True and len(report.output["claim"]["triggers"]) == 1
    assert _states(report)[-2:] == ["ReleaseAfterDeploy", "Deployed"]
    # And the model is a registry version, approved because it was promoted
    package = runtime.client("sagemaker").describe_model_package(
        ModelPackageName=report.output["registry"]["model_package_arn"]
    )
    assert package["ModelApprovalStatus"] == "Approved"
    assert package["ModelPackageGroupName"] == "retrainer-cancer"
    assert report.output["evaluation"]["metrics"]["auc"] >= 0.95
    assert report.output["training"]["FinalMetricDataList"][0]["MetricName"].startswith(("train:", "validation:"))
    endpoint = runtime.client("sagemaker").describe_endpoint(EndpointName="retrainer-cancer")
    assert endpoint["EndpointStatus"] == "InService"
    # And it answers with a probability and the variant that served it
    response = runtime.client("sagemaker-runtime").invoke_endpoint(
        EndpointName="retrainer-cancer", ContentType="text/csv", Body=dataset.holdout_features[0]
    )
    assert 0.0 <= float(response["Body"].read()) <= 1.0
    assert response["InvokedProductionVariant"] == report.name
    # And a subscriber hears that it was deployed
    messages = notifications.drain()
    assert any(m["MessageAttributes"]["outcome"]["Value"] == "deployed" for m in messages)


def test_second_upload_retrains_on_the_whole_folder_and_updates_the_endpoint(
    runtime: OfflineRuntime, dataset: Any
) -> None:
    before = runtime.client("sagemaker").describe_endpoint(EndpointName="retrainer-cancer")
    report = _run(runtime, "cancer", "part-2.csv", dataset.parts[1])
    assert report.status == "SUCCEEDED"
    assert "StartCanary" in _states(report) and "CreateEndpoint" not in _states(report)
    total_rows = sum(part.count(b"\n") - 1 for part in dataset.parts)
    # the test split: about 10% of the rows (each row's split comes from a stable hash, not a cut)
    assert abs(report.output["evaluation"]["rows"] - 0.1 * total_rows) <= 0.03 * total_rows
    after = runtime.client("sagemaker").describe_endpoint(EndpointName="retrainer-cancer")
    assert after["EndpointConfigName"] != before["EndpointConfigName"]


def test_a_drift_alarm_on_the_champions_data_ends_no_new_data_without_training(
    runtime: OfflineRuntime, notifications: Notifications
) -> None:
    # Given the champion trained on every file of the folder, with the model's current configuration
    before = runtime.client("sagemaker").describe_endpoint(EndpointName="retrainer-cancer")
    notifications.drain()
    # When a drift alarm starts a run on the same files
    runtime.put_event(drift_alarm_event("retrainer", "cancer"))
    report = runtime.follow(runtime.next_execution())
    request = json.loads(runtime.client("stepfunctions").describe_execution(executionArn=report.arn)["input"])
    assert request["trigger"]["kind"] == "drift_alarm"
    # Then it succeeds as NoNewData: nothing trained, registered or rolled out, the model released
    assert report.status == "SUCCEEDED"
    assert _states(report)[-4:] == ["NoticeNoNewData", "NotifyNoNewData", "ReleaseAfterNoNewData", "NoNewData"]
    assert not {"Train", "CreateModel", "RegisterModel", "Validate"} & set(_states(report))
    after = runtime.client("sagemaker").describe_endpoint(EndpointName="retrainer-cancer")
    assert after["EndpointConfigName"] == before["EndpointConfigName"]
    # And the trigger is consumed, and the notice says what triggered the run and what to upload
    assert report.output["claim"]["consumed"] == 1
    [message] = [m for m in notifications.drain() if m["MessageAttributes"]["outcome"]["Value"] == "no new data"]
    notice = json.loads(message["Message"])
    assert "drift_alarm" in notice["headline"] and "upload new or corrected rows" in notice["headline"]
    assert notice["upload_to"].endswith("/incoming/cancer/") and notice["data_check"]["new_data"] is False


def test_gate_failure_ends_quality_gate_failed_notifies_and_creates_no_endpoint(
    runtime: OfflineRuntime, notifications: Notifications, dataset: Any, model_config: dict[str, Any]
) -> None:
    # Given a model whose bar no model can clear
    runtime.put_model_config("strict", {**model_config, "threshold": 1.01})
    notifications.drain()
    report = _run(runtime, "strict", "part-1.csv", dataset.parts[0])
    # Then the run ends as the ASL says, with a notification, and no endpoint exists
    assert report.status == "FAILED" and report.error == "QualityGateFailed"
    assert _states(report)[-3:] == ["NotifyGateFailed", "ReleaseAfterGate", "QualityGateFailed"]
    outcomes = [m["MessageAttributes"]["outcome"]["Value"] for m in notifications.drain()]
    assert outcomes == ["rejected by the quality gate"]
    names = [e["EndpointName"] for e in runtime.client("sagemaker").list_endpoints()["Endpoints"]]
    assert "retrainer-strict" not in names


def test_failed_training_job_is_notified_and_production_is_untouched(
    runtime: OfflineRuntime, notifications: Notifications, dataset: Any
) -> None:
    before = runtime.client("sagemaker").describe_endpoint(EndpointName="retrainer-cancer")
    notifications.drain()
    runtime.job_runner.fail_next("training", "AlgorithmError: injected failure")
    report = _run(runtime, "cancer", "part-3.csv", dataset.parts[1])
    assert report.status == "FAILED" and report.error == "RetrainingFailed"
    [train] = [s for s in report.states if s.name == "Train"]
    assert train.failed is not None and "States.TaskFailed" in train.failed and "injected failure" in train.failed
    [message] = notifications.drain()
    assert message["MessageAttributes"]["outcome"]["Value"] == "failed"
    assert "injected failure" in message["Message"]
    after = runtime.client("sagemaker").describe_endpoint(EndpointName="retrainer-cancer")
    assert after["EndpointConfigName"] == before["EndpointConfigName"]


def test_evaluate_lambda_error_is_caught_by_its_error_name(
    runtime: OfflineRuntime, notifications: Notifications, dataset: Any
) -> None:
    before = runtime.client("sagemaker").describe_endpoint(EndpointName="retrainer-cancer")
    notifications.drain()
    function = runtime.stack.functions["EvaluateModelFunction"].function_name
    runtime.upload("cancer", "part-4.csv", dataset.parts[1])
    execution = runtime.next_execution()
    _wait_for_state(runtime, execution, "Train", timeout=300)  # the same function checked the data before
    runtime.lambda_registry.inject_error(function, "EvaluationDataError", "no .out files under s3://x")
    report = runtime.follow(execution)
    assert report.status == "FAILED" and report.error == "RetrainingFailed"
    [evaluate] = [s for s in report.states if s.name == "Evaluate"]
    assert evaluate.failed is not None and evaluate.failed.startswith("EvaluationDataError")
    assert [m["MessageAttributes"]["outcome"]["Value"] for m in notifications.drain()] == ["failed"]
    after = runtime.client("sagemaker").describe_endpoint(EndpointName="retrainer-cancer")
    assert after["EndpointConfigName"] == before["EndpointConfigName"]


def test_uploads_during_a_run_start_exactly_one_follow_up_that_trains_on_them(
    runtime: OfflineRuntime, dataset: Any, model_config: dict[str, Any]
) -> None:
    # Given a model whose run is in progress
    runtime.put_model_config("busy", model_config)
    runtime.upload("busy", "part-1.csv", dataset.parts[0])
    first = runtime.next_execution()
    _wait_for_state(runtime, first, "Preprocess")
    # When three more files arrive while it runs (after it claimed its own trigger)
    for n in range(3):
        runtime.upload("busy", f"extra-{n}.csv", dataset.parts[1])
    # Then the first run ends, and exactly one follow-up run consumes the three waiting uploads
    assert runtime.follow(first).status == "SUCCEEDED"
    follow_up = runtime.follow(runtime.next_execution())
    assert follow_up.status == "SUCCEEDED"
    assert len(follow_up.output["claim"]["triggers"]) == 3
    runtime.drain(timeout=30)
    names = [e["name"] for e in runtime.executions() if e["name"].startswith("busy-")]
    assert len(names) == 2


def test_csv_without_the_target_fails_before_training_naming_file_and_problem(runtime: OfflineRuntime) -> None:
    runtime.put_model_config("broken", {"target_column": "label"})
    report = _run(runtime, "broken", "wrong.csv", b"a,b\n" + b"1,2\n" * 30)
    assert report.status == "FAILED"
    [preprocess] = [s for s in report.states if s.name == "Preprocess"]
    assert preprocess.failed is not None and "target column 'label' not found" in preprocess.failed
    assert "Train" not in _states(report)
