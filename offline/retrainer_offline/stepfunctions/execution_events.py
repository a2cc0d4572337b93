"""Step Functions' EventBridge events and execution timeout, which moto's interpreter lacks.

- "Step Functions Execution Status Change": Standard workflows send one to the account's default
  event bus whenever an execution's status changes (RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED).
  The shape follows the Step Functions developer guide, "EventBridge (CloudWatch Events) for Step
  Functions execution status changes" (https://docs.aws.amazon.com/step-functions/latest/dg/cw-events.html):
  `detail` carries executionArn, stateMachineArn, name, status, startDate and stopDate (epoch
  milliseconds; stopDate null while RUNNING), input and output as JSON strings (output null unless
  SUCCEEDED) with inputDetails/outputDetails `{"included": true}`, and error/cause (null unless the
  execution failed); `resources` holds the execution ARN. moto never emits these, so a rule on them
  (the stack's "run ended without release" rule) would never fire offline.
- The state machine's top-level `TimeoutSeconds` is a deadline on the execution's timeline
  (`retrainer_offline.core.clock`): real compute counts 1:1 and waits count in emulated seconds, so machine
  load never times a run out early, and a run that waits past its timeout ends TIMED_OUT, from the
  thread whose wait reached the deadline, before the next state starts. (moto joins the execution's
  thread for that many wall seconds.) The timeline ends with the execution.
- moto's StopExecution right after StartExecution raced the execution's worker thread (`set_stop` on
  an environment not built yet): a stop now waits until the environment exists. moto's `set_stop` also
  ignores an environment whose program has no state yet (it becomes RUNNING only when `Program.eval`
  sets the start state), so a stop in that gap was lost and the run went on: the environment is RUNNING
  from the moment it exists, and a program stopped before it began ends ABORTED without running a state.
"""

from __future__ import annotations

import datetime
import json
import threading
import uuid
from typing import Any

from moto.events import models as events_models
from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent
from moto.stepfunctions.parser.asl.component.program.program import Program
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.backend import execution as execution_module
from moto.stepfunctions.parser.backend import execution_worker
from moto.stepfunctions.parser.utils import TMP_THREADS

from retrainer_offline.core import clock

DETAIL_TYPE = "Step Functions Execution Status Change"
_MOTO_PROGRAM_EVAL = Program.eval
ENV_READY_SECONDS = 60.0  # a stop waits at most this long for the execution's worker to build its environment


def _epoch_ms(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return int(value.timestamp() * 1000)
    return int(float(value) * 1000)


def status_change_event(execution: Any, status: str | None = None) -> dict[str, Any]:
    """The EventBridge event Step Functions sends for `execution`'s current status (or `status`)."""
    if status is None:
        current = execution.exec_status
        status = str(current.value if hasattr(current, "value") else current)
    succeeded = status == "SUCCEEDED"
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": DETAIL_TYPE,
        "source": "aws.states",
        "account": execution.account_id,
        "time": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": execution.region_name,
        "resources": [execution.exec_arn],
        "detail": {
            "executionArn": execution.exec_arn,
            "stateMachineArn": execution.state_machine_arn,
            "name": execution.name,
            "status": status,
            "startDate": _epoch_ms(execution.start_date),
            "stopDate": _epoch_ms(execution.stop_date) if status != "RUNNING" else None,
            "input": json.dumps(execution.input_data, separators=(",", ":")),
            "output": json.dumps(execution.output, separators=(",", ":")) if succeeded else None,
            "inputDetails": {"included": True},
            "outputDetails": {"included": True} if succeeded else None,
            "error": execution.error,
            "cause": execution.cause,
        },
    }


def send(event: dict[str, Any]) -> None:
    """Deliver to the rules of the account's default bus (AWS service events go there only)."""
    backend = events_models.events_backends[event["account"]][event["region"]]
    bus = backend.event_buses.get("default")
    if bus is None:
        return
    for rule in list(bus.rules.values()):
        rule.send_to_targets(event, transform_input=False)


