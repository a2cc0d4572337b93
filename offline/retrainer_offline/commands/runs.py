"""`retrainer runs|show|logs|follow|notifications`: a stack's retraining runs, read with plain boto3.

The same calls answer under `retrainer serve` and on AWS: the state machine comes from the stack's
CloudFormation outputs, a run is a Step Functions execution (its name is the run id), its steps are the
execution history and its job and Lambda output is in CloudWatch Logs under AWS's log group names.
Tables for people by default, `--json` for scripts.
"""

from __future__ import annotations

import argparse
import json
import threading
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from retrainer_offline.commands.aws import Stack, StackNotFound, add_connection_arguments, stack_from
from retrainer_offline.commands.progress import JOB_RESOURCES, RunObserver, history, in_streams


@dataclass
class RunSummary:
    run: str
    model: str
    trigger: str
    status: str
    error: str | None
    started: str
    seconds: float | None
    metric: str | None = None
    value: float | None = None
    champion_value: float | None = None
    verdict: str | None = None
    side_by_side: str | None = None  # holdout (and recent labelled traffic): challenger vs champion


@dataclass
class StateStep:
    name: str
    type: str
    started_after: float
    seconds: float | None
    error: str | None = None


@dataclass
class RunDetail:
    summary: RunSummary
    states: list[StateStep] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    rollout_steps: list[Any] = field(default_factory=list)
    rollout: dict[str, Any] = field(default_factory=dict)
    triggers: list[Any] = field(default_factory=list)
    triggers_consumed: int = 0
    cause: str | None = None


@dataclass
class LogLine:
    state: str
    group: str
    stream: str
    timestamp: int
    message: str


# ---------------------------------------------------------------------- reading a run
def _json(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text) if text else {}
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def last_state_output(events: list[dict[str, Any]]) -> dict[str, Any]:
    """Where a run's data ended: a failed execution has no output; its last state's output is kept."""
    for event in reversed(events):
        details = event.get("stateExitedEventDetails")
        if details and details.get("output"):
            return _json(details["output"])
    return {}


def summarize(description: dict[str, Any], final_state: dict[str, Any]) -> RunSummary:
    request = _json(description.get("input"))
    trigger = request.get("trigger", {})
    evaluation = final_state.get("evaluation") or {}
    stopped: datetime | None = description.get("stopDate")
    started: datetime = description["startDate"]
    return RunSummary(
        run=description["name"],
        model=str(request.get("model_name", "?")),
        trigger=f"{trigger.get('kind', '?')} {trigger.get('source', '')}".strip(),
        status=description["status"],
        error=description.get("error"),
        started=started.isoformat(),
        seconds=(stopped - started).total_seconds() if stopped else None,
        metric=evaluation.get("metric"),
        value=evaluation.get("value"),
        champion_value=evaluation.get("champion_value"),
        verdict=evaluation.get("verdict"),
        side_by_side=evaluation.get("side_by_side"),
    )


def final_state(sfn: Any, description: dict[str, Any], events: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    if description.get("output"):
        return _json(description["output"])
    if description["status"] == "RUNNING" and events is None:
        return {}
    return last_state_output(events if events is not None else history(sfn, description["executionArn"]))


def list_runs(stack: Stack, model: str | None = None, limit: int = 20) -> list[RunSummary]:
    sfn = stack.client("stepfunctions")
    executions: list[dict[str, Any]] = []
    for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=stack.state_machine_arn):
        executions += page["executions"]
    executions.sort(key=lambda e: e["startDate"], reverse=True)
    runs: list[RunSummary] = []
    for execution in executions:
        if model and not execution["name"].startswith(f"{model}-"):
            continue
        description = sfn.describe_execution(executionArn=execution["executionArn"])
        summary = summarize(description, final_state(sfn, description))
        if model and summary.model != model:
            continue
        runs.append(summary)
        if len(runs) >= limit:
            break
    return runs


