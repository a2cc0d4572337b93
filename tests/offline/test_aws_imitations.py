"""Each place the offline runtime changes moto's behaviour, pinned to the AWS behaviour it reproduces.

Most tests use the module's deployed runtime (template.yaml on moto); each docstring cites the
documented shape in ../shared/docs/sagemaker-contracts.md (§) or offline-runtime-notes.md.
"""

from __future__ import annotations

import io
import json
import tarfile
import time
from collections import Counter
from typing import Any

import boto3
import pytest

from retrainer_offline.runtime import OfflineRuntime
from retrainer_offline.sagemaker.jobs import JobFailed, apply_filter, validate_hyperparameters
from tests.offline.conftest import ROLE, XGBOOST
from tests.offline.conftest import wait_for_job as _wait

SKLEARN = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"


def test_training_job_goes_in_progress_then_completed(trained: dict[str, Any]) -> None:
    """§2 Statuses: a job is InProgress while it runs, then Completed (moto creates it Completed)."""
    # Given a training job created (the module's `trained` fixture), described at once and at the end
    # When its status is read
    # Then it was InProgress first and Completed at the end
    assert trained["first"]["TrainingJobStatus"] == "InProgress"
    assert trained["job"]["TrainingJobStatus"] == "Completed"


def test_model_artifact_is_model_tar_gz_with_xgboost_model(
    runtime: OfflineRuntime, bucket: str, trained: dict[str, Any]
) -> None:
    """§2/§3: model.tar.gz holding xgboost-model at {S3OutputPath}/{TrainingJobName}/output/model.tar.gz."""
    # Given a completed training job
    # When its model artifact is read
    uri = trained["job"]["ModelArtifacts"]["S3ModelArtifacts"]
    # Then it is where SageMaker puts it, a tar.gz holding only xgboost-model
    assert uri == f"s3://{bucket}/out/pinned-train/output/model.tar.gz"
    body = runtime.client("s3").get_object(Bucket=bucket, Key="out/pinned-train/output/model.tar.gz")["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tar:
        assert tar.getnames() == ["xgboost-model"]


def test_final_metrics_come_from_the_training_log(trained: dict[str, Any]) -> None:
    """§2 Metrics: FinalMetricDataList holds the last train:<m>/validation:<m> value matched in the log."""
    # Given a completed training job
    # When its final metrics are read
    names = {m["MetricName"]: m["Value"] for m in trained["job"]["FinalMetricDataList"]}
    # Then they are the train and validation AUC the log printed last
    assert set(names) == {"train:auc", "validation:auc"}
    assert 0.5 < names["validation:auc"] <= 1.0


@pytest.mark.parametrize(
    ("hyperparameters", "message"),
    [
        ({"objective": "binary:logistic"}, "Missing required hyperparameter: num_round"),
        ({"num_round": "ten"}, "num_round: value 'ten' is not a valid int"),
        ({"num_round": "10", "eta": "3"}, "eta: value '3' is out of range"),
        ({"num_round": "10", "learning_speed": "1"}, "'learning_speed' was unexpected"),
    ],
)
def test_hyperparameters_are_validated_as_the_container_does(hyperparameters: dict[str, str], message: str) -> None:
    """§3: hyperparameters are strings, validated; num_round is required."""
    # Given hyperparameters the XGBoost container would refuse
    # When they are validated
    # Then the job fails with the container's message
    with pytest.raises(JobFailed, match=message):
        validate_hyperparameters(hyperparameters)


def test_unknown_image_fails_the_job_naming_the_image(runtime: OfflineRuntime, bucket: str) -> None:
    """Issue 3 item 5: an image the runtime does not know fails the job with a FailureReason naming it."""
    # Given a training job on an image the runtime does not know
    sm = runtime.client("sagemaker")
    sm.create_training_job(
        TrainingJobName="pinned-unknown-image",
        AlgorithmSpecification={
            "TrainingImage": "123.dkr.ecr.us-east-1.amazonaws.com/my-byoc:1",
            "TrainingInputMode": "File",
        },
        RoleArn=ROLE,
        HyperParameters={"num_round": "1"},
        InputDataConfig=[
            {
                "ChannelName": "train",
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/t/train/"}},
            }
        ],
        OutputDataConfig={"S3OutputPath": f"s3://{bucket}/out"},
        ResourceConfig={"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 5},
        StoppingCondition={"MaxRuntimeInSeconds": 600},
    )
    # When it runs
    job = _wait(lambda: sm.describe_training_job(TrainingJobName="pinned-unknown-image"), "TrainingJobStatus")
    # Then it fails, and the reason names the image
    assert job["TrainingJobStatus"] == "Failed"
    assert "my-byoc:1" in job["FailureReason"]


def test_processing_exit_message_and_outputs(runtime: OfflineRuntime, bucket: str) -> None:
    """§1: outputs are uploaded after exit 0 and the first 1 KB of /opt/ml/output/message is ExitMessage."""
    # Given a processing job whose script writes an output file and an exit message
    s3 = runtime.client("s3")
    script = (
        b"import pathlib,sys\n"
        b"pathlib.Path('/opt/ml/processing/output/result/r.txt'.replace('/opt/ml', sys.argv[1])).write_text('done')\n"
        b"pathlib.Path(sys.argv[1] + '/output/message').write_text('CompletedWithViolations: 3 violations')\n"
    )
    s3.put_object(Bucket=bucket, Key="p/code/job.py", Body=script)
    sm = runtime.client("sagemaker")
    sm.create_processing_job(
        ProcessingJobName="pinned-processing",
        AppSpecification={
            "ImageUri": SKLEARN,
            "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/job.py"],
            "ContainerArguments": ["/opt/ml"],
        },
        ProcessingInputs=[
            {
                "InputName": "code",
                "S3Input": {
                    "S3Uri": f"s3://{bucket}/p/code/",
                    "LocalPath": "/opt/ml/processing/input/code",
                    "S3DataType": "S3Prefix",
                    "S3InputMode": "File",
                },
            }
        ],
        ProcessingOutputConfig={
            "Outputs": [
                {
                    "OutputName": "result",
                    "S3Output": {
                        "S3Uri": f"s3://{bucket}/p/out",
                        "LocalPath": "/opt/ml/processing/output/result",
                        "S3UploadMode": "EndOfJob",
                    },
                }
            ]
        },
        ProcessingResources={"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 5}},
        RoleArn=ROLE,
    )
    # When it runs to the end
    job = _wait(lambda: sm.describe_processing_job(ProcessingJobName="pinned-processing"), "ProcessingJobStatus")
    # Then it completed, its ExitMessage is the message file and its output is in S3
    assert job["ProcessingJobStatus"] == "Completed", job.get("FailureReason")
    assert job["ExitMessage"] == "CompletedWithViolations: 3 violations"
    assert s3.get_object(Bucket=bucket, Key="p/out/r.txt")["Body"].read() == b"done"


def test_stopped_processing_job_is_terminal(runtime: OfflineRuntime, bucket: str) -> None:
    """§1/§2 statuses: StopProcessingJob takes an InProgress job through Stopping to Stopped."""
    # Given a slow processing job, started
    runtime.client("s3").put_object(Bucket=bucket, Key="s/code/slow.py", Body=b"import time\ntime.sleep(1.5)\n")
    sm = runtime.client("sagemaker")
    sm.create_processing_job(
        ProcessingJobName="pinned-stopped",
        AppSpecification={
            "ImageUri": SKLEARN,
            "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/slow.py"],
        },
        ProcessingInputs=[
            {
                "InputName": "code",
                "S3Input": {
                    "S3Uri": f"s3://{bucket}/s/code/",
                    "LocalPath": "/opt/ml/processing/input/code",
                    "S3DataType": "S3Prefix",
                    "S3InputMode": "File",
                },
            }
        ],
        ProcessingResources={"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 5}},
        RoleArn=ROLE,
    )
    # When it is stopped
    # Then it is Stopping, then Stopped
    sm.stop_processing_job(ProcessingJobName="pinned-stopped")
    assert sm.describe_processing_job(ProcessingJobName="pinned-stopped")["ProcessingJobStatus"] == "Stopping"
    job = _wait(lambda: sm.describe_processing_job(ProcessingJobName="pinned-stopped"), "ProcessingJobStatus")
    assert job["ProcessingJobStatus"] == "Stopped"


def test_transform_filters_join_and_one_out_file_per_input(
    runtime: OfflineRuntime, bucket: str, trained: dict[str, Any]
) -> None:
    """§4: InputFilter $[1:], JoinSource Input, OutputFilter $[0,-1]: one `<input>.out` per object, order kept."""
    # Given two CSV files with an id column first, and a trained model
    s3 = runtime.client("s3")
    s3.put_object(Bucket=bucket, Key="x/in/a.csv", Body=b"1,5.1,0\n0,0.2,1\n")
    s3.put_object(Bucket=bucket, Key="x/in/b.csv", Body=b"0,0.3,2\n")
    sm = runtime.client("sagemaker")
    sm.create_model(
        ModelName="pinned-model",
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": XGBOOST, "ModelDataUrl": trained["job"]["ModelArtifacts"]["S3ModelArtifacts"]},
    )
    # When a batch transform drops the id, joins the input and keeps id and score
    sm.create_transform_job(
        TransformJobName="pinned-transform",
        ModelName="pinned-model",
        BatchStrategy="MultiRecord",
        TransformInput={
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/x/in/"}},
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        TransformOutput={"S3OutputPath": f"s3://{bucket}/x/out", "AssembleWith": "Line", "Accept": "text/csv"},
        TransformResources={"InstanceCount": 1, "InstanceType": "ml.m5.large"},
        DataProcessing={"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,-1]"},
    )
    job = _wait(lambda: sm.describe_transform_job(TransformJobName="pinned-transform"), "TransformJobStatus")
    # Then each input has its .out file, rows in order, each row its id and its score
    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    a = s3.get_object(Bucket=bucket, Key="x/out/a.csv.out")["Body"].read().decode().splitlines()
    b = s3.get_object(Bucket=bucket, Key="x/out/b.csv.out")["Body"].read().decode().splitlines()
    assert [line.split(",")[0] for line in a] == ["1", "0"] and len(b) == 1
    assert float(a[0].split(",")[1]) > float(a[1].split(",")[1])


def test_filter_expressions_on_csv_rows() -> None:
    """§4 DataProcessing: a CSV row is a JSON array; `$`, `[i,j]` with negatives and `[start:end]`."""
    # Given a CSV row as the filters see it (a JSON array)
    # When each filter expression is applied
    # Then it selects what the expression says
    row = ["id", "f1", "f2", "score"]
    assert apply_filter("$", row) == row
    assert apply_filter("$[1:]", row) == ["f1", "f2", "score"]
    assert apply_filter("$[0,-1]", row) == ["id", "score"]
    assert apply_filter("$[1:3]", row) == ["f1", "f2"]


def test_endpoint_routes_by_weight_and_honours_target_variant(runtime: OfflineRuntime, trained: dict[str, Any]) -> None:
    """§5: share = weight / sum of weights, random per request; TargetVariant overrides; the variant is named."""
    # Given an endpoint with the champion at weight 9 and the challenger at weight 1
    sm = runtime.client("sagemaker")
    sm.create_endpoint_config(
        EndpointConfigName="pinned-split",
        ProductionVariants=[
            {
                "VariantName": "champion",
                "ModelName": "pinned-model",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
                "InitialVariantWeight": 9,
            },
            {
                "VariantName": "challenger",
                "ModelName": "pinned-model",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
                "InitialVariantWeight": 1,
            },
        ],
    )
    sm.create_endpoint(EndpointName="pinned-endpoint", EndpointConfigName="pinned-split")
    assert sm.describe_endpoint(EndpointName="pinned-endpoint")["EndpointStatus"] == "Creating"
    _wait_endpoint(sm, "pinned-endpoint")
    # When it is invoked 600 times, and once with TargetVariant
    smr = runtime.client("sagemaker-runtime")
    served = Counter(
        smr.invoke_endpoint(EndpointName="pinned-endpoint", ContentType="text/csv", Body="0.2,1")[
            "InvokedProductionVariant"
        ]
        for _ in range(600)
    )
    # Then about a tenth of the requests reached the challenger, and the targeted one did
    assert 0.05 <= served["challenger"] / 600 <= 0.16
    targeted = smr.invoke_endpoint(
        EndpointName="pinned-endpoint", ContentType="text/csv", Body="0.2,1", TargetVariant="challenger"
    )
    assert targeted["InvokedProductionVariant"] == "challenger"


def test_weight_update_goes_through_updating(runtime: OfflineRuntime) -> None:
    """§5: UpdateEndpointWeightsAndCapacities: Updating with DesiredWeight != CurrentWeight, then InService."""
    # Given the endpoint of the previous test, the challenger at weight 1
    # When the challenger's weight is set to 9
    sm = runtime.client("sagemaker")
    sm.update_endpoint_weights_and_capacities(
        EndpointName="pinned-endpoint", DesiredWeightsAndCapacities=[{"VariantName": "challenger", "DesiredWeight": 9}]
    )
    # Then the endpoint is Updating with the desired weight not yet current, then InService at 9
    during = sm.describe_endpoint(EndpointName="pinned-endpoint")
    challenger = next(v for v in during["ProductionVariants"] if v["VariantName"] == "challenger")
    assert (
        during["EndpointStatus"] == "Updating" and challenger["DesiredWeight"] == 9 and challenger["CurrentWeight"] == 1
    )
    after = _wait_endpoint(sm, "pinned-endpoint")
    assert next(v for v in after["ProductionVariants"] if v["VariantName"] == "challenger")["CurrentWeight"] == 9


def test_unknown_endpoint_is_a_validation_error(runtime: OfflineRuntime) -> None:
    """§5: InvokeEndpoint on an endpoint that does not exist fails (moto returns a static body)."""
    # Given no endpoint named nope
    # When it is invoked
    # Then the call fails naming the endpoint and the account
    with pytest.raises(Exception, match="Endpoint nope of account 123456789012 not found"):
        runtime.client("sagemaker-runtime").invoke_endpoint(EndpointName="nope", ContentType="text/csv", Body="1,2")


def test_data_capture_records_and_key_layout(runtime: OfflineRuntime, bucket: str) -> None:
    """§6: one JSON line per captured request under {Destination}/{Endpoint}/{Variant}/yyyy/mm/dd/hh/."""
    # Given an endpoint capturing every request's input and output
    sm = runtime.client("sagemaker")
    sm.create_endpoint_config(
        EndpointConfigName="pinned-capture",
        ProductionVariants=[
            {
                "VariantName": "only",
                "ModelName": "pinned-model",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
                "InitialVariantWeight": 1,
            }
        ],
        DataCaptureConfig={
            "EnableCapture": True,
            "InitialSamplingPercentage": 100,
            "DestinationS3Uri": f"s3://{bucket}/capture",
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        },
    )
    sm.create_endpoint(EndpointName="pinned-captured", EndpointConfigName="pinned-capture")
    _wait_endpoint(sm, "pinned-captured")
    # When it is invoked once
    runtime.client("sagemaker-runtime").invoke_endpoint(
        EndpointName="pinned-captured", ContentType="text/csv", Body="0.2,1", InferenceId="req-1"
    )
    # Then one JSON line lands under {Destination}/{Endpoint}/{Variant}/yyyy/mm/dd/hh/, in SageMaker's format
    keys = [o["Key"] for o in runtime.client("s3").list_objects_v2(Bucket=bucket, Prefix="capture/")["Contents"]]
    [key] = keys
    parts = key.split("/")
    assert parts[1:3] == ["pinned-captured", "only"] and len(parts) == 8 and parts[-1].endswith(".jsonl")
    record = json.loads(runtime.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
    assert record["captureData"]["endpointInput"] == {
        "observedContentType": "text/csv",
        "mode": "INPUT",
        "data": "0.2,1",
        "encoding": "CSV",
    }
    assert record["captureData"]["endpointOutput"]["mode"] == "OUTPUT"
    assert record["eventMetadata"]["inferenceId"] == "req-1" and record["eventVersion"] == "0"


def _wait_endpoint(sm: Any, name: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        endpoint = sm.describe_endpoint(EndpointName=name)
        if endpoint["EndpointStatus"] == "InService" or time.monotonic() > deadline:
            return endpoint
        time.sleep(0.01)


def test_s3_object_created_events_are_aws_shaped(runtime: OfflineRuntime) -> None:
    """§8 S3 Object Created: unique id and request-id, `etag`, reason PutObject, increasing sequencer; no tag event."""
    # Given an enabled rule and a disabled rule on aws.s3 events, each with a queue behind it
    events = runtime.client("events")
    sqs = runtime.client("sqs")
    url = sqs.create_queue(QueueName="s3-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="all-s3", EventPattern=json.dumps({"source": ["aws.s3"]}))
    events.put_targets(Rule="all-s3", Targets=[{"Id": "q", "Arn": arn}])
    events.put_rule(Name="disabled-s3", EventPattern=json.dumps({"source": ["aws.s3"]}), State="DISABLED")
    disabled_url = sqs.create_queue(QueueName="disabled")["QueueUrl"]
    disabled_arn = sqs.get_queue_attributes(QueueUrl=disabled_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_targets(Rule="disabled-s3", Targets=[{"Id": "q", "Arn": disabled_arn}])
    # When one object is written twice
    runtime.client("s3").put_object(Bucket=runtime.output("DataBucketName"), Key="elsewhere/a.csv", Body=b"x")
    runtime.client("s3").put_object(Bucket=runtime.output("DataBucketName"), Key="elsewhere/a.csv", Body=b"xy")
    bodies = [
        json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    ]
    # Then the enabled rule got two Object Created events in S3's shape, sequencers increasing; the disabled one none
    assert [b["detail-type"] for b in bodies] == ["Object Created", "Object Created"]
    first, second = (b["detail"] for b in bodies)
    assert bodies[0]["id"] != bodies[1]["id"] and first["request-id"] != second["request-id"]
    assert first["reason"] == "PutObject" and "etag" in first["object"] and "eTag" not in first["object"]
    assert second["object"]["sequencer"] > first["object"]["sequencer"]
    assert "version-id" in first["object"]  # the data bucket is versioned
    assert sqs.receive_message(QueueUrl=disabled_url).get("Messages", []) == []
    events.remove_targets(Rule="all-s3", Ids=["q"])
    events.remove_targets(Rule="disabled-s3", Ids=["q"])


def _queue_behind_rule(runtime: OfflineRuntime, rule: str, state: str) -> str:
    sqs = runtime.client("sqs")
    url: str = sqs.create_queue(QueueName=f"{rule}-queue")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    runtime.client("events").put_rule(Name=rule, EventPattern=json.dumps({"source": ["aws.s3"]}), State=state)
    runtime.client("events").put_targets(Rule=rule, Targets=[{"Id": "q", "Arn": arn}])
    return url


def test_lambda_errors_come_back_in_the_runtime_error_shape(runtime: OfflineRuntime) -> None:
    """offline-runtime-notes (Lambda seam): errors are {errorMessage, errorType, stackTrace} with FunctionError set."""
    # Given the evaluation function and a payload it refuses
    function = runtime.stack.functions["EvaluateModelFunction"].function_name
    # When it is invoked
    response = runtime.client("lambda").invoke(FunctionName=function, Payload=json.dumps({"metric": "auc"}).encode())
    # Then the error comes back as the Lambda runtime shapes it: errorType is the domain error's name
    assert response["FunctionError"]
    error = json.loads(response["Payload"].read())
    assert error["errorType"] == "EvaluationDataError" and "invalid evaluation request" in error["errorMessage"]
    assert isinstance(error["stackTrace"], list)


def test_async_invocation_retries_twice_then_goes_to_the_dead_letter_queue(runtime: OfflineRuntime) -> None:
    """Lambda async invocations: 2 retries by default (MaximumRetryAttempts), then the DLQ, with the
    ErrorCode/ErrorMessage/RequestID message attributes; the event is kept as the message body."""
    # Given the trigger function failing three times in a row
    function = runtime.stack.functions["StartRetrainingFunction"].function_name
    runtime.lambda_registry.inject_error(function, "WorkflowStartFailed", "StartExecution throttled", times=3)
    # When an upload invokes it asynchronously
    runtime.client("s3").put_object(
        Bucket=runtime.output("DataBucketName"), Key="incoming/dlq/a.csv", Body=b"a,label\n1,0\n"
    )
    runtime.lambda_registry.drain(timeout=30)
    # Then it ran three times (two retries) and the event went to the dead-letter queue with the error
    sqs = runtime.client("sqs")
    messages = sqs.receive_message(
        QueueUrl=runtime.output("TriggerDeadLetterQueueUrl"), MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    ).get("Messages", [])
    [message] = messages
    assert json.loads(message["Body"])["detail"]["object"]["key"] == "incoming/dlq/a.csv"
    assert (
        message["MessageAttributes"]["ErrorMessage"]["StringValue"] == "WorkflowStartFailed: StartExecution throttled"
    )
    mine = [call for call in runtime.lambda_registry.invocations if call[0] == function]
    assert mine[-3:] == [(function, True)] * 3


def test_two_functions_with_app_py_do_not_collide(runtime: OfflineRuntime) -> None:
    """Issue 3 item 3: each function's app.py is its own module, as each Lambda function is its own container."""
    # Given two functions whose code is each an app.py
    # When both are invoked
    client = runtime.client("lambda")
    for logical_id in ("EvaluateModelFunction", "MonitorViolationFunction"):
        client.invoke(FunctionName=runtime.stack.functions[logical_id].function_name, Payload=b"{}")
    # Then each loaded its own module
    loaded = {code.module.__name__ for code in runtime.lambda_registry._functions.values() if code.module is not None}
    assert len(loaded) >= 2 and all(name.endswith("_app") for name in loaded)
    assert len(loaded) == len({code.module for code in runtime.lambda_registry._functions.values() if code.module})


def test_scheduled_rules_fire_on_the_scaled_clock(runtime: OfflineRuntime) -> None:
    """EventBridge: a rate(...) rule invokes its targets every period (moto never fires schedules);
    a constant Input replaces the Scheduled Event. The template's Sweep rule runs this way offline."""
    # Given a rule that runs a function every minute with a constant input
    function = runtime.stack.functions["EvaluateModelFunction"]
    arn = runtime.client("lambda").get_function(FunctionName=function.function_name)["Configuration"]["FunctionArn"]
    events = runtime.client("events")
    events.put_rule(Name="every-minute", ScheduleExpression="rate(1 minute)")
    events.put_targets(Rule="every-minute", Targets=[{"Id": "f", "Arn": arn, "Input": json.dumps({"metric": "auc"})}])
    # When a few wall seconds pass
    before = runtime.lambda_registry.invocations.count((function.function_name, True))
    deadline = time.monotonic() + 10
    while (
        runtime.lambda_registry.invocations.count((function.function_name, True)) < before + 2
        and time.monotonic() < deadline
    ):
        time.sleep(0.02)
    events.remove_targets(Rule="every-minute", Ids=["f"])
    # Then the function ran at least twice
    assert runtime.lambda_registry.invocations.count((function.function_name, True)) >= before + 2


def test_wait_states_run_on_the_scaled_clock(runtime: OfflineRuntime) -> None:
    """Issue 3 item 7: a one-hour Wait state does not take an hour of wall time."""
    # Given a state machine that waits an hour
    sfn = runtime.client("stepfunctions")
    arn = sfn.create_state_machine(
        name="pinned-wait",
        roleArn=ROLE,
        definition=json.dumps({"StartAt": "Bake", "States": {"Bake": {"Type": "Wait", "Seconds": 3600, "End": True}}}),
    )["stateMachineArn"]
    # When it runs
    started = time.monotonic()
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    report = runtime.follow(execution, timeout=30)
    # Then it succeeds in seconds of wall time
    assert report.status == "SUCCEEDED" and time.monotonic() - started < 10


def test_aws_sdk_sagemaker_errors_carry_the_names_aws_gives_them(runtime: OfflineRuntime) -> None:
    """Step Functions developer guide, "Handling errors in ... AWS SDK integrations": an aws-sdk task's error is
    `<Service>.<Exception>`, and an error the SDK does not model is `<Service>.<Service>Exception` - here
    `SageMaker.SageMakerException` for a ValidationException (moto says `sagemaker.sagemakerException`)."""
    # Given an aws-sdk task that shifts weights on an endpoint that does not exist, caught by AWS's error name
    sfn = runtime.client("stepfunctions")
    definition = {
        "StartAt": "Shift",
        "States": {
            "Shift": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:sagemaker:updateEndpointWeightsAndCapacities",
                "Parameters": {
                    "EndpointName": "no-such-endpoint",
                    "DesiredWeightsAndCapacities": [{"VariantName": "v", "DesiredWeight": 1}],
                },
                "Catch": [{"ErrorEquals": ["SageMaker.SageMakerException"], "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Succeed"},
        },
    }
    arn = sfn.create_state_machine(name="pinned-sdk-errors", roleArn=ROLE, definition=json.dumps(definition))[
        "stateMachineArn"
    ]
    # When it runs
    # Then the Catch on SageMaker.SageMakerException handles the error
    report = runtime.follow(sfn.start_execution(stateMachineArn=arn)["executionArn"], timeout=30)
    assert report.status == "SUCCEEDED" and [s.name for s in report.states] == ["Shift", "Caught"]


def test_a_failed_parallel_branch_fails_the_parallel_state_with_its_error(runtime: OfflineRuntime, bucket: str) -> None:
    """Step Functions developer guide, "Parallel workflow state": if any branch fails, the whole Parallel
    state fails with that error, which the Parallel state's own Catch handles - a States.TaskFailed
    from a branch's failed .sync job included (moto ended such executions with States.Runtime)."""
    # Given a Parallel state whose one branch runs a processing job, caught on States.TaskFailed
    sfn = runtime.client("stepfunctions")
    job = {
        "ProcessingJobName": "pinned-parallel-job",
        "RoleArn": ROLE,
        "AppSpecification": {"ImageUri": SKLEARN, "ContainerEntrypoint": ["python3", "-c", "pass"]},
        "ProcessingResources": {
            "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 5}
        },
    }
    branch = {
        "StartAt": "Job",
        "States": {
            "Job": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sagemaker:createProcessingJob.sync",
                "Parameters": job,
                "End": True,
            }
        },
    }
    definition = {
        "StartAt": "Both",
        "States": {
            "Both": {
                "Type": "Parallel",
                "Branches": [branch],
                "Catch": [{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.error", "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Succeed"},
        },
    }
    arn = sfn.create_state_machine(name="pinned-parallel", roleArn=ROLE, definition=json.dumps(definition))[
        "stateMachineArn"
    ]
    # When the job fails
    runtime.job_runner.fail_next("processing", "AlgorithmError: injected", name_contains="pinned-parallel-job")
    report = runtime.follow(sfn.start_execution(stateMachineArn=arn, input="{}")["executionArn"], timeout=60)
    # Then the Parallel's Catch gets the branch's States.TaskFailed with the job's cause
    assert report.status == "SUCCEEDED", report
    assert report.output is not None and report.output["error"]["Error"] == "States.TaskFailed"
    assert "injected" in report.output["error"]["Cause"]


def test_tls_only_bucket_policy_lets_https_requests_through(runtime: OfflineRuntime) -> None:
    """The template's deny-if-aws:SecureTransport-false statement never matches boto3's HTTPS requests."""
    # Given the data bucket's deny-unless-TLS policy
    s3 = runtime.client("s3")
    policy = json.loads(s3.get_bucket_policy(Bucket=runtime.output("DataBucketName"))["Policy"])
    assert policy["Statement"][0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    # When an object is written over HTTPS
    # Then the write is allowed
    s3.put_object(Bucket=runtime.output("DataBucketName"), Key="tls/ok.txt", Body=b"ok")


__all__ = ["boto3"]
