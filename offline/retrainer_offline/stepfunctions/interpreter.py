"""Step Functions on moto's ASL interpreter: the SageMaker integration and a scaled clock.

- `SageMakerIntegration` is the optimised `arn:aws:states:::sagemaker:*` integration moto lacks
  (it lists sagemaker as unsupported, so `.sync` fails there). Request-response calls go to the
  SageMaker API; `.sync` polls Describe until a terminal status, as AWS does: `Completed` returns the
  Describe output, `Failed` raises `States.TaskFailed` with the job's `FailureReason` as the cause,
  and `Stopped` is terminal too (`States.TaskFailed`, cause naming the stop), never polled again.
  API errors come back as `SageMaker.AmazonSageMakerException` (the name AWS gives SageMaker
  service errors in this integration), so the ASL's Retry on it works offline.
- Time follows `retrainer_offline.core.clock`: Wait states and Retry backoff wait on the execution's own
  timeline (fast-forwarded); a Task's `TimeoutSeconds` is a deadline on the Task's own timeline (what
  the Task does is compute or waiting for compute, so real time); the `.sync` integration waits on
  the job's end event (real compute time, no polling loop that fast-forwards time while a job works).
- A Parallel state fails with its failed branch's error, `States.*` names included (moto builds a
  custom error name from it and stops the execution with `States.Runtime`, so no Catch on a
  Parallel could ever see a `States.TaskFailed` from a branch).
- `arn:aws:states:::aws-sdk:sagemaker:*` errors are named as AWS names them, `SageMaker.<Exception>`
  (`SageMaker.SageMakerException` for errors the SDK does not model, e.g. throttling or validation);
  moto names them `sagemaker.sagemakerException`, which no Retry written for AWS would match.
"""

from __future__ import annotations

import copy
import json
import threading
import uuid
from collections.abc import Callable
from typing import Any, Final