def state_steps(events: list[dict[str, Any]]) -> list[StateStep]:
    """Each state pass with when it started (seconds after the run started), how long it took, its error."""
    if not events:
        return []
    origin: datetime = events[0]["timestamp"]
    steps: list[StateStep] = []
    open_steps: dict[str, list[tuple[StateStep, datetime]]] = {}
    for event in events:
        kind, at = event["type"], event["timestamp"]
        if kind.endswith("StateEntered"):
            name = event["stateEnteredEventDetails"]["name"]
            step = StateStep(name, kind.removesuffix("StateEntered"), (at - origin).total_seconds(), None)
            steps.append(step)
            open_steps.setdefault(name, []).append((step, at))
        elif kind.endswith("StateExited"):
            waiting = open_steps.get(event["stateExitedEventDetails"]["name"])
            if waiting:
                step, entered = waiting.pop(0)
                step.seconds = (at - entered).total_seconds()
        elif kind.endswith("Failed") or kind.endswith("TimedOut"):
            details: dict[str, Any] = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
            for waiting in open_steps.values():
                for step, _ in waiting:
                    step.error = step.error or f"{details.get('error', kind)}: {str(details.get('cause', ''))[:200]}"
    return steps


def run_detail(stack: Stack, run: str) -> RunDetail:
    sfn = stack.client("stepfunctions")
    description = sfn.describe_execution(executionArn=stack.execution_arn(run))
    events = history(sfn, description["executionArn"])
    data = final_state(sfn, description, events)
    claim = data.get("claim") or {}
    return RunDetail(
        summary=summarize(description, data),
        states=state_steps(events),
        metrics=(data.get("evaluation") or {}).get("metrics") or {},
        rollout_steps=list((data.get("rollout_plan") or {}).get("steps") or []),
        rollout=data.get("rollout") or {},
        triggers=list(claim.get("triggers") or []),
        triggers_consumed=int(claim.get("consumed") or 0),
        cause=description.get("cause"),
    )


def _state_windows(events: list[dict[str, Any]]) -> dict[int, tuple[str, int, int]]:
    """StateEntered event id -> (state, entered ms, exited ms) of each state pass (open passes: now)."""
    windows: dict[int, tuple[str, int, int]] = {}
    open_ids: dict[str, list[int]] = {}
    far = int(events[-1]["timestamp"].timestamp() * 1000) + 60_000 if events else 0
    for event in events:
        at = int(event["timestamp"].timestamp() * 1000)
        if event["type"].endswith("StateEntered"):
            name = event["stateEnteredEventDetails"]["name"]
            windows[event["id"]] = (name, at, far)
            open_ids.setdefault(name, []).append(event["id"])
        elif event["type"].endswith("StateExited"):
            waiting = open_ids.get(event["stateExitedEventDetails"]["name"])
            if waiting:
                entered = waiting.pop(0)
                windows[entered] = (windows[entered][0], windows[entered][1], at)
    return windows


def _log_sources(events: list[dict[str, Any]]) -> list[tuple[str, str, str | None, int, int]]:
    """(state, log group, stream prefix, start ms, end ms) of each job and Lambda task in a run."""
    windows = _state_windows(events)
    sources: list[tuple[str, str, str | None, int, int]] = []
    for event in events:
        if event["type"] != "TaskScheduled":
            continue
        details = event["taskScheduledEventDetails"]
        state, start_ms, end_ms = windows.get(event.get("previousEventId", 0), ("?", 0, 0))
        parameters = _json(details.get("parameters"))
        action = str(details.get("resource", "")).split(".")[0]
        if action in JOB_RESOURCES:
            name_parameter, group = JOB_RESOURCES[action]
            sources.append((state, group, str(parameters.get(name_parameter)), start_ms, end_ms))
        elif action == "invoke" and "FunctionName" in parameters:
            function = str(parameters["FunctionName"]).split(":function:")[-1].split(":")[0]
            sources.append((state, f"/aws/lambda/{function}", None, start_ms, end_ms + 1))
    return sources


