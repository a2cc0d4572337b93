"""`retrainer runs|show|logs|follow`: what a user reads about runs, from the history and CloudWatch Logs.

The commands talk to boto3 clients only; here those are fakes answering as Step Functions,
CloudFormation and CloudWatch Logs answer, so the tests need no stack.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from retrainer_offline.__main__ import main
from retrainer_offline.commands import runs as run_commands
from retrainer_offline.commands.aws import Stack
from retrainer_offline.commands.progress import RunObserver

ROOT = Path(__file__).resolve().parents[2]
MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:retrainer-retraining"
T0 = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


class History:
    """Builds an execution history the way Step Functions numbers and links its events."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def add(self, kind: str, seconds: float, previous: int = 0, **details: Any) -> int:
        event: dict[str, Any] = {"id": len(self.events) + 1, "type": kind, "timestamp": at(seconds)}
        event["previousEventId"] = previous or len(self.events)
        event.update(details)
        self.events.append(event)
        return int(event["id"])

    def enter(self, name: str, seconds: float, kind: str = "Task", previous: int = 0) -> int:
        return self.add(f"{kind}StateEntered", seconds, previous, stateEnteredEventDetails={"name": name})

    def exit(self, name: str, seconds: float, kind: str = "Task", output: dict[str, Any] | None = None) -> int:
        details: dict[str, Any] = {"name": name}
        if output is not None:
            details["output"] = json.dumps(output)
        return self.add(f"{kind}StateExited", seconds, stateExitedEventDetails=details)

    def job(self, name: str, seconds: float, entered: int, resource: str, parameters: dict[str, Any]) -> None:
        self.add(
            "TaskScheduled",
            seconds,
            entered,
            taskScheduledEventDetails={"resource": resource, "parameters": json.dumps(parameters)},
        )


def succeeded_run() -> tuple[dict[str, Any], History]:
    """A first deployment: claim (Lambda), Preprocess and Train (jobs), a Parallel whose branches end out of order."""
    history = History()
    history.add("ExecutionStarted", 0)
    claim = history.enter("ClaimTriggers", 0.1)
    history.job(
        "ClaimTriggers", 0.1, claim, "invoke", {"FunctionName": "arn:aws:lambda:us-east-1:1:function:coord:$LATEST"}
    )
    history.exit("ClaimTriggers", 0.5)
    entered = history.enter("Preprocess", 1)
    history.job("Preprocess", 1, entered, "createProcessingJob.sync", {"ProcessingJobName": "cancer-abc-preprocess"})
    history.exit("Preprocess", 13)
    entered = history.enter("Train", 13)
    history.job("Train", 13, entered, "createTrainingJob.sync", {"TrainingJobName": "cancer-abc-train"})
    history.exit("Train", 27)
    history.enter("Validate", 27, "Parallel")
    history.enter("ScoreChampion", 27.1)
    history.enter("ScoreChallenger", 27.1)
    history.exit("ScoreChallenger", 29.1)
    history.exit("ScoreChampion", 31.1)
    history.exit("Validate", 31.2, "Parallel")
    history.add("ExecutionSucceeded", 32)
    output = {
        "evaluation": {
            "metric": "auc",
            "value": 0.9723,
            "champion_value": 0.9755,
            "verdict": "challenger auc 0.9723 (at least 0.9 needed: ok)",
            "metrics": {"auc": 0.9723, "f1": 0.875},
        },
        "rollout_plan": {"steps": [{"challenger": 10, "champion": 90}, {"challenger": 100, "champion": 0}]},
        "claim": {"consumed": 2, "triggers": [{"trigger_id": "t1"}, {"trigger_id": "t2"}]},
    }
    return execution("cancer-abc", "SUCCEEDED", 32, output=output), history


def rejected_run() -> tuple[dict[str, Any], History]:
    """A run the gate rejected: a FAILED execution has no output; its last state's output holds the evaluation."""
    history = History()
    history.add("ExecutionStarted", 100)
    history.enter("Evaluate", 100)
    history.exit("Evaluate", 101, output={"evaluation": {"metric": "auc", "value": 0.8781, "champion_value": 0.9723}})
    history.enter("GateFailed", 101, "Fail")
    history.add("ExecutionFailed", 102, executionFailedEventDetails={"error": "QualityGateFailed", "cause": "worse"})
    return execution("churn-def", "FAILED", 2, start=100, error="QualityGateFailed", model="churn"), history


