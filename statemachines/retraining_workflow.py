"""The retraining state machine, written with the Step Functions Data Science SDK.

Render it with `make render` (this module's `--output`); SAM deploys the rendered
`retraining.asl.json`, filling the `${...}` names and ARNs from `DefinitionSubstitutions`.
`make test` fails when the committed file differs from a fresh render.

Flow (execution input: `retrainer.pipeline_config.RetrainingRequest`):

    Debounce (quiet window) -> ClaimTriggers -> Settled? (else Debounce again)
    -> Preprocess -> Train -> CreateModel -> Validate -> Evaluate -> QualityGate
        passed: PlanDeployment -> CreateEndpointConfig -> FindEndpoint -> EndpointExists?
                -> CreateEndpoint | UpdateEndpoint -> WaitForEndpoint <-> CheckEndpoint (bounded)
                -> NotifyDeployed -> ReleaseAfterDeploy -> Deployed
        failed: NotifyGateFailed -> ReleaseAfterGate -> QualityGateFailed
    any Task error -> NotifyFailure -> ReleaseAfterFailure -> RetrainingFailed
    (each Release gives the model back and starts one follow-up run for triggers that arrived meanwhile)

The SageMaker steps are the SDK's generic `Task` with explicit Parameters: the SDK's
`ProcessingStep`/`TrainingStep`/`TransformStep` fix instance types, hyperparameters and paths at
render time, and here they come from each model's configuration in the execution input.
The deployment is split into "plan, create config, switch, wait, verify" so the weighted canary can
replace the switch without touching the rest.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from stepfunctions.steps import (
    Catch,
    Chain,
    Choice,
    ChoiceRule,
    Fail,
    LambdaStep,
    Pass,
    Retry,
    Succeed,
    Task,
    Wait,
)
from stepfunctions.steps.states import Graph, State

# Every name and ARN that differs per stack or region is a DefinitionSubstitutions key.
SUBSTITUTIONS = (
    "SageMakerRoleArn",
    "SklearnImageUri",
    "XGBoostImageUri",
    "JobCodePrefix",
    "DataKeyArn",
    "EvaluateModelFunctionArn",
    "NotificationTopicArn",
    "CoordinateRunsFunctionArn",
)

JOB_TIMEOUT_SECONDS = 2 * 3600  # a job's own MaxRuntimeInSeconds is at most 1 day; config default 1 h
API_TIMEOUT_SECONDS = 60
LAMBDA_TIMEOUT_SECONDS = 300
ENDPOINT_POLL_SECONDS = 30
ENDPOINT_MAX_POLLS = 60  # 30 minutes for an endpoint to reach InService

# A per-attempt suffix: a Retry re-evaluates Parameters, so a retried job never reuses the name of
# the attempt that failed.
ATTEMPT_SUFFIX = "States.ArrayGetItem(States.StringSplit(States.UUID(), '-'), 0)"


class JitteredRetry(Retry):
    """`Retry` with the ASL fields the SDK predates: `MaxDelaySeconds` and `JitterStrategy`."""

    def allowed_fields(self) -> list[Any]:
        return list(super().allowed_fields())

    def is_field_allowed(self, field_name: str) -> bool:
        return field_name in {"max_delay_seconds", "jitter_strategy"} or bool(super().is_field_allowed(field_name))


def _retry(errors: list[str], interval: int, attempts: int, max_delay: int) -> JitteredRetry:
    return JitteredRetry(
        error_equals=errors,
        interval_seconds=interval,
        max_attempts=attempts,
        backoff_rate=2.0,
        max_delay_seconds=max_delay,
        jitter_strategy="FULL",
    )


# Transient errors only. A job that ends Failed or Stopped raises States.TaskFailed, which is not
# retried: it is caught and notified (a Stopped job is someone's decision, not a blip).
SAGEMAKER_TRANSIENT = [
    "SageMaker.AmazonSageMakerException",
    "SageMaker.SageMakerException",
    "SageMaker.ThrottlingException",
    "ThrottlingException",
]
LAMBDA_TRANSIENT = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]
SNS_TRANSIENT = ["SNS.ThrottledException", "SNS.InternalErrorException", "States.Timeout"]


def _job_name(kind: str) -> str:
    return f"States.Format('{{}}-{kind}-{{}}', $.run_id, {ATTEMPT_SUFFIX})"


def _s3_input(name: str, uri: dict[str, str] | str, local_path: str) -> dict[str, Any]:
    source: dict[str, Any] = {
        "LocalPath": local_path,
        "S3DataType": "S3Prefix",
        "S3InputMode": "File",
        "S3DataDistributionType": "FullyReplicated",
    }
    if isinstance(uri, dict):
        source.update(uri)
    else:
        source["S3Uri"] = uri
    return {"InputName": name, "S3Input": source}


def _s3_output(name: str) -> dict[str, Any]:
    return {
        "OutputName": name,
        "S3Output": {
            "S3Uri.$": f"$.paths.{name}",
            "LocalPath": f"/opt/ml/processing/output/{name}",
            "S3UploadMode": "EndOfJob",
        },
    }


def _channel(name: str) -> dict[str, Any]:
    return {
        "ChannelName": name,
        "ContentType": "text/csv",
        "DataSource": {
            "S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3Uri.$": f"$.paths.{name}",
                "S3DataDistributionType": "FullyReplicated",
            }
        },
    }


def _select(step: State, selector: dict[str, str]) -> State:
    # The SDK predates ResultSelector; its renderer writes any field it holds in PascalCase.
    step.fields["result_selector"] = selector
    return step


def preprocess() -> Task:
    return Task(
        "Preprocess",
        resource="arn:aws:states:::sagemaker:createProcessingJob.sync",
        timeout_seconds=JOB_TIMEOUT_SECONDS,
        result_path="$.preprocessing",
        parameters={
            "ProcessingJobName.$": _job_name("prep"),
            "RoleArn": "${SageMakerRoleArn}",
            "AppSpecification": {
                "ImageUri": "${SklearnImageUri}",
                "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/preprocess.py"],
                "ContainerArguments.$": "$.preprocess_arguments",
            },
            "ProcessingInputs": [
                _s3_input("data", {"S3Uri.$": "$.data.s3_uri"}, "/opt/ml/processing/input/data"),
                _s3_input("code", "${JobCodePrefix}", "/opt/ml/processing/input/code"),
            ],
            "ProcessingOutputConfig": {
                "KmsKeyId": "${DataKeyArn}",
                "Outputs": [_s3_output("train"), _s3_output("validation"), _s3_output("test")],
            },
            "ProcessingResources": {
                "ClusterConfig": {
                    "InstanceCount": 1,
                    "InstanceType.$": "$.config.instances.processing_instance_type",
                    "VolumeSizeInGB": 30,
                    "VolumeKmsKeyId": "${DataKeyArn}",
                }
            },
            "StoppingCondition": {"MaxRuntimeInSeconds.$": "$.config.max_runtime_seconds"},
            "Environment": {
                "RETRAINER_RUN_ID.$": "$.run_id",
                "RETRAINER_CORRELATION_ID.$": "$.correlation_id",
            },
        },
    )


def train() -> Task:
    return Task(
        "Train",
        resource="arn:aws:states:::sagemaker:createTrainingJob.sync",
        timeout_seconds=JOB_TIMEOUT_SECONDS,
        result_path="$.training",
        parameters={
            "TrainingJobName.$": _job_name("train"),
            "RoleArn": "${SageMakerRoleArn}",
            "AlgorithmSpecification": {"TrainingImage": "${XGBoostImageUri}", "TrainingInputMode": "File"},
            "HyperParameters.$": "$.config.hyperparameters",
            "InputDataConfig": [_channel("train"), _channel("validation")],
            "OutputDataConfig": {"S3OutputPath.$": "$.paths.model_output", "KmsKeyId": "${DataKeyArn}"},
            "ResourceConfig": {
                "InstanceCount": 1,
                "InstanceType.$": "$.config.instances.training_instance_type",
                "VolumeSizeInGB": 30,
                "VolumeKmsKeyId": "${DataKeyArn}",
            },
            "StoppingCondition": {"MaxRuntimeInSeconds.$": "$.config.max_runtime_seconds"},
            "Tags": [{"Key": "retrainer:run", "Value.$": "$.run_id"}],
        },
    )


def create_model() -> Task:
    return Task(
        "CreateModel",
        resource="arn:aws:states:::sagemaker:createModel",
        timeout_seconds=API_TIMEOUT_SECONDS,
        result_path="$.model",
        parameters={
            # The training job's name is unique per attempt; the model takes it.
            "ModelName.$": "$.training.TrainingJobName",
            "ExecutionRoleArn": "${SageMakerRoleArn}",
            "PrimaryContainer": {
                "Image": "${XGBoostImageUri}",
                "ModelDataUrl.$": "$.training.ModelArtifacts",
            },
        },
    )


def validate() -> Task:
    return Task(
        "Validate",
        resource="arn:aws:states:::sagemaker:createTransformJob.sync",
        timeout_seconds=JOB_TIMEOUT_SECONDS,
        result_path="$.transform",
        parameters={
            "TransformJobName.$": _job_name("eval"),
            "ModelName.$": "$.training.TrainingJobName",
            "BatchStrategy": "MultiRecord",
            "TransformInput": {
                "ContentType": "text/csv",
                "SplitType": "Line",
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri.$": "$.paths.test"}},
            },
            "TransformOutput": {
                "S3OutputPath.$": "$.paths.transform_output",
                "Accept": "text/csv",
                "AssembleWith": "Line",
                "KmsKeyId": "${DataKeyArn}",
            },
            "TransformResources": {
                "InstanceCount": 1,
                "InstanceType.$": "$.config.instances.transform_instance_type",
            },
            # The test split has the label first: send the features, keep `label,score` per line.
            "DataProcessing": {"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,-1]"},
        },
    )


def evaluate() -> LambdaStep:
    return LambdaStep(
        "Evaluate",
        timeout_seconds=LAMBDA_TIMEOUT_SECONDS,
        result_path="$.evaluation",
        parameters={
            "FunctionName": "${EvaluateModelFunctionArn}",
            "Payload": {
                "transform_output.$": "$.paths.transform_output",
                "metric.$": "$.config.metric",
                "threshold.$": "$.config.threshold",
                "run_id.$": "$.run_id",
                "correlation_id.$": "$.correlation_id",
            },
        },
    )


def notify(state_id: str, outcome: str) -> Task:
    return Task(
        state_id,
        resource="arn:aws:states:::sns:publish",
        timeout_seconds=API_TIMEOUT_SECONDS,
        result_path="$.notification",
        parameters={
            "TopicArn": "${NotificationTopicArn}",
            "Subject.$": f"States.Format('retrainer: {{}} {outcome} ({{}})', $.model_name, $.run_id)",
            "Message.$": "States.JsonToString($)",
            "MessageAttributes": {
                "outcome": {"DataType": "String", "StringValue": outcome},
                "model_name": {"DataType": "String", "StringValue.$": "$.model_name"},
            },
        },
    )


def sagemaker_call(state_id: str, action: str, parameters: dict[str, Any], result_path: str) -> Task:
    return Task(
        state_id,
        resource=f"arn:aws:states:::sagemaker:{action}",
        timeout_seconds=API_TIMEOUT_SECONDS,
        result_path=result_path,
        parameters=parameters,
    )


def sdk_call(state_id: str, action: str, parameters: dict[str, Any], result_path: str) -> Task:
    return Task(
        state_id,
        resource=f"arn:aws:states:::aws-sdk:sagemaker:{action}",
        timeout_seconds=API_TIMEOUT_SECONDS,
        result_path=result_path,
        parameters=parameters,
    )


def coordinate(state_id: str, payload: dict[str, Any], result_path: str) -> LambdaStep:
    return LambdaStep(
        state_id,
        timeout_seconds=API_TIMEOUT_SECONDS,
        result_path=result_path,
        parameters={
            "FunctionName": "${CoordinateRunsFunctionArn}",
            "Payload": {
                "model_name.$": "$.model_name",
                "run_id.$": "$.run_id",
                "correlation_id.$": "$.correlation_id",
                **payload,
            },
        },
    )


def release_then(state_id: str, outcome: str, end: State) -> LambdaStep:
    """Every end goes through here: give the model back and start the follow-up run if triggers wait."""
    step = _select(
        coordinate(state_id, {"action": "release", "outcome": outcome}, "$.release"),
        {"follow_up.$": "$.Payload.follow_up"},
    )
    step.add_retry(_retry(LAMBDA_TRANSIENT, 2, 4, 30))
    # The lock expires on its own; an end state must be reached even if the release cannot run.
    step.add_catch(Catch(error_equals=["States.ALL"], next_step=end, result_path="$.release_error"))
    step.next(end)
    return step


def build() -> Graph:  # noqa: PLR0915 - one flat definition reads better than many fragments
    failed = Fail("RetrainingFailed", error="RetrainingFailed", cause="A step failed; see the notification.")
    release_failed = release_then("ReleaseAfterFailure", "failed", failed)
    notify_failure = notify("NotifyFailure", "failed")
    notify_failure.add_retry(_retry(SNS_TRANSIENT, 2, 3, 20))
    notify_failure.add_catch(Catch(error_equals=["States.ALL"], next_step=release_failed, result_path="$.notify_error"))
    notify_failure.next(release_failed)

    def guarded(step: Task, transient: list[str], interval: int = 10) -> Task:
        step.add_retry(_retry(transient, interval, 4, 120))
        step.add_catch(Catch(error_equals=["States.ALL"], next_step=notify_failure, result_path="$.error"))
        return step

    preprocess_step = guarded(
        _select(preprocess(), {"ProcessingJobName.$": "$.ProcessingJobName"}),
        SAGEMAKER_TRANSIENT,
    )
    train_step = guarded(
        _select(
            train(),
            {
                "TrainingJobName.$": "$.TrainingJobName",
                "ModelArtifacts.$": "$.ModelArtifacts.S3ModelArtifacts",
                "FinalMetricDataList.$": "$.FinalMetricDataList",
            },
        ),
        SAGEMAKER_TRANSIENT,
    )
    model_step = guarded(_select(create_model(), {"ModelArn.$": "$.ModelArn"}), SAGEMAKER_TRANSIENT)
    validate_step = guarded(
        _select(validate(), {"TransformJobName.$": "$.TransformJobName"}),
        SAGEMAKER_TRANSIENT,
    )
    evaluate_step = guarded(
        _select(
            evaluate(),
            {
                "metrics.$": "$.Payload.metrics",
                "metric.$": "$.Payload.metric",
                "value.$": "$.Payload.value",
                "threshold.$": "$.Payload.threshold",
                "passed.$": "$.Payload.passed",
                "rows.$": "$.Payload.rows",
            },
        ),
        LAMBDA_TRANSIENT,
        interval=2,
    )

    # Quality gate: a model below the bar is reported and never reaches the endpoint.
    notify_gate = notify("NotifyGateFailed", "rejected by the quality gate")
    gate_failed = Fail("QualityGateFailed", error="QualityGateFailed", cause="The model did not pass the gate.")
    release_gate = release_then("ReleaseAfterGate", "rejected", gate_failed)
    notify_gate.add_retry(_retry(SNS_TRANSIENT, 2, 3, 20))
    notify_gate.add_catch(Catch(error_equals=["States.ALL"], next_step=release_gate, result_path="$.notify_error"))
    notify_gate.next(release_gate)

    # Deployment: plan the names once (a Retry of a later step reuses them, so a retried step never
    # creates a second endpoint config), create the config, create or update the endpoint, then poll.
    plan = Pass(
        "PlanDeployment",
        result_path="$.deployment",
        parameters={
            "endpoint_config_name.$": f"States.Format('{{}}-cfg-{{}}', $.run_id, {ATTEMPT_SUFFIX})",
            "variant_name.$": "$.run_id",
            "polls": {"value": 0},
        },
    )
    endpoint_config = guarded(
        sagemaker_call(
            "CreateEndpointConfig",
            "createEndpointConfig",
            {
                "EndpointConfigName.$": "$.deployment.endpoint_config_name",
                "KmsKeyId": "${DataKeyArn}",
                "ProductionVariants": [
                    {
                        "VariantName.$": "$.deployment.variant_name",
                        "ModelName.$": "$.training.TrainingJobName",
                        "InitialInstanceCount.$": "$.config.instances.endpoint_instance_count",
                        "InstanceType.$": "$.config.instances.endpoint_instance_type",
                        "InitialVariantWeight": 1,
                    }
                ],
                "DataCaptureConfig": {
                    "EnableCapture": True,
                    "InitialSamplingPercentage.$": "$.config.data_capture_percentage",
                    "DestinationS3Uri.$": "$.paths.data_capture",
                    "KmsKeyId": "${DataKeyArn}",
                    "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
                    "CaptureContentTypeHeader": {"CsvContentTypes": ["text/csv"]},
                },
            },
            "$.deployment.created_config",
        ),
        SAGEMAKER_TRANSIENT,
    )
    find_endpoint = guarded(
        _select(
            sdk_call("FindEndpoint", "listEndpoints", {"NameContains.$": "$.endpoint_name"}, "$.lookup"),
            {"names.$": "$.Endpoints[*].EndpointName"},
        ),
        SAGEMAKER_TRANSIENT,
    )
    exists = Pass(
        "EndpointExists",
        result_path="$.lookup",
        parameters={"exists.$": "States.ArrayContains($.lookup.names, $.endpoint_name)"},
    )
    switch = Choice("CreateOrUpdate")
    create_endpoint = guarded(
        sagemaker_call(
            "CreateEndpoint",
            "createEndpoint",
            {
                "EndpointName.$": "$.endpoint_name",
                "EndpointConfigName.$": "$.deployment.endpoint_config_name",
                "Tags": [{"Key": "retrainer:model", "Value.$": "$.model_name"}],
            },
            "$.deployment.switch",
        ),
        SAGEMAKER_TRANSIENT,
    )
    update_endpoint = guarded(
        sagemaker_call(
            "UpdateEndpoint",
            "updateEndpoint",
            {
                "EndpointName.$": "$.endpoint_name",
                "EndpointConfigName.$": "$.deployment.endpoint_config_name",
            },
            "$.deployment.switch",
        ),
        SAGEMAKER_TRANSIENT,
    )
    wait = Wait("WaitForEndpoint", seconds=ENDPOINT_POLL_SECONDS)
    check = guarded(
        _select(
            sdk_call("CheckEndpoint", "describeEndpoint", {"EndpointName.$": "$.endpoint_name"}, "$.endpoint"),
            {"status.$": "$.EndpointStatus", "config.$": "$.EndpointConfigName"},
        ),
        SAGEMAKER_TRANSIENT,
    )
    count = Pass(
        "CountPoll",
        result_path="$.deployment.polls",
        parameters={"value.$": "States.MathAdd($.deployment.polls.value, 1)"},
    )
    endpoint_ready = Choice("EndpointReady")
    notify_deployed = notify("NotifyDeployed", "deployed")
    deployed = Succeed("Deployed")
    release_deployed = release_then("ReleaseAfterDeploy", "deployed", deployed)
    notify_deployed.add_retry(_retry(SNS_TRANSIENT, 2, 3, 20))
    # The model is live: a lost notification must not turn a deployed run into a failed one.
    notify_deployed.add_catch(
        Catch(error_equals=["States.ALL"], next_step=release_deployed, result_path="$.notify_error")
    )
    notify_deployed.next(release_deployed)
    not_ready = Pass(
        "EndpointNotReady",
        result_path="$.error",
        parameters={
            "Error": "EndpointNotInService",
            "Cause.$": "States.Format('Endpoint {} is {} with config {} (expected {} InService)', "
            "$.endpoint_name, $.endpoint.status, $.endpoint.config, $.deployment.endpoint_config_name)",
        },
    )
    not_ready.next(notify_failure)

    gate = Choice("QualityGate")
    gate.add_choice(ChoiceRule.BooleanEquals(variable="$.evaluation.passed", value=True), next_step=plan)
    gate.default_choice(notify_gate)

    switch.add_choice(ChoiceRule.BooleanEquals(variable="$.lookup.exists", value=True), next_step=update_endpoint)
    switch.default_choice(create_endpoint)
    create_endpoint.next(wait)
    update_endpoint.next(wait)

    ours = ChoiceRule.StringEqualsPath(variable="$.endpoint.config", value="$.deployment.endpoint_config_name")
    endpoint_ready.add_choice(
        ChoiceRule.And([ChoiceRule.StringEquals(variable="$.endpoint.status", value="InService"), ours]),
        next_step=notify_deployed,
    )
    # InService on another config: SageMaker rolled the update back. Failed: it never came up.
    endpoint_ready.add_choice(ChoiceRule.StringEquals(variable="$.endpoint.status", value="InService"), not_ready)
    endpoint_ready.add_choice(ChoiceRule.StringEquals(variable="$.endpoint.status", value="Failed"), not_ready)
    endpoint_ready.add_choice(
        ChoiceRule.NumericGreaterThanEquals(variable="$.deployment.polls.value", value=ENDPOINT_MAX_POLLS),
        next_step=not_ready,
    )
    endpoint_ready.default_choice(wait)

    Chain([wait, check, count, endpoint_ready])
    Chain([plan, endpoint_config, find_endpoint, exists, switch])
    Chain([preprocess_step, train_step, model_step, validate_step, evaluate_step, gate])

    # Debounce: wait for a quiet window, then claim every pending trigger of the model (or wait again).
    debounce = Wait("Debounce", seconds_path="$.config.quiet_window_seconds")
    claim = guarded(
        _select(
            coordinate(
                "ClaimTriggers",
                {"action": "claim", "seen_seq.$": "$.claim.seen_seq", "round.$": "$.claim.round"},
                "$.claim",
            ),
            {
                "settled.$": "$.Payload.settled",
                "seen_seq.$": "$.Payload.seen_seq",
                "round.$": "$.Payload.round",
                "triggers.$": "$.Payload.triggers",
            },
        ),
        LAMBDA_TRANSIENT,
        interval=2,
    )
    settled = Choice("Settled")
    settled.add_choice(ChoiceRule.BooleanEquals(variable="$.claim.settled", value=True), next_step=preprocess_step)
    settled.default_choice(debounce)
    main = Chain([debounce, claim, settled])
    return Graph(
        main,
        comment=(
            "retrainer: preprocess, train (built-in XGBoost), create model, batch-transform validation, "
            "evaluate against the quality gate, deploy to the model's endpoint, notify. "
            "Rendered by statemachines/retraining_workflow.py; do not edit by hand."
        ),
        timeout_seconds=6 * 3600,
    )


def render() -> str:
    definition = json.loads(build().to_json())
    return json.dumps(definition, indent=2, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render the retraining state machine to ASL.")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--output", type=Path, help="write the ASL here")
    mode.add_argument("--check", type=Path, help="fail if this file differs from a fresh render")
    args = parser.parse_args(argv)
    text = render()
    if args.output is not None:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
        return 0
    current = args.check.read_text(encoding="utf-8") if args.check.exists() else ""
    if current != text:
        print(f"{args.check} is stale: run `make render` and commit the result", file=sys.stderr)
        return 1
    print(f"{args.check} is current")
    return 0


if __name__ == "__main__":
    sys.exit(main())
