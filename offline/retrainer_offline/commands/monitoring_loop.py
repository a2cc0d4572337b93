"""The monitoring loop offline (issue 14 item 6): promote a model, send it drifted traffic, let its hourly
schedule run the monitoring workflow on the scaled clock, and watch the violations start a retraining.

    python -m retrainer_offline.commands.monitoring_loop        # prints the loop's figures; exit 0 when the loop closed

`run_loop` is what the demo and tests/offline/test_monitoring_loop.py call. Times: "emulated" is the scheduler's
clock (an hour is 3.6 s of wall time at the default scale), "wall" is this machine's.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

from retrainer_offline.commands.demo import MODEL
from retrainer_offline.runtime import ExecutionReport, OfflineRuntime
from retrainer_offline.sample_data.breast_cancer import MODEL_CONFIG, breast_cancer

DRIFT_FACTOR = 3.0  # every feature of the drifted requests is this many times its usual value
DRIFTED_REQUESTS = 240


@dataclass
class LoopResult:
    promoted: ExecutionReport
    schedule: str
    alarms: list[str]
    monitoring: ExecutionReport | None = None
    retraining_arn: str = ""
    retraining: ExecutionReport | None = None
    trigger: dict[str, Any] = field(default_factory=dict)
    drifted: list[dict[str, Any]] = field(default_factory=list)
    report_uri: str = ""
    alarm_states: dict[str, str] = field(default_factory=dict)
    wall_seconds: float = 0.0  # drifted traffic sent -> retraining started
    emulated_seconds: float = 0.0
    monitoring_runs: int = 0

    @property
    def closed(self) -> bool:
        return bool(self.retraining_arn) and bool(self.drifted)


def drifted_rows(features: list[str], count: int = DRIFTED_REQUESTS) -> list[str]:
    """Held-out rows with every value scaled: what a client sends after its population changed."""
    rows = [[float(value) * DRIFT_FACTOR for value in row.split(",")] for row in features]
    return [",".join(f"{value:.6g}" for value in rows[i % len(rows)]) for i in range(count)]


def promote_first_model(runtime: OfflineRuntime) -> ExecutionReport:
    data = breast_cancer(parts=1)
    runtime.put_model_config(MODEL, {**MODEL_CONFIG, "quiet_window_seconds": 0})
    runtime.upload(MODEL, "part-1.csv", data.parts[0])
    return runtime.follow(runtime.next_execution())


def _monitoring_executions(runtime: OfflineRuntime) -> list[dict[str, Any]]:
    arn = runtime.output("MonitoringStateMachineArn")
    for _ in range(50):
        try:
            listed: list[dict[str, Any]] = runtime.client("stepfunctions").list_executions(stateMachineArn=arn)[
                "executions"
            ]
        except AttributeError:  # moto lists an execution being created before it has a status: look again
            time.sleep(0.01)
            continue
        return sorted(listed, key=lambda e: e["startDate"])
    raise RuntimeError("list_executions kept failing on an execution without a status")


def _first_violation_run(runtime: OfflineRuntime, seen: set[str], timeout: float) -> ExecutionReport | None:
    """Follow the scheduled monitoring runs started after `seen` until one published violations."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for execution in _monitoring_executions(runtime):
            if execution["executionArn"] in seen:
                continue
            seen.add(execution["executionArn"])
            report = runtime.follow(execution["executionArn"], timeout=max(deadline - time.monotonic(), 1))
            if (report.output or {}).get("published", {}).get("outcome") == "violations":
                return report
        time.sleep(0.05)
    return None


def run_loop(runtime: OfflineRuntime, timeout: float = 300) -> LoopResult:
    promoted = promote_first_model(runtime)
    started = promoted.final_state.get("monitoring", {}).get("started", {})
    result = LoopResult(promoted=promoted, schedule=started.get("schedule", ""), alarms=started.get("alarms", []))
    if promoted.status != "SUCCEEDED" or not result.schedule:
        return result
    seen = {e["executionArn"] for e in _monitoring_executions(runtime)}
    data = breast_cancer(parts=1)
    client = runtime.client("sagemaker-runtime")
    assert runtime.scheduler is not None
    wall, emulated = time.monotonic(), runtime.scheduler.now
    for row in drifted_rows(data.holdout_features):
        client.invoke_endpoint(EndpointName=promoted.final_state["endpoint_name"], ContentType="text/csv", Body=row)
    # The next hourly invocation of the schedule (on the scaled clock) analyses the last hour's captures.
    result.monitoring = _first_violation_run(runtime, seen, timeout)
    result.monitoring_runs = len(seen)
    if result.monitoring is None:
        return result
    published = result.monitoring.final_state["published"]
    result.drifted = list(published.get("drifted", []))
    result.report_uri = str(result.monitoring.final_state["window"]["output_uri"])
    runtime.alarms.evaluate_now()  # the metrics just put; CloudWatch judges on its own period
    result.alarm_states = {
        alarm["AlarmName"]: alarm["StateValue"]
        for alarm in runtime.client("cloudwatch").describe_alarms(AlarmNames=result.alarms[:100])["MetricAlarms"]
    }
    result.retraining_arn = runtime.next_execution(timeout=timeout)
    result.wall_seconds = time.monotonic() - wall
    result.emulated_seconds = (runtime.scheduler.now - emulated).total_seconds()
    started_with = runtime.client("stepfunctions").describe_execution(executionArn=result.retraining_arn)
    result.trigger = dict(json.loads(started_with["input"]).get("trigger", {}))
    try:
        result.retraining = runtime.follow(result.retraining_arn, timeout=timeout)
    except TimeoutError:  # the loop closed when the retraining started; how it ends is the rollout's story
        result.retraining = None
    return result


def print_result(result: LoopResult, out: TextIO) -> None:
    print(f"== promoted {result.promoted.name}: {result.promoted.status}; schedule {result.schedule}", file=out)
    print(f"   {len(result.alarms)} drift alarms, e.g. {result.alarms[:1]}", file=out)
    if result.monitoring is not None:
        top = ", ".join(f"{d['feature']} {d['distance']:.3f}" for d in result.drifted[:3])
        drifted = len(result.drifted)
        print(f"== monitoring run {result.monitoring.name}: {drifted} features drifted ({top}, ...)", file=out)
        print(f"   report {result.report_uri}", file=out)
        in_alarm = sorted(name for name, state in result.alarm_states.items() if state == "ALARM")
        print(f"   drift alarms in ALARM: {len(in_alarm)} of {len(result.alarm_states)}", file=out)
    if result.retraining_arn:
        status = result.retraining.status if result.retraining else "still running"
        name = result.retraining_arn.rsplit(":", 1)[1]
        print(f"== retraining {name} ({result.trigger.get('kind')}): {status}", file=out)
        print(
            f"   drifted traffic -> retraining start: {result.wall_seconds:.1f} s wall, "
            f"{result.emulated_seconds / 60:.0f} emulated minutes ({result.monitoring_runs} monitoring runs)",
            file=out,
        )
    print(f"result: {'the loop closed' if result.closed else 'the loop did NOT close'}", file=out)


def main(out: TextIO = sys.stdout) -> int:
    with OfflineRuntime(schedules=True) as runtime:
        result = run_loop(runtime)
        print_result(result, out)
        figures = {
            "wall_seconds": round(result.wall_seconds, 1),
            "emulated_seconds": result.emulated_seconds,
            "drifted_features": len(result.drifted),
        }
        print(json.dumps(figures), file=out)
    return 0 if result.closed else 1


if __name__ == "__main__":
    sys.exit(main())
