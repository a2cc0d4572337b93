"""The offline runtime: one context manager that emulates the stack's AWS side on this machine.

    with OfflineRuntime() as runtime:          # moto + the runtime's patches + template.yaml deployed
        runtime.upload("breast-cancer", "part-1.csv", body)
        execution = runtime.next_execution()
        runtime.follow(execution, on_state=print)

Everything the deployed stack does goes through the ordinary boto3 clients: the runtime never
calls a handler or a job directly, it deploys template.yaml and lets events flow.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

import boto3
from moto import mock_aws

from retrainer_offline.awslambda import functions as lambdas
from retrainer_offline.awslambda.functions import LambdaRegistry
from retrainer_offline.cloudformation import stacks
from retrainer_offline.cloudformation.handles import DeployedStack
from retrainer_offline.cloudwatch import alarms
from retrainer_offline.core import clock, faults, transport
from retrainer_offline.core.faults import FaultInjector
from retrainer_offline.eventbridge import rules as eventbridge
from retrainer_offline.eventbridge import scheduler
from retrainer_offline.sagemaker import endpoints, jobs
from retrainer_offline.sagemaker.endpoints import EndpointsPatch
from retrainer_offline.sagemaker.jobs import JobRunner
from retrainer_offline.stepfunctions import execution_events
from retrainer_offline.stepfunctions import interpreter as stepfunctions

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
# Lambda keeps moto's Docker backend class: its one Docker call, `_invoke_lambda`, is replaced in-process.
MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}}


T = TypeVar("T")


@dataclass(frozen=True)
class StackBuckets:
    """The stack's buckets: uploads go to `data` under `data_prefix`; configs and models live in `artifacts`."""

    data: str
    data_prefix: str
    artifacts: str


def _started(handle: T | None) -> T:
    if handle is None:
        raise RuntimeError("the offline runtime is not started (use it as a context manager)")
    return handle


class _Handle(Protocol):
    def uninstall(self) -> None: ...


@dataclass
class StateRun:
    """One state of an execution as the history shows it."""

    name: str
    state_type: str
    entered: datetime
    exited: datetime | None = None
    failed: str | None = None

    @property
    def seconds(self) -> float:
        return ((self.exited or self.entered) - self.entered).total_seconds()


@dataclass
class ExecutionReport:
    arn: str
    name: str
    status: str
    states: list[StateRun] = field(default_factory=list)
    output: dict[str, Any] | None = None
    error: str | None = None
    # The run's data where it ended: the output when it succeeded, else the last state's output (a failed
    # execution has no output on AWS either; its history keeps what each state passed on).
    final_state: dict[str, Any] = field(default_factory=dict)
    cause: str | None = None
    seconds: float = 0.0