def execution(
    name: str,
    status: str,
    seconds: float,
    output: dict[str, Any] | None = None,
    start: float = 0,
    error: str | None = None,
    model: str = "cancer",
) -> dict[str, Any]:
    request = {"model_name": model, "trigger": {"kind": "s3_upload", "source": f"s3://data/incoming/{model}/a.csv"}}
    described: dict[str, Any] = {
        "executionArn": f"{MACHINE.replace(':stateMachine:', ':execution:')}:{name}",
        "stateMachineArn": MACHINE,
        "name": name,
        "status": status,
        "startDate": at(start),
        "stopDate": at(start + seconds),
        "input": json.dumps(request),
    }
    if output is not None:
        described["output"] = json.dumps(output)
    if error:
        described["error"] = error
    return described


class FakeStepFunctions:
    def __init__(self, runs: list[tuple[dict[str, Any], History]]) -> None:
        self.runs = {described["executionArn"]: (described, history) for described, history in runs}

    def get_paginator(self, name: str) -> Any:
        assert name == "list_executions"
        listed = [{k: d[k] for k in ("executionArn", "name", "status", "startDate")} for d, _ in self.runs.values()]
        return type("Pages", (), {"paginate": lambda _self, **_: [{"executions": listed}]})()

    def describe_execution(self, executionArn: str) -> dict[str, Any]:
        return self.runs[executionArn][0]

    def get_execution_history(self, executionArn: str, **_: Any) -> dict[str, Any]:
        return {"events": self.runs[executionArn][1].events}


class FakeLogs:
    """CloudWatch Logs: events by group and stream, filtered by time as filter_log_events filters.

    Like moto's, it ignores logStreamNamePrefix: the commands must not rely on it (AWS honours it)."""

    class exceptions:
        class ResourceNotFoundException(Exception):
            pass

    def __init__(self, groups: dict[str, dict[str, list[tuple[float, str]]]]) -> None:
        self.groups = groups

    def filter_log_events(self, logGroupName: str, **kwargs: Any) -> dict[str, Any]:
        if logGroupName not in self.groups:
            raise self.exceptions.ResourceNotFoundException(logGroupName)
        found = []
        for stream, lines in self.groups[logGroupName].items():
            for seconds, message in lines:
                millis = int(at(seconds).timestamp() * 1000)
                if kwargs.get("startTime", 0) <= millis <= kwargs.get("endTime", 10**15):
                    found.append(
                        {
                            "logStreamName": stream,
                            "timestamp": millis,
                            "message": message,
                            "eventId": f"{stream}{seconds}",
                        }
                    )
        return {"events": found}

    def get_paginator(self, name: str) -> Any:
        assert name == "filter_log_events"
        return type("Pages", (), {"paginate": lambda _self, **kwargs: [self.filter_log_events(**kwargs)]})()


class FakeCloudFormation:
    def describe_stacks(self, StackName: str) -> dict[str, Any]:
        return {
            "Stacks": [{"StackName": StackName, "Outputs": [{"OutputKey": "StateMachineArn", "OutputValue": MACHINE}]}]
        }


LOGS: dict[str, dict[str, list[tuple[float, str]]]] = {
    "/aws/sagemaker/TrainingJobs": {
        "cancer-older-run-train/algo-1-1": [(5, "an older run's training")],
        "cancer-abc-train/algo-1-1": [(14, "[0]#011validation-auc:0.96"), (26, "[99]#011validation-auc:0.99")],
    },
    "/aws/sagemaker/ProcessingJobs": {"cancer-abc-preprocess/algo-1-1": [(12, '{"rows": {"train": 389}}')]},
    "/aws/lambda/coord": {
        "2026/12/01/[$LATEST]a": [
            (0.2, "START RequestId: r1"),
            (0.3, "run claimed its triggers"),
            (50, "another run's claim"),
        ]
    },
}


class FakeSession:
    def __init__(self, runs: list[tuple[dict[str, Any], History]]) -> None:
        self.clients = {
            "stepfunctions": FakeStepFunctions(runs),
            "logs": FakeLogs(LOGS),
            "cloudformation": FakeCloudFormation(),
        }

    def client(self, service: str, endpoint_url: str | None = None) -> Any:
        del endpoint_url
        return self.clients[service]


def stack(*runs: tuple[dict[str, Any], History]) -> Stack:
    return Stack(session=FakeSession(list(runs)), endpoint_url="http://127.0.0.1:4566", name="retrainer")


def printed(render: Any, *args: Any) -> str:
    buffer = io.StringIO()
    render(Console(file=buffer, width=200, highlight=False), *args)
    return buffer.getvalue()