def _timeline_program_eval(self: Program, env: Environment) -> None:
    """moto's Program.eval with the execution's TimeoutSeconds a deadline on its timeline.

    Parallel branches and Map iterations are Programs evaluated in frames: they run as moto runs them."""
    if env.is_frame():
        _MOTO_PROGRAM_EVAL(self, env)
        return
    timeout = self.timeout_seconds.timeout_seconds if self.timeout_seconds else None
    with env._state_mutex:  # a stop that came before the program began leaves it stopped
        if env.is_running():
            env.next_state_name = self.start_at.start_at_name
    key = str(env.states.context_object.context_object_data["Execution"]["Id"])
    timeline = clock.current().timeline(key)
    done = threading.Event()
    decided = threading.Lock()
    outcome = {"finished": False}

    def run() -> None:
        try:
            EvalComponent.eval(self, env)
        finally:
            with decided:
                outcome["finished"] = True
            done.set()

    def time_out() -> None:
        with decided:
            if not outcome["finished"]:
                env.set_timed_out()
        done.set()

    if timeout is not None:
        timeline.add_deadline(timeout, time_out)
    worker = threading.Thread(target=run, daemon=True)
    TMP_THREADS.append(worker)
    worker.start()
    done.wait()
    if outcome["finished"]:
        clock.current().end_timeline(key)
    else:  # timed out: the worker still finishes its current state and writes ExecutionTimedOut
        threading.Thread(target=_end_when_done, args=(worker, key), daemon=True).start()


def _end_when_done(worker: threading.Thread, key: str) -> None:
    worker.join()
    clock.current().end_timeline(key)


def _environment_ready(original_start: Any, original_environment: Any, original_stop: Any) -> tuple[Any, Any, Any]:
    """ExecutionWorker methods that make `stop` wait for the environment `start`'s thread builds."""

    def start(worker: Any) -> None:
        worker.retrainer_env_ready = threading.Event()
        original_start(worker)

    def get_environment(worker: Any) -> Any:
        env = original_environment(worker)
        env.next_state_name = None  # RUNNING from now on, so a stop is never ignored (see the module docstring)
        worker.env = env
        ready = getattr(worker, "retrainer_env_ready", None)
        if ready is not None:
            ready.set()
        return env

    def stop(worker: Any, *args: Any, **kwargs: Any) -> None:
        ready = getattr(worker, "retrainer_env_ready", None)
        if ready is not None:
            ready.wait(ENV_READY_SECONDS)
        if worker.env is not None:
            original_stop(worker, *args, **kwargs)

    return start, get_environment, stop


class ExecutionEventsPatch:
    """Installed handle: executions send their status changes; the timeout is a deadline on their timeline."""

    def __init__(self) -> None:
        communication = execution_module.BaseExecutionWorkerCommunication
        self._terminated = communication.terminated
        self._start = execution_module.Execution.start
        self._eval = Program.eval
        worker_class = execution_worker.ExecutionWorker
        self._worker = (worker_class.start, worker_class._get_evaluation_environment, worker_class.stop)
        (
            worker_class.start,
            worker_class._get_evaluation_environment,
            worker_class.stop,
        ) = _environment_ready(*self._worker)
        self.sent: list[dict[str, Any]] = []
        original_terminated, original_start, patch = self._terminated, self._start, self

        def terminated(comm: Any) -> None:
            original_terminated(comm)
            patch._emit(comm.execution)

        def start(execution: Any) -> None:
            patch._emit(execution, "RUNNING")  # before the worker runs: RUNNING always comes first
            original_start(execution)

        communication.terminated = terminated
        execution_module.Execution.start = start
        Program.eval = _timeline_program_eval

    def _emit(self, execution: Any, status: str | None = None) -> None:
        event = status_change_event(execution, status)
        self.sent.append(event)
        send(event)

    def uninstall(self) -> None:
        execution_module.BaseExecutionWorkerCommunication.terminated = self._terminated
        execution_module.Execution.start = self._start
        Program.eval = self._eval
        worker_class = execution_worker.ExecutionWorker
        worker_class.start, worker_class._get_evaluation_environment, worker_class.stop = self._worker


def install() -> ExecutionEventsPatch:
    return ExecutionEventsPatch()