class OfflineRuntime:
    """moto in-process, the runtime's AWS imitations installed, and template.yaml deployed."""

    def __init__(
        self,
        stack_name: str = "retrainer",
        parameters: dict[str, str] | None = None,
        clock_scale: float = 0.001,
        template: Path = TEMPLATE,
        schedules: bool = False,
    ) -> None:
        self.stack_name = stack_name
        self.parameters = parameters or {}
        self.clock = clock.ScaledClock(scale=clock_scale)
        self.template = template
        self._exit = ExitStack()
        self.stack: DeployedStack | None = None
        self.deploy_seconds = 0.0
        self._job_runner: JobRunner | None = None
        self._lambda_registry: LambdaRegistry | None = None
        self._endpoints: EndpointsPatch | None = None
        self._faults: FaultInjector | None = None
        self._alarms: alarms.AlarmEvaluator | None = None
        self.scheduler: scheduler.SchedulerImitation | None = None
        # EventBridge Scheduler schedules fire on the clock only when asked (the monitoring loop): elsewhere a
        # promoted model's hourly monitoring would judge each test's few requests as drift and retrain.
        self.schedules = schedules
        self._seen_executions: set[str] = set()

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> OfflineRuntime:
        try:
            self._start()
        except BaseException:
            self._exit.close()
            raise
        return self

    def _start(self) -> None:
        # moto's interpreter logs every Fail state it runs at ERROR with its internal repr; a run that ends
        # in a Fail state on purpose (gate, rollback) is reported by the execution itself.
        logging.getLogger("moto.stepfunctions.parser.asl.component.eval_component").setLevel(logging.CRITICAL)
        # Everything here is the emulated us-east-1; nothing may pick up a real profile or region.
        for key, value in {"AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"}.items():
            os.environ[key] = value
        os.environ.pop("AWS_PROFILE", None)
        # A shell set up to talk to `retrainer serve` has AWS_ENDPOINT_URL: the runtime's own clients stay in-process.
        for key in [k for k in os.environ if k == "AWS_ENDPOINT_URL" or k.startswith("AWS_ENDPOINT_URL_")]:
            os.environ.pop(key)
        mock = mock_aws(config=MOTO_CONFIG)
        mock.start()
        self._exit.callback(mock.stop)
        previous = clock.current()
        clock.use(self.clock)
        self._exit.callback(clock.use, previous)
        registry = self._lambda_registry = lambdas.LambdaRegistry()
        self._install(transport.install())
        self._faults = faults.install()
        self._install(self._faults)
        self._install(lambdas.install(registry))
        self._install(stepfunctions.install())
        self._install(execution_events.install())
        jobs.warm_up()  # the job-process server imports XGBoost once, while the stack deploys
        self._job_runner = jobs.install()
        self._install(self._job_runner)
        self._endpoints = endpoints.install()
        self._install(self._endpoints)
        self._install(eventbridge.install(registry))
        self._alarms = alarms.install()
        self.scheduler = scheduler.install(self.schedules)  # EventBridge Scheduler schedules (scheduler.py)
        self._install(self.scheduler)
        self._install(self._alarms)
        started = time.perf_counter()
        self.stack = stacks.deploy(
            self.template,
            self.stack_name,
            self.parameters,
            on_function=lambda f: registry.register(
                f.function_name, f.code_dir, f.handler, f.layer_dirs, f.dead_letter_target
            ),
        )
        self.deploy_seconds = time.perf_counter() - started

    @property
    def alarms(self) -> alarms.AlarmEvaluator:
        """The CloudWatch alarm evaluator (`evaluate_now()` judges every alarm at once)."""
        return _started(self._alarms)

    @property
    def lambda_registry(self) -> LambdaRegistry:
        """The functions of the stack as Lambda runs them here (their logs, `drain()`)."""
        return _started(self._lambda_registry)

    @property
    def job_runner(self) -> JobRunner:
        """SageMaker's processing, training and transform jobs, each in its own process."""
        return _started(self._job_runner)

    @property
    def endpoints(self) -> EndpointsPatch:
        """SageMaker endpoints that serve (faults: `fail_variant`, `slow_variant`, ...)."""
        return _started(self._endpoints)

    @property
    def faults(self) -> FaultInjector:
        """Fault injection: the next N calls of an API answer with a service error."""
        return _started(self._faults)

    @property
    def deployed(self) -> DeployedStack:
        """The stack template.yaml created (its resources, outputs and functions)."""
        return _started(self.stack)

    @property
    def buckets(self) -> StackBuckets:
        """The stack's buckets, by what they hold."""
        return StackBuckets(
            data=self.output("DataBucketName"),
            data_prefix=self.output("DataPrefix"),
            artifacts=self.output("ArtifactsBucketName"),
        )

    def _install(self, handle: _Handle) -> None:
        self._exit.callback(handle.uninstall)

    def __exit__(self, *exc: object) -> None:
        try:
            self.drain()
        finally:
            self._exit.close()

    def drain(self, timeout: float = 600) -> None:
        """Wait for running executions, jobs and async invocations: nothing may outlive the mock."""
        deadline = time.monotonic() + timeout
        if self.stack is not None:
            sfn = self.client("stepfunctions")
            for arn in self.stack.state_machine_arns.values():
                while time.monotonic() < deadline:
                    running = sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"]
                    if not running:
                        break
                    time.sleep(0.05)
        for tracker in (self._job_runner, self._lambda_registry, self._endpoints):
            if tracker is not None:
                tracker.drain(max(1.0, deadline - time.monotonic()))

    # ------------------------------------------------------------------ conveniences
    def client(self, service: str) -> Any:
        return boto3.client(service, region_name="us-east-1")  # type: ignore[call-overload]

    def output(self, name: str) -> str:
        return self.deployed.output(name)

    @property
    def state_machine_arn(self) -> str:
        return self.output("StateMachineArn")

    def upload(self, model: str, name: str, body: bytes) -> str:
        buckets = self.buckets
        key = f"{buckets.data_prefix}{model}/{name}"
        self.client("s3").put_object(Bucket=buckets.data, Key=key, Body=body)
        return key

    def put_model_config(self, model: str, document: dict[str, Any]) -> None:
        self.client("s3").put_object(
            Bucket=self.buckets.artifacts, Key=f"config/{model}.json", Body=json.dumps(document)
        )

    def put_event(self, event: dict[str, Any]) -> None:
        """Put an AWS-shaped event on the default bus, as the service that owns it would."""
        entry = {
            "Source": event["source"],
            "DetailType": event["detail-type"],
            "Detail": json.dumps(event["detail"]),
            "Resources": event.get("resources", []),
        }
        response = self.client("events").put_events(Entries=[entry])
        if response.get("FailedEntryCount"):
            raise RuntimeError(f"put_events failed: {response['Entries']}")

    def executions(self) -> list[dict[str, Any]]:
        for _ in range(50):
            try:
                listed: list[dict[str, Any]] = self.client("stepfunctions").list_executions(
                    stateMachineArn=self.state_machine_arn
                )["executions"]
            except AttributeError:
                # moto lists an execution that is being created before it has a status; look again.
                time.sleep(0.01)
                continue
            return sorted(listed, key=lambda e: e["startDate"])
        raise RuntimeError("list_executions kept failing on an execution without a status")

    def next_execution(self, timeout: float = 60, model: str | None = None) -> str:
        """The ARN of the next execution a trigger starts (one not returned before); of `model`'s runs, if given.

        Give `model` when other work may start runs meanwhile: a run left over from an earlier test (or
        another model) is otherwise what this returns."""
        deadline = time.monotonic() + timeout
        prefix = f"{model}-" if model else ""
        while time.monotonic() < deadline:
            for execution in self.executions():
                # By name: after UpdateStateMachine moto may list an execution under another ARN spelling.
                if execution["name"] not in self._seen_executions and execution["name"].startswith(prefix):
                    self._seen_executions.add(execution["name"])
                    return str(execution["executionArn"])
            time.sleep(0.02)
        raise TimeoutError(f"no new execution started within {timeout} s")

    def follow(
        self, execution_arn: str, on_state: Callable[[StateRun], None] | None = None, timeout: float = 600
    ) -> ExecutionReport:
        """Follow an execution live: call `on_state` as each state exits; return the report."""
        sfn = self.client("stepfunctions")
        deadline = time.monotonic() + timeout
        reported = 0
        states: list[StateRun] = []
        while True:
            description = sfn.describe_execution(executionArn=execution_arn)
            events = _history(sfn, execution_arn)
            states = _state_runs(events)
            finished = [s for s in states if s.exited is not None or s.failed]
            for state in finished[reported:]:
                if on_state is not None:
                    on_state(state)
            reported = len(finished)
            if description["status"] in TERMINAL:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{execution_arn} still {description['status']} after {timeout} s")
            time.sleep(0.05)
        stopped = description.get("stopDate") or description["startDate"]
        output = json.loads(description["output"]) if description.get("output") else None
        return ExecutionReport(
            arn=execution_arn,
            name=description["name"],
            status=description["status"],
            states=states,
            output=output,
            final_state=output if output is not None else _last_state_output(events),
            error=description.get("error"),
            cause=description.get("cause"),
            seconds=(stopped - description["startDate"]).total_seconds(),
        )