def test_runs_lists_each_run_newest_first_with_its_outcome_and_gate_metric_against_the_champion() -> None:
    # Given a deployed run and a later run the gate rejected (a failed run has no output)
    given = stack(succeeded_run(), rejected_run())

    # When the runs are listed
    runs = run_commands.list_runs(given)

    # Then each shows its model, trigger, outcome, duration and gate metric vs the champion
    assert [(r.run, r.model, r.status, r.error, r.seconds) for r in runs] == [
        ("churn-def", "churn", "FAILED", "QualityGateFailed", 2.0),
        ("cancer-abc", "cancer", "SUCCEEDED", None, 32.0),
    ]
    table = printed(run_commands.print_runs, runs)
    assert "auc 0.8781 vs 0.9723" in table and "auc 0.9723 vs 0.9755" in table
    assert "s3_upload s3://data/incoming/churn/a.csv" in table
    assert [r.run for r in run_commands.list_runs(given, model="cancer")] == ["cancer-abc"]


def test_show_gives_the_state_timeline_verdict_metrics_rollout_steps_and_triggers_consumed() -> None:
    detail = run_commands.run_detail(stack(succeeded_run()), "cancer-abc")

    steps = {s.name: (round(s.started_after, 2), round(s.seconds or 0, 2)) for s in detail.states}
    assert steps["Preprocess"] == (1.0, 12.0) and steps["Train"] == (13.0, 14.0)
    assert steps["ScoreChampion"] == (27.1, 4.0) and steps["ScoreChallenger"] == (27.1, 2.0)
    shown = printed(run_commands.print_detail, detail)
    assert "verdict: challenger auc 0.9723 (at least 0.9 needed: ok)" in shown
    assert "metrics: auc 0.9723, f1 0.8750" in shown
    assert '"challenger": 10' in shown and "triggers consumed: 2" in shown


def test_logs_reads_job_logs_by_job_name_and_lambda_logs_while_the_state_ran() -> None:
    given = stack(succeeded_run())

    lines = run_commands.run_logs(given, "cancer-abc")

    assert [(line.state, line.message) for line in lines] == [
        ("ClaimTriggers", "START RequestId: r1"),
        ("ClaimTriggers", "run claimed its triggers"),
        ("Preprocess", '{"rows": {"train": 389}}'),
        ("Train", "[0]#011validation-auc:0.96"),
        ("Train", "[99]#011validation-auc:0.99"),
    ]
    assert {line.group for line in run_commands.run_logs(given, "cancer-abc", state="Train")} == {
        "/aws/sagemaker/TrainingJobs"
    }


def test_json_output_for_scripts(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(run_commands, "stack_from", lambda args: stack(succeeded_run()))

    code = main(["runs", "--json", "--endpoint-url", "http://127.0.0.1:4566"])

    assert code == 0
    assert json.loads(capsys.readouterr().out)[0]["value"] == 0.9723


def test_follow_shows_parallel_branches_in_the_order_they_end_with_job_log_lines() -> None:
    # Given a run whose Parallel branches end out of order (ScoreChallenger first)
    described, history = succeeded_run()
    buffer = io.StringIO()
    observer = RunObserver(FakeStepFunctions([(described, history)]), FakeLogs(LOGS), Console(file=buffer, width=200))

    # When it is followed
    status = observer.follow(described["executionArn"])

    # Then each state's end is shown in order with its duration, and job logs are prefixed with their state
    text = buffer.getvalue()
    assert status == "SUCCEEDED"
    challenger, champion = text.index("✓ ScoreChallenger 2.00 s"), text.index("✓ ScoreChampion 4.00 s")
    assert challenger < champion
    assert "Train | [99]#011validation-auc:0.99" in text
    assert text.index("Train | [99]") < text.index("✓ Train")
    assert "older run" not in text
    assert "■ run cancer-abc SUCCEEDED in 32.0 s" in text


def test_follow_shows_a_state_when_it_starts_and_a_heartbeat_while_it_runs() -> None:
    # Given a run in its Train state
    history = History()
    history.add("ExecutionStarted", 0)
    history.enter("Train", 1)
    described = execution("cancer-xyz", "RUNNING", 0)
    buffer = io.StringIO()
    observer = RunObserver(
        FakeStepFunctions([(described, history)]), FakeLogs({}), Console(file=buffer, width=200), heartbeat=0.0
    )
    stop = threading.Event()

    # When one poll passes with nothing new
    thread = threading.Thread(target=observer.follow, args=(described["executionArn"], stop))
    thread.start()
    stop.set()
    thread.join(5)

    # Then the state's start was shown and the heartbeat names it as still running
    text = buffer.getvalue()
    assert "→ Train" in text
    assert "cancer-xyz still running: Train" in text


def test_the_run_commands_work_without_moto() -> None:
    """They must run against AWS, where only boto3 and rich are installed."""
    probe = (
        "import sys; import retrainer_offline.commands.runs, retrainer_offline.commands.progress; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'moto', 'retrainer_offline.runtime'}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT / "offline"), "PATH": "/usr/bin"},
    )
    assert done.stdout.strip() == "[]"
