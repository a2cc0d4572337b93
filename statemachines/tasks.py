"""The kinds of Task the workflow is made of, and the Retry policies they share.

SageMaker jobs and API calls (Step Functions' own integrations), the two Lambda shapes (an ARN task whose
answer is the function's result, and `LambdaStep` whose answer is an envelope), and `failing_to`. Every
name and ARN that differs per stack or region is a `DefinitionSubstitutions` key (`SUBSTITUTIONS`).
Retry and Catch match Step Functions' own names (`States.*`, the service integrations' error names)
and the domain errors of `retrainer.errors`, never a library's exception class.
"""

from __future__ import annotations

from typing import Any

from stepfunctions.steps import Catch, LambdaStep, Parallel, Retry, Task
from stepfunctions.steps.states import State

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
    "MonitoringFunctionName",
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


class JitteredRetry(Retry):
    """`Retry` with the ASL fields the SDK predates: `MaxDelaySeconds` and `JitterStrategy`."""

    def allowed_fields(self) -> list[Any]:
        return list(super().allowed_fields())

    def is_field_allowed(self, field_name: str) -> bool:
        return field_name in {"max_delay_seconds", "jitter_strategy"} or bool(super().is_field_allowed(field_name))


def retry(errors: list[str], interval: int, attempts: int, max_delay: int) -> JitteredRetry:
    return JitteredRetry(
        error_equals=errors,
        interval_seconds=interval,
        max_attempts=attempts,
        backoff_rate=2.0,
        max_delay_seconds=max_delay,
        jitter_strategy="FULL",
    )


def select(step: State, selector: dict[str, str]) -> State:
    """`ResultSelector`: the SDK predates it; its renderer writes any field it holds in PascalCase."""
    step.fields["result_selector"] = selector
    return step


def failing_to(step: Task | Parallel, target: State) -> Task | Parallel:
    """On any error (after the step's retries), record it under `$.failure.<step>` and go to `target`."""
    step.add_catch(Catch(error_equals=["States.ALL"], next_step=target, result_path=f"$.failure.{step.state_id}"))
    return step


def job_name(kind: str) -> str:
    return f"States.Format('{{}}-{kind}-{{}}', $.run_id, {ATTEMPT_SUFFIX})"


def sagemaker_call(state_id: str, action: str, parameters: dict[str, Any], result_path: str) -> Task:
    """Step Functions' optimised SageMaker integration (request-response)."""
    return Task(
        state_id,
        resource=f"arn:aws:states:::sagemaker:{action}",
        timeout_seconds=API_TIMEOUT_SECONDS,
        result_path=result_path,
        parameters=parameters,
    )


def sdk_call(state_id: str, action: str, parameters: dict[str, Any], result_path: str) -> Task:
    """An AWS SDK integration call to SageMaker (an API the optimised integration lacks)."""
    return Task(
        state_id,
        resource=f"arn:aws:states:::aws-sdk:sagemaker:{action}",
        timeout_seconds=API_TIMEOUT_SECONDS,
        result_path=result_path,
        parameters=parameters,
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
    step.add_retry(retry(ROLLOUT_TRANSIENT, 2, 4, 30))
    return step


def coordinate(state_id: str, payload: dict[str, Any], result_path: str) -> LambdaStep:
    """A CoordinateRunsFunction action (claim, release); its answer is under `Payload`."""
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
