"""Emulated AWS time (clock.py): compute counts 1:1, waits are fast-forwarded, deadlines hold under load.

A slow machine must never time out a run that AWS would finish, and a run that really waits past its
timeout must still end TIMED_OUT and do nothing after it.
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from retrainer_offline.clock import Timeline
from retrainer_offline.runtime import OfflineRuntime
from tests.offline.conftest import ROLE, XGBOOST
from tests.offline.conftest import wait_for_job as _wait

SKLEARN = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"


# ------------------------------------------------------------------------------------------ the model
def test_a_wait_is_fast_forwarded_and_concurrent_waits_do_not_add_up() -> None:
    # Given an execution's timeline at 1/10,000 of real time
    timeline = Timeline(scale=0.0001)
    # When two Parallel branches each wait an hour at the same time
    started = time.monotonic()
    branches = [threading.Thread(target=timeline.wait, args=(3600,)) for _ in range(2)]
    for branch in branches:
        branch.start()
    for branch in branches:
        branch.join()
    # Then an hour passed, not two, in well under a second of wall time
    assert 3600 <= timeline.now() < 3610
    assert time.monotonic() - started < 2


def test_compute_counts_one_to_one_and_reaches_a_deadline_without_any_wait() -> None:
    # Given a deadline 0.3 emulated seconds away and nothing waiting
    timeline = Timeline(scale=0.0001)
    fired = threading.Event()
    timeline.add_deadline(0.3, fired.set)
    # When 0.1 s of compute passes, the deadline has not fired; after 0.3 s it has
    time.sleep(0.1)
    assert not fired.is_set()
    assert fired.wait(5)
    timeline.close()


def test_a_wait_stops_at_a_deadline_and_fires_it_before_returning() -> None:
    # Given an execution that times out after 60 s, waiting two hours
    timeline = Timeline(scale=0.0001)
    running = threading.Event()
    running.set()
    timeline.add_deadline(60, running.clear)
    # When the wait runs
    finished = timeline.wait(7200, running=running.is_set)
    # Then it was cut at the deadline (the execution stopped), not carried on to two hours
    assert finished is False and not running.is_set()
    assert 60 <= timeline.now() < 70
    timeline.close()


# ------------------------------------------------------------------------------------------ whole runs
def _machine(runtime: OfflineRuntime, definition: dict[str, Any]) -> str:
    sfn = runtime.client("stepfunctions")
    name = f"clock-{uuid.uuid4().hex[:8]}"
    return str(sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)["stateMachineArn"])


def _run(runtime: OfflineRuntime, machine: str, payload: dict[str, Any]) -> Any:
    sfn = runtime.client("stepfunctions")
    arn = sfn.start_execution(stateMachineArn=machine, input=json.dumps(payload))["executionArn"]
    return runtime.follow(arn, timeout=120)


def _training_task(bucket: str, timeout_seconds: int) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::sagemaker:createTrainingJob.sync",
        "TimeoutSeconds": timeout_seconds,
        "Parameters": {
            "TrainingJobName.$": "$.job",
            "AlgorithmSpecification": {"TrainingImage": XGBOOST, "TrainingInputMode": "File"},
            "RoleArn": ROLE,
            "HyperParameters": {"num_round": "5", "objective": "binary:logistic", "eval_metric": "auc"},
            "InputDataConfig": [
                {
                    "ChannelName": "train",
                    "ContentType": "text/csv",
                    "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/t/train/"}},
                }
            ],
            "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/clock"},
            "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 5},
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        },
        "ResultPath": "$.training",
        "End": True,
    }


@pytest.mark.e2e
def test_a_job_ten_times_slower_than_usual_still_succeeds(
    runtime: OfflineRuntime, bucket: str, trained: dict[str, Any]
) -> None:
    del trained  # the training data under t/
    # Given a 60-second execution timeout (60 ms of wall time at the runtime's 1/1000 scale) and a 30-second
    # Task timeout, and a training job whose host is so slow it takes ~4 s more than usual
    machine = _machine(
        runtime, {"StartAt": "Train", "TimeoutSeconds": 60, "States": {"Train": _training_task(bucket, 30)}}
    )
    runtime.job_runner.slow_next("training", 4.0, name_contains="slow-host")
    # When it runs
    report = _run(runtime, machine, {"job": f"slow-host-{uuid.uuid4().hex[:6]}"})
    # Then it succeeds: compute counts 1:1, seconds against a minute, whatever the machine's load
    assert report.status == "SUCCEEDED", (report.error, report.cause)
    assert report.output["training"]["TrainingJobStatus"] == "Completed"
    assert report.seconds >= 4


@pytest.mark.e2e
def test_a_run_that_waits_past_its_timeout_ends_timed_out_and_starts_nothing_after(runtime: OfflineRuntime) -> None:
    # Given an execution with a one-minute timeout that waits two minutes before it acts
    definition = {
        "StartAt": "Hold",
        "TimeoutSeconds": 60,
        "States": {
            "Hold": {"Type": "Wait", "Seconds": 120, "Next": "Act"},
            "Act": {"Type": "Pass", "Result": "promoted", "End": True},
        },
    }
    machine = _machine(runtime, definition)
    # When it runs
    started = time.monotonic()
    report = _run(runtime, machine, {})
    # Then it times out, fast-forwarded (well under the two real minutes), and never enters the next state
    assert report.status == "TIMED_OUT"
    assert time.monotonic() - started < 30
    history = runtime.client("stepfunctions").get_execution_history(executionArn=report.arn)["events"]
    entered = [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]
    assert entered == ["Hold"]
    assert max(history, key=lambda e: e["id"])["type"] == "ExecutionTimedOut"


@pytest.mark.e2e
def test_a_task_that_runs_past_its_timeout_seconds_fails_with_states_timeout(
    runtime: OfflineRuntime, bucket: str, trained: dict[str, Any]
) -> None:
    del trained
    # Given a training Task with a 2-second TimeoutSeconds whose job takes ~5 s more than usual
    task = {**_training_task(bucket, 2), "Catch": [{"ErrorEquals": ["States.Timeout"], "Next": "TimedOut"}]}
    del task["End"]
    task["Next"] = "Done"
    definition = {
        "StartAt": "Train",
        "States": {
            "Train": task,
            "Done": {"Type": "Succeed"},
            "TimedOut": {"Type": "Fail", "Error": "TaskTimedOut"},
        },
    }
    machine = _machine(runtime, definition)
    runtime.job_runner.slow_next("training", 5.0, name_contains="overrun")
    # When it runs
    report = _run(runtime, machine, {"job": f"overrun-{uuid.uuid4().hex[:6]}"})
    # Then the Task times out with States.Timeout, caught like on AWS
    assert report.status == "FAILED" and report.error == "TaskTimedOut"
    history = runtime.client("stepfunctions").get_execution_history(executionArn=report.arn)["events"]
    assert any((e.get("taskTimedOutEventDetails") or e.get("executionFailedEventDetails") or {}) for e in history)
    runtime.job_runner.drain(30)


@pytest.mark.e2e
def test_stopping_an_execution_right_after_starting_it_always_aborts_it(runtime: OfflineRuntime) -> None:
    # Given a state machine that waits an hour
    machine = _machine(runtime, {"StartAt": "Hold", "States": {"Hold": {"Type": "Wait", "Seconds": 3600, "End": True}}})
    sfn = runtime.client("stepfunctions")
    # When executions are stopped the moment they start (moto's worker may not have built its state yet)
    arns = []
    for index in range(15):
        arn = sfn.start_execution(stateMachineArn=machine, name=f"quick-stop-{index}")["executionArn"]
        sfn.stop_execution(executionArn=arn, error="Operator", cause="stopped at once")
        arns.append(arn)
    # Then every stop is accepted and every execution ends ABORTED
    assert {runtime.follow(arn, timeout=60).status for arn in arns} == {"ABORTED"}


# ------------------------------------------------------------------------------------------ job folders
def _landed_outside(name: str) -> bool:
    """Whether a file called `name` exists where a followed `../` key would have put it."""
    return any((folder / name).exists() for folder in (Path("/"), Path(tempfile.gettempdir())))


@pytest.mark.e2e
@pytest.mark.parametrize("shape", ["dotdot", "deep-dotdot"])
def test_an_object_key_that_climbs_out_of_the_job_folder_fails_the_job_and_writes_nothing(
    runtime: OfflineRuntime, bucket: str, shape: str
) -> None:
    # Given a data prefix holding a key with `../` segments aimed at /tmp
    marker = f"escaped-{uuid.uuid4().hex[:8]}.csv"
    climb = "../" * (2 if shape == "dotdot" else 12)
    prefix = f"hostile-{shape}/in/"
    s3 = runtime.client("s3")
    s3.put_object(Bucket=bucket, Key=f"{prefix}ok.csv", Body=b"1,2\n")
    s3.put_object(Bucket=bucket, Key=f"{prefix}{climb}{marker}", Body=b"0,0\n")
    sm = runtime.client("sagemaker")
    name = f"hostile-{shape}-{uuid.uuid4().hex[:6]}"
    # When a processing job downloads that prefix
    sm.create_processing_job(
        ProcessingJobName=name,
        RoleArn=ROLE,
        AppSpecification={"ImageUri": SKLEARN, "ContainerEntrypoint": ["python3", "-c", "print('ran')"]},
        ProcessingInputs=[
            {
                "InputName": "data",
                "S3Input": {
                    "S3Uri": f"s3://{bucket}/{prefix}",
                    "LocalPath": "/opt/ml/processing/input",
                    "S3DataType": "S3Prefix",
                    "S3InputMode": "File",
                },
            }
        ],
        ProcessingResources={"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 5}},
    )
    job = _wait(lambda: sm.describe_processing_job(ProcessingJobName=name), "ProcessingJobStatus")
    # Then the job fails naming the key, and nothing was written where the key pointed
    assert job["ProcessingJobStatus"] == "Failed"
    assert "outside the job's folder" in job["FailureReason"] and marker in job["FailureReason"]
    assert not _landed_outside(marker)


@pytest.mark.e2e
def test_a_training_channel_with_a_climbing_key_fails_the_job(runtime: OfflineRuntime, bucket: str) -> None:
    # Given a training channel whose prefix holds an absolute-looking key and a `../` key
    s3 = runtime.client("s3")
    marker = f"escaped-{uuid.uuid4().hex[:8]}.csv"
    s3.put_object(Bucket=bucket, Key="hostile-train/train//etc/ok.csv", Body=b"1,2\n0,1\n")
    s3.put_object(Bucket=bucket, Key=f"hostile-train/train/{'../' * 12}{marker}", Body=b"1,2\n")
    sm = runtime.client("sagemaker")
    name = f"hostile-train-{uuid.uuid4().hex[:6]}"
    # When a training job downloads it
    sm.create_training_job(
        TrainingJobName=name,
        AlgorithmSpecification={"TrainingImage": XGBOOST, "TrainingInputMode": "File"},
        RoleArn=ROLE,
        HyperParameters={"num_round": "2"},
        InputDataConfig=[
            {
                "ChannelName": "train",
                "ContentType": "text/csv",
                "DataSource": {
                    "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/hostile-train/train/"}
                },
            }
        ],
        OutputDataConfig={"S3OutputPath": f"s3://{bucket}/out"},
        ResourceConfig={"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 5},
        StoppingCondition={"MaxRuntimeInSeconds": 600},
    )
    job = _wait(lambda: sm.describe_training_job(TrainingJobName=name), "TrainingJobStatus")
    # Then it fails with a ClientError naming the key, and nothing landed outside its folder
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("ClientError:") and marker in job["FailureReason"]
    assert not _landed_outside(marker)