def _history(sfn: Any, execution_arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**kwargs)
        events += page["events"]
        if not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]


def _last_state_output(events: list[dict[str, Any]]) -> dict[str, Any]:
    for event in reversed(events):
        details = event.get("stateExitedEventDetails")
        if details and details.get("output"):
            output = json.loads(details["output"])
            return output if isinstance(output, dict) else {}
    return {}


def _state_runs(events: list[dict[str, Any]]) -> list[StateRun]:
    runs: list[StateRun] = []
    open_by_name: dict[str, StateRun] = {}
    for event in events:
        kind = event["type"]
        if kind.endswith("StateEntered"):
            details = event["stateEnteredEventDetails"]
            run = StateRun(
                name=details["name"], state_type=kind.removesuffix("StateEntered"), entered=event["timestamp"]
            )
            open_by_name[run.name] = run
            runs.append(run)
        elif kind.endswith("StateExited"):
            name = event["stateExitedEventDetails"]["name"]
            if name in open_by_name:
                open_by_name.pop(name).exited = event["timestamp"]
        elif kind in {"TaskFailed", "LambdaFunctionFailed", "ExecutionFailed"}:
            failure: dict[str, Any] = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
            for run in open_by_name.values():
                run.failed = f"{failure.get('error', kind)}: {str(failure.get('cause', ''))[:300]}"
    return runs


@contextmanager
def running(**kwargs: Any) -> Iterator[OfflineRuntime]:
    with OfflineRuntime(**kwargs) as runtime:
        yield runtime
