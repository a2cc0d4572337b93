"""The retraining state machine, written with the Step Functions Data Science SDK.

Render it with `make render` (this module's `--output`); SAM deploys the rendered
`retraining.asl.json`, filling the `${...}` names and ARNs from `DefinitionSubstitutions`.
`make test` fails when the committed file differs from a fresh render.

Flow (execution input: `retrainer.pipeline_config.RetrainingRequest`):

    Debounce (quiet window) -> ClaimTriggers -> Settled? (else Debounce again)
    -> Preprocess -> Train -> CreateModel -> RegisterModel (registry version, PendingManualApproval)
    -> FindChampion (the variant the endpoint serves, cross-checked with the registry)
    -> Validate: ScoreChallenger || ScoreChampion (the same test split, in parallel)
    -> Evaluate (both models' metrics; gate: threshold, and gain over the champion >= margin)
    -> QualityGate
        failed: RejectAtGate -> NotifyGateFailed -> ReleaseAfterGate -> QualityGateFailed
        passed: PlanRollout -> ChooseRollout
          no champion:  CreateFirstConfig -> CreateEndpoint -> AwaitFirstDeployment (verify) -> Promote
          weights:      PrepareCanary (alarms) -> CreateCanaryConfig (champion + challenger at step 1)
                        -> StartCanary (UpdateEndpoint) -> AwaitCanary (verify config + weights)
                        -> StartBake -> Bake <-> CheckAlarms (every alarm_check_seconds, bake_seconds)
                        -> NextStep -> MoreSteps? -> PickStep -> ShiftWeights -> AwaitCanary ...
                        -> ReleaseChampionScaling -> CreateLiveConfig (challenger alone) -> GoLive
                        -> AwaitLive -> Promote
          blue_green:   PrepareBlueGreen -> CreateBlueGreenConfig -> ReleaseScalingForBlueGreen
                        -> BlueGreenUpdate (DeploymentConfig + AutoRollbackConfiguration) -> AwaitBlueGreen
                        -> Promote
        Promote (Approved, auto scaling, old configs/model deleted) -> NotifyDeployed -> ReleaseAfterDeploy
    alarm, failed update, timeout, config mismatch (-> NotifyConfigMismatch) or error during a rollout:
        StartRestore -> RestoreChampion <-> WaitRestore (weights back to the champion, then its config)
        -> RejectChallenger -> NotifyRolledBack -> ReleaseAfterRollback -> RolledBack
        (champion not back in time: NotifyRollbackFailed -> ReleaseAfterFailure -> RetrainingFailed)
    any other error -> RejectAfterFailure -> NotifyFailure -> ReleaseAfterFailure -> RetrainingFailed
    (each Release gives the model back and starts one follow-up run for triggers that arrived meanwhile)

The SageMaker jobs are the SDK's generic `Task` with explicit Parameters: the SDK's
`ProcessingStep`/`TrainingStep`/`TransformStep` fix instance types, hyperparameters and paths at
render time, and here they come from each model's configuration in the execution input. Steps that
need a decision (who is the champion, did an update take, did an alarm fire) call
ManageRolloutFunction (`retrainer.services.rollout`); endpoint updates and weight shifts are the
state machine's own SageMaker calls.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stepfunctions.steps import (
    Catch,
    Chain,
    Choice,
    ChoiceRule,
    Fail,
    LambdaStep,
    Parallel,
    Pass,
    Retry,
    Succeed,
    Task,
    Wait,
)
from stepfunctions.steps.states import Graph, State

from retrainer.pipeline_config import ENDPOINT_POLL_SECONDS, EXECUTION_TIMEOUT_SECONDS

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
    "ManageRolloutFunctionName",
    "AlarmPrefix",
    "Partition",
    "Region",
    "AccountId",
)

# Rollout steps call the function by ARN (the task's result is the function's answer, not an envelope).
MANAGE_ROLLOUT_ARN = "arn:${Partition}:lambda:${Region}:${AccountId}:function:${ManageRolloutFunctionName}"

JOB_TIMEOUT_SECONDS = 2 * 3600  # a job's own MaxRuntimeInSeconds is at most 1 day; config default 1 h
API_TIMEOUT_SECONDS = 60
LAMBDA_TIMEOUT_SECONDS = 300

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
# Every ManageRolloutFunction action is idempotent, so one cut off by its timeout after it acted is retried.
ROLLOUT_TRANSIENT = [*LAMBDA_TRANSIENT, "Sandbox.Timedout"]


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


def score(state_id: str, kind: str, model_name: str, output: str, result_path: str) -> Task:
    """Batch transform of the test split with one model: `label,score` per line under `output`."""
    return Task(
        state_id,
        resource="arn:aws:states:::sagemaker:createTransformJob.sync",
        timeout_seconds=JOB_TIMEOUT_SECONDS,
        result_path=result_path,
        parameters={
            "TransformJobName.$": _job_name(kind),
            "ModelName.$": model_name,
            "BatchStrategy": "MultiRecord",
            "TransformInput": {
                "ContentType": "text/csv",
                "SplitType": "Line",
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri.$": "$.paths.test"}},
            },
            "TransformOutput": {
                "S3OutputPath.$": output,
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


def validate() -> Parallel:
    """Score the same test split with the challenger and, if a model is serving, the champion, side by side.

    The champion's branch never fails the run: a champion that cannot score the split (say its columns
    changed) is reported, and the gate falls back to the absolute threshold.
    """
    challenger = _select(
        score("ScoreChallenger", "eval", "$.training.TrainingJobName", "$.paths.transform_output", "$"),
        {"TransformJobName.$": "$.TransformJobName"},
    )
    challenger.add_retry(_retry(SAGEMAKER_TRANSIENT, 10, 4, 120))

    champion = score(
        "ScoreChampion", "champ", "$.champion.model_name", "$.paths.champion_transform_output", "$.champion_job"
    )
    champion.add_retry(_retry(SAGEMAKER_TRANSIENT, 10, 4, 120))
    scored = Pass(
        "ChampionScored",
        parameters={"evaluated": True, "output.$": "$.paths.champion_transform_output", "reason": ""},
    )
    not_scored = Pass(
        "ChampionNotScored",
        parameters={
            "evaluated": False,
            "output": "",
            "reason.$": "States.Format('the champion could not score the test split: {}', $.champion_error.Cause)",
        },
    )
    champion.add_catch(Catch(error_equals=["States.ALL"], next_step=not_scored, result_path="$.champion_error"))
    champion.next(scored)
    no_champion = Pass(
        "NoChampionToScore",
        parameters={"evaluated": False, "output": "", "reason": "no model is serving yet (first deployment)"},
    )
    has_champion = Choice("HasChampion")
    has_champion.add_choice(ChoiceRule.BooleanEquals(variable="$.champion.exists", value=True), next_step=champion)
    has_champion.default_choice(no_champion)

    both = Parallel("Validate", result_path="$.transform")
    both.add_branch(challenger)
    both.add_branch(has_champion)
    _select(both, {"challenger.$": "$[0]", "champion.$": "$[1]"})
    return both


def evaluate() -> LambdaStep:
    return LambdaStep(
        "Evaluate",
        timeout_seconds=LAMBDA_TIMEOUT_SECONDS,
        result_path="$.evaluation",
        parameters={
            "FunctionName": "${EvaluateModelFunctionArn}",
            "Payload": {
                "transform_output.$": "$.paths.transform_output",
                "champion.$": "$.transform.champion",
                "metric.$": "$.config.metric",
                "threshold.$": "$.config.threshold",
                "min_gain_over_champion.$": "$.config.min_gain_over_champion",
                "report_uri.$": "$.paths.evaluation_report",
                "run_id.$": "$.run_id",
                "correlation_id.$": "$.correlation_id",
            },
        },
    )


EVALUATION_FIELDS = (
    "metrics",
    "metric",
    "value",
    "threshold",
    "passed",
    "rows",
    "champion",
    "champion_value",
    "champion_note",
    "gain",
    "min_gain",
    "verdict",
)

# ---------------------------------------------------------------- notifications
# Every notice carries these; each outcome adds what a reader needs to act on it.
NOTICE_COMMON = {
    "model_name.$": "$.model_name",
    "run_id.$": "$.run_id",
    "execution.$": "$$.Execution.Id",
    "endpoint.$": "$.endpoint_name",
    "triggers.$": "$.claim.triggers",
    "triggers_consumed.$": "$.claim.consumed",
    "registry.$": "$.registry",
}


def notify(name: str, outcome: str, notice: dict[str, Any]) -> tuple[Pass, Task]:
    """A notice (what happened, in the run's words) and its SNS message, outcome as a message attribute.

    Returns the Pass that composes `$.notice` (the entry) and the publishing Task.
    """
    compose = Pass(f"Notice{name}", result_path="$.notice", parameters={"outcome": outcome, **NOTICE_COMMON, **notice})
    publish = Task(
        f"Notify{name}",
        resource="arn:aws:states:::sns:publish",
        timeout_seconds=API_TIMEOUT_SECONDS,
        result_path="$.notification",
        parameters={
            "TopicArn": "${NotificationTopicArn}",
            # SNS subjects are at most 100 characters: model (<= 32) and outcome fit; the run id is in the body.
            "Subject.$": f"States.Format('retrainer: {{}} {outcome}', $.model_name)",
            "Message.$": "States.JsonToString($.notice)",
            "MessageAttributes": {
                "outcome": {"DataType": "String", "StringValue": outcome},
                "model_name": {"DataType": "String", "StringValue.$": "$.model_name"},
                "run_id": {"DataType": "String", "StringValue.$": "$.run_id"},
            },
        },
    )
    publish.add_retry(_retry(SNS_TRANSIENT, 2, 3, 20))
    compose.next(publish)
    return compose, publish


def then(publish: Task, release: State) -> None:
    """A lost notification must not change how the run ends."""
    publish.add_catch(Catch(error_equals=["States.ALL"], next_step=release, result_path="$.notify_error"))
    publish.next(release)


# ---------------------------------------------------------------- steps of the state machine's Lambdas
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


def rollout_step(state_id: str, action: str, payload: dict[str, Any], result_path: str) -> Task:
    """A ManageRolloutFunction action; the function's answer lands at `result_path` as it is."""
    step = Task(
        state_id,
        resource=MANAGE_ROLLOUT_ARN,
        timeout_seconds=API_TIMEOUT_SECONDS,
        result_path=result_path,
        parameters={"action": action, "run_id.$": "$.run_id", "correlation_id.$": "$.correlation_id", **payload},
    )
    step.add_retry(_retry(ROLLOUT_TRANSIENT, 2, 4, 30))
    return step


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


def failing_to(step: Task | Parallel, target: State) -> Task | Parallel:
    """On any error (after the step's retries), record it under `$.failure.<step>` and go to `target`."""
    step.add_catch(Catch(error_equals=["States.ALL"], next_step=target, result_path=f"$.failure.{step.state_id}"))
    return step


# ---------------------------------------------------------------- endpoint configs and updates
DATA_CAPTURE = {
    "EnableCapture": True,
    "InitialSamplingPercentage.$": "$.config.data_capture_percentage",
    "DestinationS3Uri.$": "$.paths.data_capture",
    "KmsKeyId": "${DataKeyArn}",
    "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
    "CaptureContentTypeHeader": {"CsvContentTypes": ["text/csv"]},
}
CHALLENGER_VARIANT = {
    "name.$": "$.run_id",
    "model_name.$": "$.training.TrainingJobName",
    "instance_type.$": "$.config.instances.endpoint_instance_type",
    "instance_count.$": "$.config.instances.endpoint_instance_count",
}
CHALLENGER_ALONE = [{**CHALLENGER_VARIANT, "weight": 1}]
# The canary config: both variants (the champion as it serves now), weighted as the first step says.
CHAMPION_AND_CHALLENGER = [
    {
        "name.$": "$.champion.variant_name",
        "model_name.$": "$.champion.model_name",
        "instance_type.$": "$.champion.instance_type",
        "instance_count.$": "$.champion.instance_count",
        "weight.$": "$.rollout.current.champion",
    },
    {**CHALLENGER_VARIANT, "weight.$": "$.rollout.current.challenger"},
]
STEP_WEIGHTS = [
    {"name.$": "$.champion.variant_name", "weight.$": "$.rollout.current.champion"},
    {"name.$": "$.run_id", "weight.$": "$.rollout.current.challenger"},
]


def ensure_config(state_id: str, config_name: str, variants: list[dict[str, Any]]) -> Task:
    return rollout_step(
        state_id,
        "ensure_config",
        {"config_name.$": config_name, "variants": variants, "data_capture": DATA_CAPTURE},
        "$.deployment",
    )


def prepare_guards(state_id: str) -> Task:
    """The challenger variant's alarms, and the blue/green DeploymentConfig that lists them."""
    return rollout_step(
        state_id,
        "prepare_rollout",
        {
            "endpoint_name.$": "$.endpoint_name",
            "variant_name.$": "$.run_id",
            "alarm_prefix": "${AlarmPrefix}",
            "alarms.$": "$.config.rollout.alarms",
            "blue_green.$": "$.config.rollout.blue_green",
        },
        "$.guards",
    )


def release_champion_scaling(state_id: str) -> Task:
    """AWS refuses an UpdateEndpoint that removes a variant registered for auto scaling: deregister it first."""
    return rollout_step(
        state_id,
        "release_champion_scaling",
        {"endpoint_name.$": "$.endpoint_name", "champion.$": "$.champion"},
        "$.scaling_release",
    )


def switch_endpoint(state_id: str, config_name: str, extra: dict[str, Any] | None = None) -> Task:
    """UpdateEndpoint. Its answer (or its error: the update may still have happened) goes to `$.switch`,
    and the verification loop that follows decides."""
    return sagemaker_call(
        state_id,
        "updateEndpoint",
        {"EndpointName.$": "$.endpoint_name", "EndpointConfigName.$": config_name, **(extra or {})},
        "$.switch",
    )


@dataclass
class AwaitLoop:
    entry: Pass
    verify: Task
    ready: Choice


def await_endpoint(
    name: str, config_name: str, weights: list[dict[str, Any]] | None, max_polls: str, problem: State
) -> AwaitLoop:
    """Poll until the endpoint is InService on `config_name` (and the weights), then the caller goes on.

    Any other answer - SageMaker rolled the update back (another config is live), the endpoint failed,
    or the polls ran out - goes to `problem` with the verdict in `$.endpoint_check`.
    """
    start = Pass(f"Await{name}", result_path="$.endpoint_check", parameters={"polls": 0, "state": "waiting"})
    wait = Wait(f"Wait{name}", seconds=ENDPOINT_POLL_SECONDS)
    payload: dict[str, Any] = {
        "endpoint_name.$": "$.endpoint_name",
        "expected_config.$": config_name,
        "polls.$": "$.endpoint_check.polls",
        "max_polls.$": max_polls,
        "switch.$": "$.switch",
    }
    if weights is not None:
        payload["expected_weights"] = weights
    verify = rollout_step(f"Verify{name}", "verify_endpoint", payload, "$.endpoint_check")
    ready = Choice(f"{name}Ready")
    ready.add_choice(ChoiceRule.StringEquals(variable="$.endpoint_check.state", value="waiting"), next_step=wait)
    ready.default_choice(problem)
    Chain([start, wait, verify, ready])
    return AwaitLoop(start, verify, ready)


def build() -> Graph:  # noqa: PLR0915 - one flat definition reads better than many fragments
    # ---------------------------------------------------------------- ends
    failed = Fail("RetrainingFailed", error="RetrainingFailed", cause="A step failed; see the notification.")
    release_failed = release_then("ReleaseAfterFailure", "failed", failed)
    notice_failure, notify_failure = notify(
        "Failure",
        "failed",
        {"headline.$": "States.Format('{} failed; see failure', $.run_id)", "failure.$": "$.failure"},
    )
    then(notify_failure, release_failed)
    # A run that fails after registering its model leaves that version Rejected, with the error.
    reject_failed = rollout_step(
        "RejectAfterFailure",
        "reject",
        {"model_package_arn.$": "$.registry.model_package_arn", "reason.$": "States.JsonToString($.failure)"},
        "$.rejection",
    )
    reject_failed.add_catch(Catch(error_equals=["States.ALL"], next_step=notice_failure, result_path="$.reject_error"))
    reject_failed.next(notice_failure)

    def guarded(step: Task, transient: list[str], interval: int = 10) -> Task:
        step.add_retry(_retry(transient, interval, 4, 120))
        failing_to(step, reject_failed)
        return step

    deployed = Succeed("Deployed")
    release_deployed = release_then("ReleaseAfterDeploy", "deployed", deployed)
    notice_deployed, notify_deployed = notify(
        "Deployed",
        "deployed",
        {
            "headline.$": "States.Format('{} is live on {}: {}', $.run_id, $.endpoint_name, $.evaluation.verdict)",
            "evaluation.$": "$.evaluation",
            "replaced.$": "$.champion",
            "rollout": {"strategy.$": "$.config.rollout.strategy", "steps.$": "$.rollout_plan.steps"},
            "failure.$": "$.failure",
        },
    )
    then(notify_deployed, release_deployed)

    gate_failed = Fail("QualityGateFailed", error="QualityGateFailed", cause="The model did not pass the gate.")
    release_gate = release_then("ReleaseAfterGate", "rejected", gate_failed)
    notice_gate, notify_gate = notify(
        "GateFailed",
        "rejected by the quality gate",
        {
            "headline.$": "States.Format('{} rejected by the quality gate: {}', $.run_id, $.evaluation.verdict)",
            "evaluation.$": "$.evaluation",
            "champion.$": "$.champion",
        },
    )
    then(notify_gate, release_gate)
    reject_at_gate = rollout_step(
        "RejectAtGate",
        "reject",
        {"model_package_arn.$": "$.registry.model_package_arn", "reason.$": "$.evaluation.verdict"},
        "$.rejection",
    )
    reject_at_gate.add_catch(Catch(error_equals=["States.ALL"], next_step=notice_gate, result_path="$.reject_error"))
    reject_at_gate.next(notice_gate)

    rolled_back = Fail(
        "RolledBack", error="RolledBack", cause="The challenger was rolled back; the champion serves the endpoint."
    )
    release_rolled_back = release_then("ReleaseAfterRollback", "rolled back", rolled_back)
    notice_rolled_back, notify_rolled_back = notify(
        "RolledBack",
        "rolled back",
        {
            "headline.$": "States.Format('{} rolled back; {} serves {} again: {}', "
            "$.run_id, $.endpoint_name, $.champion.variant_name, $.rollback.reason)",
            "rollback.$": "$.rollback",
            "evaluation.$": "$.evaluation",
            "champion.$": "$.champion",
            "rollout": {
                "strategy.$": "$.config.rollout.strategy",
                "reached.$": "$.rollout.current",
                "steps.$": "$.rollout_plan.steps",
            },
            "restore.$": "$.restore",
        },
    )
    then(notify_rolled_back, release_rolled_back)

    # ---------------------------------------------------------------- bringing the champion back
    reject_challenger = rollout_step(
        "RejectChallenger",
        "reject",
        {
            "model_package_arn.$": "$.registry.model_package_arn",
            "reason.$": "$.rollback.reason",
            "endpoint_name.$": "$.endpoint_name",
            "champion.$": "$.champion",
            "challenger_variant.$": "$.run_id",
            "configs.$": "States.Array($.rollout_plan.canary_config, $.rollout_plan.live_config)",
            "alarm_names.$": "$.guards.alarm_names",
            "autoscaling.$": "$.config.rollout.autoscaling",
        },
        "$.rejection",
    )
    reject_challenger.add_catch(
        Catch(error_equals=["States.ALL"], next_step=notice_rolled_back, result_path="$.reject_error")
    )
    reject_challenger.next(notice_rolled_back)

    notice_unrestored, notify_unrestored = notify(
        "RollbackFailed",
        "rollback failed",
        {
            "headline.$": "States.Format('ACTION NEEDED: {} could not bring {} back on {}: {}', "
            "$.run_id, $.champion.variant_name, $.endpoint_name, $.restore.action)",
            "rollback.$": "$.rollback",
            "restore.$": "$.restore",
            "champion.$": "$.champion",
            "failure.$": "$.failure",
        },
    )
    then(notify_unrestored, release_failed)
    unrestored = Pass(
        "RollbackFailed",
        result_path="$.restore",
        parameters={"state": "failed", "action.$": "$.restore.action", "polls.$": "$.restore.polls"},
    )
    unrestored.next(notice_unrestored)

    start_restore = Pass(
        "StartRestore", result_path="$.restore", parameters={"state": "waiting", "action": "", "polls": 0}
    )
    restore = rollout_step(
        "RestoreChampion",
        "restore_champion",
        {
            "endpoint_name.$": "$.endpoint_name",
            "champion.$": "$.champion",
            "challenger_variant.$": "$.run_id",
            "polls.$": "$.restore.polls",
            "max_polls.$": "$.rollout_plan.max_restore_polls",
        },
        "$.restore",
    )
    # An update racing ours (the endpoint turned Updating between a look and a call): try again later.
    restore.add_retry(_retry(["ClientError"], 30, 6, 600))
    failing_to(restore, notice_unrestored)
    restored = Choice("Restored")
    wait_restore = Wait("WaitRestore", seconds=ENDPOINT_POLL_SECONDS)
    restored.add_choice(ChoiceRule.StringEquals(variable="$.restore.state", value="restored"), reject_challenger)
    restored.add_choice(ChoiceRule.StringEquals(variable="$.restore.state", value="waiting"), wait_restore)
    restored.default_choice(unrestored)
    wait_restore.next(restore)
    Chain([start_restore, restore, restored])

    # The reasons a rollout is undone, each recorded in `$.rollback` before the champion is restored.
    notice_mismatch, notify_mismatch = notify(
        "ConfigMismatch",
        "endpoint config mismatch",
        {
            "headline.$": "States.Format('{}: {}', $.run_id, $.endpoint_check.reason)",
            "check.$": "$.endpoint_check",
        },
    )
    then(notify_mismatch, start_restore)
    rollout_problem = Pass(
        "RolloutProblem",
        result_path="$.rollback",
        parameters={"kind.$": "$.endpoint_check.state", "reason.$": "$.endpoint_check.reason"},
    )
    is_mismatch = Choice("WasRolledBackBySageMaker")
    is_mismatch.add_choice(
        ChoiceRule.StringEquals(variable="$.endpoint_check.state", value="mismatch"), next_step=notice_mismatch
    )
    is_mismatch.default_choice(start_restore)
    rollout_problem.next(is_mismatch)
    rollout_error = Pass(
        "RolloutError",
        result_path="$.rollback",
        parameters={"kind": "error", "reason.$": "States.JsonToString($.failure)"},
    )
    rollout_error.next(start_restore)
    alarm_rollback = Pass(
        "AlarmRollback", result_path="$.rollback", parameters={"kind": "alarm", "reason.$": "$.alarm_check.reason"}
    )
    alarm_rollback.next(start_restore)

    def in_rollout(step: Task, transient: list[str] | None = None) -> Task:
        """A step once the endpoint may carry the challenger: an error brings the champion back first."""
        if transient:
            step.add_retry(_retry(transient, 10, 4, 120))
        failing_to(step, rollout_error)
        return step

    # ---------------------------------------------------------------- promotion
    promote = rollout_step(
        "Promote",
        "promote",
        {
            "model_package_arn.$": "$.registry.model_package_arn",
            "endpoint_name.$": "$.endpoint_name",
            "variant_name.$": "$.run_id",
            "champion.$": "$.champion",
            "configs.$": "States.Array($.rollout_plan.canary_config, $.champion.endpoint_config_name)",
            "champion_alarm_prefix": "${AlarmPrefix}",
            "autoscaling.$": "$.config.rollout.autoscaling",
            "metrics.$": "$.evaluation.metrics",
        },
        "$.promotion",
    )
    # The challenger is live and healthy: a failed clean-up is reported, never rolled back.
    failing_to(promote, notice_deployed)
    promote.next(notice_deployed)

    # ---------------------------------------------------------------- first deployment: no champion yet
    first_failed = Pass(
        "FirstDeploymentFailed",
        result_path="$.failure.AwaitFirstDeployment",
        parameters={"Error.$": "$.endpoint_check.state", "Cause.$": "$.endpoint_check.reason"},
    )
    first_failed.next(reject_failed)
    first_loop = await_endpoint(
        "FirstDeployment", "$.rollout_plan.live_config", None, "$.rollout_plan.max_update_polls", first_failed
    )
    failing_to(first_loop.verify, reject_failed)
    first_loop.ready.add_choice(
        ChoiceRule.StringEquals(variable="$.endpoint_check.state", value="ready"), next_step=promote
    )
    first_config = ensure_config("CreateFirstConfig", "$.rollout_plan.live_config", CHALLENGER_ALONE)
    failing_to(first_config, reject_failed)
    create_endpoint = sagemaker_call(
        "CreateEndpoint",
        "createEndpoint",
        {
            "EndpointName.$": "$.endpoint_name",
            "EndpointConfigName.$": "$.rollout_plan.live_config",
            "Tags": [{"Key": "retrainer:model", "Value.$": "$.model_name"}],
        },
        "$.switch",
    )
    create_endpoint.add_retry(_retry(SAGEMAKER_TRANSIENT, 10, 4, 120))
    # A lost answer or a refusal: the verification finds out what really happened.
    create_endpoint.add_catch(Catch(error_equals=["States.ALL"], next_step=first_loop.entry, result_path="$.switch"))
    Chain([first_config, create_endpoint, first_loop.entry])

    # ---------------------------------------------------------------- weighted canary (the default)
    live_loop = await_endpoint(
        "Live", "$.rollout_plan.live_config", None, "$.rollout_plan.max_update_polls", rollout_problem
    )
    in_rollout(live_loop.verify)
    live_loop.ready.add_choice(
        ChoiceRule.StringEquals(variable="$.endpoint_check.state", value="ready"), next_step=promote
    )
    go_live = switch_endpoint("GoLive", "$.rollout_plan.live_config")
    go_live.add_retry(_retry(SAGEMAKER_TRANSIENT, 10, 4, 120))
    go_live.add_catch(Catch(error_equals=["States.ALL"], next_step=live_loop.entry, result_path="$.switch"))
    go_live.next(live_loop.entry)
    live_config = in_rollout(ensure_config("CreateLiveConfig", "$.rollout_plan.live_config", CHALLENGER_ALONE))
    release_scaling = in_rollout(release_champion_scaling("ReleaseChampionScaling"))
    Chain([release_scaling, live_config, go_live])

    canary_loop = await_endpoint(
        "Canary", "$.rollout_plan.canary_config", STEP_WEIGHTS, "$.rollout_plan.max_update_polls", rollout_problem
    )
    in_rollout(canary_loop.verify)
    start_bake = Pass("StartBake", result_path="$.bake", parameters={"baked": 0, "since.$": "$$.State.EnteredTime"})
    canary_loop.ready.add_choice(
        ChoiceRule.StringEquals(variable="$.endpoint_check.state", value="ready"), next_step=start_bake
    )
    bake = Wait("Bake", seconds_path="$.config.rollout.alarm_check_seconds")
    check_alarms = in_rollout(
        rollout_step(
            "CheckAlarms",
            "check_alarms",
            {"alarm_names.$": "$.guards.alarm_names", "since.$": "$.bake.since", "step.$": "$.rollout.current"},
            "$.alarm_check",
        )
    )
    alarm_fired = Choice("AlarmFired")
    alarm_fired.add_choice(ChoiceRule.BooleanEquals(variable="$.alarm_check.firing", value=True), alarm_rollback)
    count_bake = Pass(
        "CountBake",
        result_path="$.bake",
        parameters={
            "since.$": "$.bake.since",
            "baked.$": "States.MathAdd($.bake.baked, $.config.rollout.alarm_check_seconds)",
        },
    )
    alarm_fired.default_choice(count_bake)
    baked = Choice("Baked")
    next_step = Pass(
        "NextStep",
        result_path="$.rollout",
        parameters={
            "strategy.$": "$.rollout.strategy",
            "index.$": "States.MathAdd($.rollout.index, 1)",
            "current.$": "$.rollout.current",
        },
    )
    baked.add_choice(
        ChoiceRule.NumericGreaterThanEqualsPath(variable="$.bake.baked", value="$.config.rollout.bake_seconds"),
        next_step=next_step,
    )
    baked.default_choice(bake)
    more_steps = Choice("MoreSteps")
    pick_step = Pass(
        "PickStep",
        result_path="$.rollout",
        parameters={
            "strategy.$": "$.rollout.strategy",
            "index.$": "$.rollout.index",
            "current.$": "States.ArrayGetItem($.rollout_plan.steps, $.rollout.index)",
        },
    )
    more_steps.add_choice(
        ChoiceRule.NumericLessThanPath(variable="$.rollout.index", value="$.rollout_plan.step_count"),
        next_step=pick_step,
    )
    more_steps.default_choice(release_scaling)
    shift = in_rollout(
        sdk_call(
            "ShiftWeights",
            "updateEndpointWeightsAndCapacities",
            {
                "EndpointName.$": "$.endpoint_name",
                "DesiredWeightsAndCapacities": [
                    {"VariantName.$": "$.champion.variant_name", "DesiredWeight.$": "$.rollout.current.champion"},
                    {"VariantName.$": "$.run_id", "DesiredWeight.$": "$.rollout.current.challenger"},
                ],
            },
            "$.switch",
        ),
        SAGEMAKER_TRANSIENT,
    )
    Chain([start_bake, bake, check_alarms, alarm_fired])
    Chain([count_bake, baked])
    Chain([next_step, more_steps])
    Chain([pick_step, shift, canary_loop.entry])

    start_canary = switch_endpoint("StartCanary", "$.rollout_plan.canary_config")
    start_canary.add_retry(_retry(SAGEMAKER_TRANSIENT, 10, 4, 120))
    start_canary.add_catch(Catch(error_equals=["States.ALL"], next_step=canary_loop.entry, result_path="$.switch"))
    prepare_canary = in_rollout(prepare_guards("PrepareCanary"))
    canary_config = in_rollout(
        ensure_config("CreateCanaryConfig", "$.rollout_plan.canary_config", CHAMPION_AND_CHALLENGER)
    )
    Chain([prepare_canary, canary_config, start_canary, canary_loop.entry])

    # ---------------------------------------------------------------- SageMaker's blue/green (configured)
    blue_green_loop = await_endpoint(
        "BlueGreen", "$.rollout_plan.live_config", None, "$.rollout_plan.max_blue_green_polls", rollout_problem
    )
    in_rollout(blue_green_loop.verify)
    blue_green_loop.ready.add_choice(
        ChoiceRule.StringEquals(variable="$.endpoint_check.state", value="ready"), next_step=promote
    )
    blue_green_update = switch_endpoint(
        "BlueGreenUpdate", "$.rollout_plan.live_config", {"DeploymentConfig.$": "$.guards.deployment_config"}
    )
    blue_green_update.add_retry(_retry(SAGEMAKER_TRANSIENT, 10, 4, 120))
    blue_green_update.add_catch(
        Catch(error_equals=["States.ALL"], next_step=blue_green_loop.entry, result_path="$.switch")
    )
    prepare_blue_green = in_rollout(prepare_guards("PrepareBlueGreen"))
    blue_green_config = in_rollout(
        ensure_config("CreateBlueGreenConfig", "$.rollout_plan.live_config", CHALLENGER_ALONE)
    )
    blue_green_scaling = in_rollout(release_champion_scaling("ReleaseScalingForBlueGreen"))
    Chain([prepare_blue_green, blue_green_config, blue_green_scaling, blue_green_update, blue_green_loop.entry])

    # ---------------------------------------------------------------- which rollout
    plan_rollout = Pass(
        "PlanRollout",
        result_path="$.rollout",
        parameters={
            "strategy.$": "$.config.rollout.strategy",
            "index": 0,
            "current.$": "States.ArrayGetItem($.rollout_plan.steps, 0)",
        },
    )
    choose = Choice("ChooseRollout")
    choose.add_choice(ChoiceRule.BooleanEquals(variable="$.champion.exists", value=False), next_step=first_config)
    choose.add_choice(
        ChoiceRule.StringEquals(variable="$.config.rollout.strategy", value="blue_green"),
        next_step=prepare_blue_green,
    )
    choose.default_choice(prepare_canary)
    plan_rollout.next(choose)

    # ---------------------------------------------------------------- training and evaluation
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
    register = failing_to(
        rollout_step(
            "RegisterModel",
            "register_model",
            {
                "model_package_group.$": "$.rollout_plan.model_package_group",
                "model_name.$": "$.model_name",
                "sagemaker_model.$": "$.training.TrainingJobName",
                "data.$": "$.data.s3_uri",
                "report_uri.$": "$.paths.evaluation_report",
                "triggers.$": "$.claim.triggers",
                "endpoint_instance_type.$": "$.config.instances.endpoint_instance_type",
                "transform_instance_type.$": "$.config.instances.transform_instance_type",
            },
            "$.registry",
        ),
        reject_failed,
    )
    find_champion = rollout_step(
        "FindChampion",
        "find_champion",
        {"endpoint_name.$": "$.endpoint_name", "model_package_group.$": "$.rollout_plan.model_package_group"},
        "$.champion",
    )
    # An endpoint still updating (a rollout of another stack, or an operator) is waited for, not fought.
    find_champion.add_retry(_retry(["EndpointBusy"], 60, 10, 600))
    failing_to(find_champion, reject_failed)
    validate_step = failing_to(validate(), reject_failed)
    evaluate_step = guarded(
        _select(evaluate(), {f"{field}.$": f"$.Payload.{field}" for field in EVALUATION_FIELDS}),
        LAMBDA_TRANSIENT,
        interval=2,
    )
    gate = Choice("QualityGate")
    gate.add_choice(ChoiceRule.BooleanEquals(variable="$.evaluation.passed", value=True), next_step=plan_rollout)
    gate.default_choice(reject_at_gate)
    Chain([preprocess_step, train_step, model_step, register, find_champion, validate_step, evaluate_step, gate])

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
                "consumed.$": "$.Payload.consumed",
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
            "retrainer: preprocess, train (built-in XGBoost), register, score challenger and champion on the "
            "same test split, gate, then roll out: first deployment, a weighted canary on the live endpoint "
            "with alarm-driven rollback, or SageMaker blue/green; notify. "
            "Rendered by statemachines/retraining_workflow.py; do not edit by hand."
        ),
        timeout_seconds=EXECUTION_TIMEOUT_SECONDS,
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