def run_logs(stack: Stack, run: str, state: str | None = None) -> list[LogLine]:
    """The run's job output (by job name) and its Lambda output (the functions' logs while the state ran)."""
    sfn, logs = stack.client("stepfunctions"), stack.client("logs")
    events = history(sfn, stack.execution_arn(run))
    lines: list[LogLine] = []
    seen: set[tuple[str, str, int, str]] = set()
    for name, group, prefix, start_ms, end_ms in _log_sources(events):
        if state and name != state:
            continue
        kwargs: dict[str, Any] = {"logGroupName": group}
        if prefix:
            kwargs["logStreamNamePrefix"] = prefix
        else:
            kwargs.update(startTime=start_ms, endTime=end_ms)
        try:
            pages = list(logs.get_paginator("filter_log_events").paginate(**kwargs))
        except logs.exceptions.ResourceNotFoundException:
            continue
        for item in in_streams([item for page in pages for item in page.get("events", [])], prefix or ""):
            key = (group, item["logStreamName"], item["timestamp"], item["message"])
            if key not in seen:
                seen.add(key)
                lines.append(LogLine(name, group, item["logStreamName"], item["timestamp"], item["message"].rstrip()))
    return lines


# ---------------------------------------------------------------------- printing
def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def _gate(summary: RunSummary) -> str:
    if summary.value is None:
        return ""
    champion = f" vs {summary.champion_value:.4f}" if isinstance(summary.champion_value, int | float) else ""
    return f"{summary.metric} {summary.value:.4f}{champion}"


def _outcome(summary: RunSummary) -> str:
    colour = {"SUCCEEDED": "green", "RUNNING": "cyan", "FAILED": "red"}.get(summary.status, "yellow")
    return f"[{colour}]{summary.status}[/{colour}]" + (f" {escape(summary.error)}" if summary.error else "")


def print_runs(console: Console, runs: list[RunSummary]) -> None:
    if not runs:
        console.print("no runs yet: upload a CSV to s3://<DataBucketName>/<DataPrefix><model>/ to start one")
        return
    table = Table(title="retraining runs (newest first)")
    for column in ("run", "model", "trigger", "status / outcome", "duration", "gate metric vs champion"):
        table.add_column(column)
    for run in runs:
        table.add_row(
            escape(run.run),
            escape(run.model),
            escape(run.trigger[:60]),
            _outcome(run),
            _seconds(run.seconds),
            _gate(run),
        )
    console.print(table)


def print_detail(console: Console, detail: RunDetail) -> None:
    summary = detail.summary
    console.print(f"[bold]{escape(summary.run)}[/bold]  model {escape(summary.model)}  {_outcome(summary)}")
    console.print(f"trigger: {escape(summary.trigger)}; started {summary.started}; took {_seconds(summary.seconds)}")
    if summary.side_by_side:
        console.print(f"challenger vs champion: {escape(summary.side_by_side)}")
    if summary.verdict:
        console.print(f"verdict: {escape(str(summary.verdict))}  ({_gate(summary)})")
    if detail.cause:
        console.print(f"cause: {escape(detail.cause[:500])}")
    if detail.metrics:
        console.print("metrics: " + ", ".join(f"{k} {v:.4f}" for k, v in detail.metrics.items()))
    if detail.rollout_steps:
        console.print(f"rollout steps: {escape(json.dumps(detail.rollout_steps))}")
    if detail.rollout:
        console.print(f"rollout: {escape(json.dumps(detail.rollout))[:500]}")
    console.print(f"triggers consumed: {detail.triggers_consumed} {escape(json.dumps(detail.triggers))[:500]}")
    table = Table(title="states")
    for column in ("at", "state", "type", "duration", "error"):
        table.add_column(column)
    for step in detail.states:
        table.add_row(
            f"{step.started_after:.2f}", escape(step.name), step.type, _seconds(step.seconds), escape(step.error or "")
        )
    console.print(table)


def print_logs(console: Console, lines: list[LogLine]) -> None:
    for line in lines:
        console.print(f"[cyan]{escape(line.state)}[/cyan] | {escape(line.message)}", soft_wrap=True)


def print_notifications(console: Console, notices: list[dict[str, Any]]) -> None:
    for notice in notices:
        message = notice.get("message")
        parsed = _json(message) if isinstance(message, str) else {}
        text = json.dumps(parsed, indent=2) if parsed else str(message)
        console.print(f"[bold]{escape(str(notice.get('subject')))}[/bold]")
        console.print(escape(text), soft_wrap=True)