from botocore.exceptions import ClientError
from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
    StatesErrorNameType,
)
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.exec import execute_state
from moto.stepfunctions.parser.asl.component.state.exec.state_parallel import branches_decl
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils, state_task_factory
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_aws_sdk,
    state_task_service_callback,
    state_task_service_sns,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import (
    ResourceCondition,
    ResourceRuntimePart,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import (
    StateTaskService,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (
    StateTaskServiceCallback,
)
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.utils.boto_client import boto_client_for
from moto.stepfunctions.parser.models import StepFunctionsParserBackend
from moto.stepfunctions.parser.utils import TMP_THREADS

from retrainer_offline.core import clock
from retrainer_offline.sagemaker import jobs

_boto_client_for = boto_client_for

SERVICE_ERROR: Final = "SageMaker.AmazonSageMakerException"
SYNC_POLL_WALL_SECONDS: Final = 0.5  # longest wait on a job's end event before Describe is called again

# .sync jobs: the create action -> (describe action, name parameter, status field)
SYNC_JOBS: Final[dict[str, tuple[str, str, str]]] = {
    "create_processing_job": ("describe_processing_job", "ProcessingJobName", "ProcessingJobStatus"),
    "create_training_job": ("describe_training_job", "TrainingJobName", "TrainingJobStatus"),
    "create_transform_job": ("describe_transform_job", "TransformJobName", "TransformJobStatus"),
}


def _jsonable(value: Any) -> Any:
    """Describe outputs carry datetimes; Step Functions state data is JSON (ISO strings)."""
    return json.loads(json.dumps(value, default=lambda v: v.isoformat() if hasattr(v, "isoformat") else str(v)))


# The optimised SageMaker integration's actions (Step Functions developer guide, "SageMaker AI").
SUPPORTED_ACTIONS: Final = {
    "createendpoint",
    "createendpointconfig",
    "createhyperparametertuningjob",
    "createlabelingjob",
    "createmodel",
    "createprocessingjob",
    "createtrainingjob",
    "createtransformjob",
    "updateendpoint",
}


class SageMakerIntegration(StateTaskServiceCallback):
    """`arn:aws:states:::sagemaker:<action>[.sync]` as Step Functions runs it."""

    def __init__(self) -> None:
        super().__init__(supported_integration_patterns={ResourceCondition.Sync, ResourceCondition.WaitForTaskToken})

    def _validate_service_integration_is_supported(self) -> None:
        if self.resource.api_action.lower() not in SUPPORTED_ACTIONS:
            raise ValueError(
                f"The resource provided {self.resource.resource_arn} not recognized. "
                "The value is not a valid resource ARN, or the resource is not available in this region."
            )

    def _client(self, part: ResourceRuntimePart, credentials: Any) -> Any:
        return _cached_client(region=part.region, service="sagemaker", state_credentials=credentials)

    def _from_error(self, env: Environment, ex: Exception) -> FailureEvent:
        if isinstance(ex, ClientError):
            return FailureEvent(
                env=env,
                error_name=CustomErrorName(SERVICE_ERROR),
                event_type=HistoryEventType.TaskFailed,
                event_details=EventDetails(
                    taskFailedEventDetails=TaskFailedEventDetails(
                        error=SERVICE_ERROR,
                        cause=f"{ex.response['Error'].get('Code')}: {ex.response['Error'].get('Message')}",
                        resource=self._get_sfn_resource(),
                        resourceType=self._get_sfn_resource_type(),
                    )
                ),
            )
        return super()._from_error(env=env, ex=ex)

    def _eval_service_task(
        self,
        env: Environment,
        resource_runtime_part: ResourceRuntimePart,
        normalised_parameters: dict[str, Any],
        state_credentials: Any,
    ) -> None:
        action = self._get_boto_service_action()
        client = self._client(resource_runtime_part, state_credentials)
        response = getattr(client, action)(**normalised_parameters)
        response.pop("ResponseMetadata", None)
        env.stack.append(_jsonable(response))

    def _build_sync_resolver(
        self,
        env: Environment,
        resource_runtime_part: ResourceRuntimePart,
        normalised_parameters: dict[str, Any],
        state_credentials: Any,
    ) -> Callable[[], Any]:
        action = self._get_boto_service_action()
        if action not in SYNC_JOBS:
            return super()._build_sync_resolver(env, resource_runtime_part, normalised_parameters, state_credentials)
        env.stack.pop()  # the create call's response; .sync returns the Describe output instead
        describe, name_field, status_field = SYNC_JOBS[action]
        client = self._client(resource_runtime_part, state_credentials)
        name = normalised_parameters[name_field]
        first = [True]

        def resolve() -> Any:
            if not first[0]:
                jobs.wait_for_end(name, SYNC_POLL_WALL_SECONDS)  # wakes the moment the job ends
            first[0] = False
            job = getattr(client, describe)(**{name_field: name})
            job.pop("ResponseMetadata", None)
            status = job[status_field]
            if status == "Completed":
                return _jsonable(job)
            if status in {"Failed", "Stopped"}:
                cause = job.get("FailureReason") or f"{name} is {status}"
                if status == "Stopped":
                    cause = f"{name} was stopped" + (f": {job['FailureReason']}" if job.get("FailureReason") else "")
                raise FailureEventException(self._task_failed(env, cause))
            return None

        return resolve

    def _task_failed(self, env: Environment, cause: str) -> FailureEvent:
        return FailureEvent(
            env=env,
            error_name=StatesErrorName(typ=StatesErrorNameType.StatesTaskFailed),
            event_type=HistoryEventType.TaskFailed,
            event_details=EventDetails(
                taskFailedEventDetails=TaskFailedEventDetails(
                    resource=self._get_sfn_resource(),
                    resourceType=self._get_sfn_resource_type(),
                    error=StatesErrorNameType.StatesTaskFailed.to_name(),
                    cause=cause,
                )
            ),
        )


def _branch_error_name(error_name: str) -> Any:
    """The error a failed Parallel branch hands to its Parallel state: `States.*` stay States errors."""
    if error_name.startswith("States."):
        return StatesErrorName.from_name(error_name)
    return CustomErrorName(error_name=error_name)


def execution_timeline(env: Environment) -> clock.Timeline:
    """The timeline of the execution `env` (or one of its frames) belongs to."""
    return clock.current().timeline(str(env.states.context_object.context_object_data["Execution"]["Id"]))


_evaluating = threading.local()  # the Environment of the Retrier being evaluated on this thread


class _TimelineTime:
    """Stands in for the `time` module where moto sleeps on purpose (Retry backoff): the execution's timeline."""

    def sleep(self, seconds: float) -> None:
        env: Environment | None = getattr(_evaluating, "env", None)
        if env is None:
            clock.current().sleep(seconds)
        else:
            execution_timeline(env).wait(seconds, env.program_state_event, env.is_running)

    def __getattr__(self, name: str) -> Any:
        import time

        return getattr(time, name)


def _retrier_eval_body(original: Callable[[Any, Environment], None]) -> Callable[[Any, Environment], None]:
    def eval_body(self: Any, env: Environment) -> None:
        _evaluating.env = env
        try:
            original(self, env)
        finally:
            _evaluating.env = None

    return eval_body


def _timeline_wait_interval(self: WaitFunction, env: Environment, wait_seconds: int) -> None:
    """A Wait state waits its seconds on the execution's timeline (and ends early if the execution stops)."""
    if wait_seconds > 0:
        execution_timeline(env).wait(wait_seconds, env.program_state_event, env.is_running)


def _evaluate_with_timeout(self: Any, env: Environment) -> None:
    """moto's ExecutionState._evaluate_with_timeout, with TimeoutSeconds a deadline on the Task's own timeline."""
    self.timeout.eval(env=env)
    timeout_seconds: int = env.stack.pop()
    frame: Environment = env.open_frame()
    frame.states.reset(input_value=env.states.get_input())
    frame.stack = copy.deepcopy(env.stack)
    execution_outputs: list[Any] = []
    execution_exceptions: list[Exception | None] = [None]
    terminated_event = threading.Event()
    decided = threading.Lock()
    outcome = {"finished": False, "timed_out": False}

    def _exec_and_notify() -> None:
        try:
            self._eval_execution(frame)
            execution_outputs.extend(frame.stack)
        except Exception as ex:
            execution_exceptions.append(ex)
        with decided:
            outcome["finished"] = not outcome["timed_out"]
        terminated_event.set()

    def _time_out() -> None:
        with decided:
            outcome["timed_out"] = not outcome["finished"]
        terminated_event.set()

    # The Task's own account: it starts with the Task and counts what the Task does (compute, waiting for its
    # job or callback: real time). Waits in other Parallel branches move the execution's timeline, never this.
    timeline = clock.Timeline(clock.current().scale)
    timeline.add_deadline(timeout_seconds, _time_out)
    thread = threading.Thread(target=_exec_and_notify, daemon=True)
    TMP_THREADS.append(thread)
    thread.start()
    terminated_event.wait()
    timeline.close()
    frame.set_ended()
    env.close_frame(frame)
    if outcome["timed_out"]:
        raise execute_state.EvalTimeoutError()
    execution_exception = execution_exceptions.pop()
    if execution_exception:
        raise execution_exception
    _finish_state_output(self, env, execution_outputs.pop())


def _finish_state_output(self: Any, env: Environment, execution_output: Any) -> None:
    env.stack.append(execution_output)
    if not self._is_language_query_jsonpath():
        env.states.set_result(execution_output)
    if self.assign_decl:
        self.assign_decl.eval(env=env)
    if self.result_selector:
        self.result_selector.eval(env=env)
    if self.result_path:
        self.result_path.eval(env)
    else:
        env.states.reset(input_value=env.stack.pop())


_clients: dict[tuple[str, str], Any] = {}


def _cached_client(region: str, service: str, state_credentials: Any = None) -> Any:
    """One client per service and region: moto builds a new boto3 client for every task (~15 ms)."""
    del state_credentials
    key = (region, service)
    if key not in _clients:
        _clients[key] = _boto_client_for(region=region, service=service)
    return _clients[key]


def _named_start_execution(original: Callable[..., Any]) -> Callable[..., Any]:
    """StartExecution without a name gets a UUID name, as on AWS (moto's interpreter uses `None`)."""

    def start_execution(backend: Any, state_machine_arn: str, name: Any = None, *args: Any, **kwargs: Any) -> Any:
        return original(backend, state_machine_arn, name or str(uuid.uuid4()), *args, **kwargs)

    return start_execution


CLIENT_USERS = (lambda_eval_utils, state_task_service_aws_sdk, state_task_service_sns)


class StepFunctionsPatch:
    """Installed handle: SageMaker integration registered, waits on the timelines; `uninstall()` restores moto."""

    def __init__(self) -> None:
        _clients.clear()
        for module in CLIENT_USERS:
            module.boto_client_for = _cached_client
        self._start_execution = StepFunctionsParserBackend.start_execution
        StepFunctionsParserBackend.start_execution = _named_start_execution(self._start_execution)
        self._factory = state_task_factory.state_task_service_for
        self._wait = WaitFunction._wait_interval
        self._retry_time = retrier_decl.time
        self._retry_eval = retrier_decl.RetrierDecl._eval_body
        self._task_timeout = execute_state.ExecutionState._evaluate_with_timeout
        self._poll = state_task_service_callback._DELAY_SECONDS_SYNC_CONDITION_CHECK
        original = self._factory

        def state_task_service_for(service_name: str) -> StateTaskService:
            if service_name == "sagemaker":
                return SageMakerIntegration()
            return original(service_name)

        state_task_factory.state_task_service_for = state_task_service_for
        branches_decl.CustomErrorName = _branch_error_name
        self._error_names = dict(state_task_service_aws_sdk._SERVICE_ERROR_NAMES)
        state_task_service_aws_sdk._SERVICE_ERROR_NAMES["sagemaker"] = "SageMaker"
        WaitFunction._wait_interval = _timeline_wait_interval
        retrier_decl.time = _TimelineTime()
        retrier_decl.RetrierDecl._eval_body = _retrier_eval_body(self._retry_eval)
        execute_state.ExecutionState._evaluate_with_timeout = _evaluate_with_timeout
        # Our resolver sleeps on the scaled clock itself; moto's own pause between polls goes away.
        state_task_service_callback._DELAY_SECONDS_SYNC_CONDITION_CHECK = 0.0

    def uninstall(self) -> None:
        _clients.clear()
        for module in CLIENT_USERS:
            module.boto_client_for = _boto_client_for
        state_task_factory.state_task_service_for = self._factory
        branches_decl.CustomErrorName = CustomErrorName
        state_task_service_aws_sdk._SERVICE_ERROR_NAMES.clear()
        state_task_service_aws_sdk._SERVICE_ERROR_NAMES.update(self._error_names)
        StepFunctionsParserBackend.start_execution = self._start_execution
        WaitFunction._wait_interval = self._wait
        retrier_decl.time = self._retry_time
        retrier_decl.RetrierDecl._eval_body = self._retry_eval
        execute_state.ExecutionState._evaluate_with_timeout = self._task_timeout
        state_task_service_callback._DELAY_SECONDS_SYNC_CONDITION_CHECK = self._poll


def install() -> StepFunctionsPatch:
    return StepFunctionsPatch()
