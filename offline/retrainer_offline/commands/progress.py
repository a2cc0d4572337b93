"""Live progress of retraining runs, read from what AWS keeps: the execution history and CloudWatch Logs.

Each state is shown when it starts and when it ends (with its duration and the run's elapsed time), a
job's log lines are shown prefixed with its state, a heartbeat names the states still running during a
long wait, and states of parallel branches are shown in the order they really end. Only boto3 clients
are used, so the same view follows a run on AWS (`retrainer follow RUN`) and under `retrainer serve`.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.markup import escape

TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
ENDED = {
    "ExecutionSucceeded": "SUCCEEDED",
    "ExecutionFailed": "FAILED",
    "ExecutionAborted": "ABORTED",
    "ExecutionTimedOut": "TIMED_OUT",
}
# The Step Functions SageMaker integrations: the request parameter naming the job, and its log group.
JOB_RESOURCES = {
    "createProcessingJob": ("ProcessingJobName", "/aws/sagemaker/ProcessingJobs"),
    "createTrainingJob": ("TrainingJobName", "/aws/sagemaker/TrainingJobs"),
    "createTransformJob": ("TransformJobName", "/aws/sagemaker/TransformJobs"),
}
COLOURS = {"SUCCEEDED": "green", "FAILED": "red", "ABORTED": "yellow", "TIMED_OUT": "red"}


def history(sfn: Any, execution_arn: str) -> list[dict[str, Any]]:
    """Every event of an execution's history, oldest first."""
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**kwargs)
        events += page["events"]
        if not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]


@dataclass
class JobLog:
    state: str
    group: str
    job_name: str
    seen: set[str] = field(default_factory=set)


@dataclass
class _Followed:
    """What has been shown of one execution so far."""

    arn: str
    name: str
    started: datetime | None = None
    last_event_id: int = 0
    open_states: dict[str, list[datetime]] = field(default_factory=dict)
    state_entered: dict[int, str] = field(default_factory=dict)
    jobs: list[JobLog] = field(default_factory=list)
    status: str = "RUNNING"
    last_output: float = field(default_factory=time.monotonic)