def read_notifications(stack: Stack, queue: str | None, wait: int = 1) -> list[dict[str, Any]]:
    """Notices waiting in an SQS queue subscribed to the topic (serve creates `<stack>-notifications`)."""
    sqs = stack.client("sqs")
    url = (
        queue
        if queue and queue.startswith("http")
        else sqs.get_queue_url(QueueName=queue or f"{stack.name}-notifications")["QueueUrl"]
    )
    notices: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=wait).get("Messages", [])
        if not messages:
            return notices
        for message in messages:
            envelope = _json(message["Body"])
            notices.append({"subject": envelope.get("Subject"), "message": envelope.get("Message", message["Body"])})
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


# ---------------------------------------------------------------------- the subcommands
def add_commands(commands: Any) -> None:
    runs = commands.add_parser("runs", help="list retraining runs (newest first)")
    runs.add_argument("--model")
    runs.add_argument("--limit", type=int, default=20)
    runs.add_argument("--follow", action="store_true", help="then show new runs live until Ctrl-C")
    show = commands.add_parser("show", help="one run: states, verdict, metrics, rollout, triggers")
    show.add_argument("run", help="run id (the execution name) or execution ARN")
    logs = commands.add_parser("logs", help="a run's job and Lambda logs from CloudWatch Logs")
    logs.add_argument("run")
    logs.add_argument("--state", help="only this state's logs, e.g. Train")
    follow = commands.add_parser("follow", help="show a run live until it ends")
    follow.add_argument("run")
    notices = commands.add_parser("notifications", help="read (and remove) notices from the notification queue")
    notices.add_argument("--queue", help="queue name or URL (default <stack>-notifications, as serve creates)")
    report = commands.add_parser("report", help="write a model's monitoring and history pages (HTML) from S3")
    report.add_argument("model", help="the model's name (its data folder under the upload prefix)")
    report.add_argument("--out", type=Path, default=Path("reports"), help="the folder for the pages (default reports)")
    for parser in (runs, show, logs, follow, notices, report):
        add_connection_arguments(parser)
        parser.add_argument("--json", action="store_true", help="JSON for scripts")


def write_model_reports(stack: Stack, model: str, out_dir: Path, console: Console) -> int:
    """The pages read the artifacts bucket (baselines, monitoring runs, evaluation reports) and the runs'
    histories (canary weights): the same calls against `retrainer serve` and a deployed stack."""
    from retrainer_offline.reports.write_reports import write_reports

    pages = write_reports(
        stack.client("s3"),
        stack.output("ArtifactsBucketName"),
        model,
        out_dir,
        data_bucket=stack.output("DataBucketName"),
        stepfunctions_client=stack.client("stepfunctions"),
        state_machine_arn=stack.state_machine_arn,
    )
    for page in pages:
        console.print(str(page))
    return 0


def run_command(args: argparse.Namespace) -> int:
    console = Console(highlight=False)
    stack = stack_from(args)
    try:
        return _dispatch(args, stack, console)
    except StackNotFound as exc:
        Console(stderr=True).print(f"[red]{escape(str(exc))}[/red]")
        return 2


def _dispatch(args: argparse.Namespace, stack: Stack, console: Console) -> int:
    if args.command == "report":
        return write_model_reports(stack, args.model, args.out, console)
    if args.command == "follow":
        observer = RunObserver(stack.client("stepfunctions"), stack.client("logs"), console)
        return 0 if observer.follow(stack.execution_arn(args.run)) == "SUCCEEDED" else 1
    readers: dict[str, tuple[Any, Any]] = {
        "runs": (lambda: list_runs(stack, args.model, args.limit), print_runs),
        "show": (lambda: run_detail(stack, args.run), print_detail),
        "logs": (lambda: run_logs(stack, args.run, args.state), print_logs),
        "notifications": (lambda: read_notifications(stack, args.queue), print_notifications),
    }
    read, show = readers[args.command]
    result = read()
    if args.json:
        print(json.dumps(_plain(result), indent=2, default=str))
    else:
        show(console, result)
    if args.command == "runs" and args.follow:
        observer = RunObserver(stack.client("stepfunctions"), stack.client("logs"), console)
        try:
            observer.watch(stack.state_machine_arn, threading.Event())
        except KeyboardInterrupt:
            return 0
    return 0


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)
    return value