class RunObserver:
    """Prints the runs of a state machine (or one run) as they progress."""

    def __init__(
        self,
        sfn: Any,
        logs: Any,
        console: Console | None = None,
        heartbeat: float = 15.0,
        poll: float = 0.5,
        max_job_lines: int = 8,
    ) -> None:
        self.max_job_lines = max_job_lines
        self.sfn = sfn
        self.logs = logs
        self.console = console or Console(highlight=False)
        self.heartbeat = heartbeat
        self.poll = poll
        self.lock = threading.Lock()

    # ------------------------------------------------------------------ entry points
    def follow(self, execution_arn: str, stop: threading.Event | None = None) -> str:
        """Show one run until it ends (or `stop` is set); return its status."""
        stop = stop or threading.Event()
        run = _Followed(arn=execution_arn, name=execution_arn.rsplit(":", 1)[-1])
        while not stop.is_set():
            self.step(run)
            if run.status in TERMINAL:
                break
            stop.wait(self.poll)
        return run.status

    def watch(self, state_machine_arn: str, stop: threading.Event, since: datetime | None = None) -> None:
        """Show every run still running or started later (or started after `since`) until `stop` is set."""
        known: dict[str, _Followed] = {}
        ended = [e for e in self._executions(state_machine_arn) if e.get("status") != "RUNNING"]
        skip = {e["executionArn"] for e in ended} if since is None else set()
        while not stop.is_set():
            for execution in self._executions(state_machine_arn):
                arn = execution["executionArn"]
                if arn in skip or arn in known:
                    continue
                if since is not None and execution["startDate"] < since:
                    continue
                known[arn] = _Followed(arn=arn, name=execution["name"])
            for run in known.values():
                if run.status not in TERMINAL:
                    self.step(run)
            stop.wait(self.poll)

    # ------------------------------------------------------------------ one poll of one run
    def step(self, run: _Followed) -> None:
        try:
            events = history(self.sfn, run.arn)
        except Exception as exc:
            self.say(f"[dim]{escape(run.name)}: cannot read the history yet ({type(exc).__name__})[/dim]")
            return
        fresh = [event for event in events if event["id"] > run.last_event_id]
        # A state that entered and exited within one poll gets one line (its end); a longer one gets two.
        exited = _entered_ids_closed_by(fresh)
        for event in fresh:
            run.last_event_id = event["id"]
            self.show_event(run, event, quiet_entry=event["id"] in exited)
        for job in run.jobs:
            self.show_job_log(run, job)
        if run.status not in TERMINAL and time.monotonic() - run.last_output > self.heartbeat:
            self.show_heartbeat(run)

    def show_event(self, run: _Followed, event: dict[str, Any], quiet_entry: bool = False) -> None:
        kind: str = event["type"]
        at: datetime = event["timestamp"]
        if kind == "ExecutionStarted":
            run.started = at
            self.say(f"[bold]▶ run {escape(run.name)}[/bold] started {at:%H:%M:%S}")
        elif kind.endswith("StateEntered"):
            name = event["stateEnteredEventDetails"]["name"]
            run.open_states.setdefault(name, []).append(at)
            run.state_entered[event["id"]] = name
            if not quiet_entry:
                self.say(f"{self._elapsed(run, at)}   → {escape(name)}", run)
        elif kind.endswith("StateExited"):
            name = event["stateExitedEventDetails"]["name"]
            for job in run.jobs:  # a job's output before its state's end (it is written when the job ends)
                if job.state == name:
                    self.show_job_log(run, job)
            entered = (run.open_states.get(name) or [at]).pop(0)
            took = (at - entered).total_seconds()
            self.say(f"{self._elapsed(run, at)}   ✓ {escape(name)} [dim]{took:.2f} s[/dim]", run)
        elif kind == "TaskScheduled":
            self._note_job(run, event)
        elif kind in {"TaskFailed", "TaskTimedOut", "LambdaFunctionFailed"}:
            details = _details(event)
            self.say(
                f"{self._elapsed(run, at)}   [red]✗ {escape(str(details.get('error', kind)))}[/red] "
                f"{escape(str(details.get('cause', ''))[:200])}",
                run,
            )
        elif kind in ENDED:
            run.status = ENDED[kind]
            details = _details(event)
            error = f" {details.get('error')}" if details.get("error") else ""
            total = (at - run.started).total_seconds() if run.started else 0.0
            colour = COLOURS.get(run.status, "white")
            self.say(f"[bold {colour}]■ run {escape(run.name)} {run.status}{escape(error)}[/] in {total:.1f} s", run)

    def _note_job(self, run: _Followed, event: dict[str, Any]) -> None:
        details = event.get("taskScheduledEventDetails", {})
        action = str(details.get("resource", "")).split(".")[0]
        if action not in JOB_RESOURCES:
            return
        parameter, group = JOB_RESOURCES[action]
        try:
            job_name = json.loads(details.get("parameters") or "{}").get(parameter)
        except json.JSONDecodeError:
            return
        state = run.state_entered.get(event.get("previousEventId", 0), "job")
        if job_name:
            run.jobs.append(JobLog(state=state, group=group, job_name=job_name))

    def show_job_log(self, run: _Followed, job: JobLog) -> None:
        try:
            page = self.logs.filter_log_events(logGroupName=job.group, logStreamNamePrefix=job.job_name)
        except Exception:
            return
        fresh = []
        for item in in_streams(page.get("events", []), job.job_name):
            key = item.get("eventId") or f"{item['logStreamName']}:{item['timestamp']}:{item['message']}"
            if key not in job.seen:
                job.seen.add(key)
                fresh.append(str(item["message"]).rstrip())
        if len(fresh) > self.max_job_lines:  # a training log: its first and last lines
            skipped = len(fresh) - self.max_job_lines
            half = self.max_job_lines // 2
            fresh = [*fresh[:half], f"… {skipped} more lines (retrainer logs RUN --state {job.state})", *fresh[-half:]]
        for line in fresh:
            self.say(f"       [cyan]{escape(job.state)}[/cyan] | {escape(line)}", run)

    def show_heartbeat(self, run: _Followed) -> None:
        now = datetime.now(tz=run.started.tzinfo) if run.started else None
        running = []
        for name, entries in run.open_states.items():
            if entries and now is not None:
                running.append(f"{name} {(now - entries[0]).total_seconds():.0f} s")
        self.say(f"[dim]     … {escape(run.name)} still running: {escape(', '.join(running) or 'waiting')}[/dim]", run)

    # ------------------------------------------------------------------ helpers
    def _executions(self, state_machine_arn: str) -> list[dict[str, Any]]:
        try:
            pages = self.sfn.get_paginator("list_executions").paginate(stateMachineArn=state_machine_arn)
            return [execution for page in pages for execution in page["executions"]]
        except Exception:
            return []

    @staticmethod
    def _elapsed(run: _Followed, at: datetime) -> str:
        seconds = (at - run.started).total_seconds() if run.started else 0.0
        return f"[dim]{escape(run.name[-12:])} {seconds:7.1f}s[/dim]"

    def say(self, text: str, run: _Followed | None = None) -> None:
        with self.lock:
            self.console.print(text)
        if run is not None:
            run.last_output = time.monotonic()


def _entered_ids_closed_by(events: list[dict[str, Any]]) -> set[int]:
    """Ids of StateEntered events whose state's StateExited is in the same batch (matched by name, in order)."""
    open_ids: dict[str, list[int]] = {}
    closed: set[int] = set()
    for event in events:
        if event["type"].endswith("StateEntered"):
            open_ids.setdefault(event["stateEnteredEventDetails"]["name"], []).append(event["id"])
        elif event["type"].endswith("StateExited"):
            waiting = open_ids.get(event["stateExitedEventDetails"]["name"])
            if waiting:
                closed.add(waiting.pop(0))
    return closed


def _details(event: dict[str, Any]) -> dict[str, Any]:
    """The `...EventDetails` member of a history event (its name depends on the event's type)."""
    found: dict[str, Any] = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
    return found


def in_streams(events: list[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    """The events of streams named `prefix...` (moto's FilterLogEvents ignores logStreamNamePrefix)."""
    return [event for event in events if str(event.get("logStreamName", "")).startswith(prefix)]
