"""`make bench`: the offline runtime's performance figures, measured on the demo's own runs.

- demo wall time (four executions: deploy, canary promotion, gate rejection, rollback) and deploy time;
- orchestration overhead per state type: Pass/Choice, Lambda task, request-response SageMaker
  task, and what a `.sync` job adds beyond its compute (state duration - the job's runner time);
- a burst of 10,000 S3 events for one model through the trigger handler (events/s, warm p50/p99,
  executions started) and each handler's cold import in a fresh interpreter;
- at scale (scale_bench.py): one whole retraining on `BENCH_ROWS` synthetic rows vs the same work as a
  plain script (`overhead ratio (pipeline / plain script, <N> rows): <R>`), peak memory of each, and
  `xgboost.train` inside the runtime's training job vs in a fresh process on the same files.
"""

from __future__ import annotations

import io
import json
import random
import statistics
import sys
import time
from collections import defaultdict
from typing import Any

from retrainer_offline.commands import scale_bench
from retrainer_offline.commands.demo import Demo
from retrainer_offline.runtime import OfflineRuntime

# .sync job states -> where the run keeps the job's name
SYNC_STATES = {
    "Preprocess": ("preprocessing", "ProcessingJobName"),
    "Train": ("training", "TrainingJobName"),
    "ScoreChallenger": ("transform", "challenger", "TransformJobName"),
}
LAMBDA_STATES = {"Evaluate"}
ROLLOUT_STATES = {"RegisterModel", "FindChampion", "CheckAlarms", "Promote", "PlanRestore"}
REQUEST_RESPONSE_STATES = {"CreateModel", "CreateEndpoint", "StartCanary", "GoLive", "BlueGreenUpdate", "RestoreConfig"}
SDK_STATES = {"ShiftWeights", "RestoreWeights"}


def _ms(values: list[float]) -> str:
    if not values:
        return "n/a"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"median {statistics.median(values) * 1000:6.1f} ms  p95 {p95 * 1000:6.1f} ms  (n={len(values)})"


def _lambda_invocations(runtime: OfflineRuntime, count: int = 200) -> list[float]:
    """The runtime's own cost of a Lambda invocation: an event the handler rejects after parsing."""
    function = runtime.deployed.function("MonitorViolationFunction").function_name
    client = runtime.client("lambda")
    payload = b'{"source": "aws.cloudwatch", "detail-type": "CloudWatch Alarm State Change"}'
    seconds = []
    for _ in range(count):
        started = time.perf_counter()
        client.invoke(FunctionName=function, Payload=payload)
        seconds.append(time.perf_counter() - started)
    return seconds


BURST_MODEL = "burst"


def _s3_event(bucket: str, key: str, sequencer: str, event_id: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": event_id,
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": "123456789012",
        "time": "2026-11-22T10:00:00Z",
        "region": "us-east-1",
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": {"key": key, "size": 10, "etag": "e", "sequencer": sequencer},
            "request-id": "r",
            "requester": "123456789012",
            "reason": "PutObject",
        },
    }


def burst_events(bucket: str, prefix: str, objects: int = 2_000, deliveries: int = 5) -> list[dict[str, Any]]:
    """`objects` uploads to one model's folder, each event delivered `deliveries` times in shuffled order.

    Every 20th object was written twice: its newer write's event may arrive before the older one's
    (S3 does not order deliveries), and the older one is then rejected as late.
    """
    rng = random.Random(20261122)
    events = []
    for index in range(objects):
        key = f"{prefix}{BURST_MODEL}/part-{index}.csv"
        versions = [f"{index:016X}00"] + ([f"{index:016X}01"] if index % 20 == 0 else [])
        for delivery in range(deliveries):
            sequencer = versions[delivery % len(versions)]
            events.append(_s3_event(bucket, key, sequencer, f"burst-{index}-{sequencer[-2:]}"))
    rng.shuffle(events)
    return events


def _function(name: str) -> Any:
    from moto.awslambda.models import lambda_backends

    return lambda_backends["123456789012"]["us-east-1"].get_function(name)


def trigger_burst(objects: int = 2_000, deliveries: int = 5) -> dict[str, Any]:
    """S3 events for one model through StartRetrainingFunction's handler, in-process.

    Each event is one `LambdaRegistry.run`: the function's module as the offline runtime loads it, a
    LambdaContext, the function's environment, the real boto3 adapters against the runtime's moto
    (no fakes). Lambda's own Invoke API overhead in moto is left out: it is not the handler. The stack's
    quiet window is at its maximum (3,600 s, 36 s of wall time on this clock) so the run started by the
    first event waits in its debounce for the whole burst, as a run would while uploads keep coming.
    """
    with OfflineRuntime(parameters={"QuietWindowSeconds": "3600"}, clock_scale=0.01) as runtime:
        start_function = _function(runtime.deployed.function("StartRetrainingFunction").function_name)
        coordinate_function = _function(runtime.deployed.function("CoordinateRunsFunction").function_name)
        events = burst_events(runtime.buckets.data, runtime.buckets.data_prefix, objects, deliveries)
        registry = runtime.lambda_registry
        # Offline, every invocation holds one process-wide lock (os.environ); the 15-minute sweep (9 s on
        # this clock) would stall the burst behind its table scan. On AWS it runs in its own container.
        events_client = runtime.client("events")
        sweep_rules = [r["Name"] for r in events_client.list_rules()["Rules"] if r.get("ScheduleExpression")]
        for rule in sweep_rules:
            events_client.disable_rule(Name=rule)
        latencies = []
        first_deliveries: list[float] = []
        redeliveries: list[float] = []
        seen: set[str] = set()
        statuses: dict[str, int] = defaultdict(int)
        started = time.perf_counter()
        for event in events:
            t0 = time.perf_counter()
            invocation = registry.run(start_function, event)
            latencies.append(time.perf_counter() - t0)
            (redeliveries if event["id"] in seen else first_deliveries).append(latencies[-1])
            seen.add(event["id"])
            answer = json.loads(invocation.payload)
            statuses[answer.get("status", answer.get("errorType", "error"))] += 1
        seconds = time.perf_counter() - started
        executions = [e for e in runtime.executions() if e["name"].startswith(f"{BURST_MODEL}-")]
        # The run's debounce then claims every trigger of the burst (one claim, as the state machine
        # calls it), and the run is stopped: the "run ended" rule frees the model, nothing is pending.
        claim: dict[str, Any] = {}
        claim_seconds = 0.0
        for execution in executions:
            claim_started = time.perf_counter()
            claim = json.loads(
                registry.run(
                    coordinate_function,
                    {"action": "claim", "model_name": BURST_MODEL, "run_id": execution["name"], "seen_seq": 2**62},
                ).payload
            )
            claim_seconds += time.perf_counter() - claim_started
            runtime.client("stepfunctions").stop_execution(executionArn=execution["executionArn"])
    warm = sorted(latencies[1:])
    return {
        "events": len(events),
        "objects": objects,
        "deliveries": deliveries,
        "seconds": seconds,
        "per_second": len(events) / seconds,
        "cold_ms": latencies[0] * 1000,
        "p50_ms": warm[len(warm) // 2] * 1000,
        "p99_ms": warm[int(len(warm) * 0.99)] * 1000,
        "first_p50_ms": _percentile(first_deliveries[1:], 0.5),
        "first_p99_ms": _percentile(first_deliveries[1:], 0.99),
        "again_p50_ms": _percentile(redeliveries, 0.5),
        "again_p99_ms": _percentile(redeliveries, 0.99),
        "executions": len(executions),
        "statuses": dict(statuses),
        "claimed": int(claim.get("consumed", 0)),
        "claim_seconds": claim_seconds,
    }


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] * 1000 if ordered else 0.0


def cold_imports() -> dict[str, float]:
    """Import time of each handler module in a fresh interpreter (what a Lambda cold start pays)."""
    import os
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(root / p) for p in ("shared", "sagemaker_jobs", "."))}
    found = {}
    for folder in sorted((root / "functions").iterdir()):
        if not (folder / "app.py").exists():
            continue
        code = f"import time; t=time.perf_counter(); import functions.{folder.name}.app; print(time.perf_counter()-t)"
        result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        found[folder.name] = float(result.stdout.strip().splitlines()[-1]) * 1000
    return found


def _lookup(data: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def _overheads(reports: list[Any], compute: dict[str, float]) -> dict[str, list[float]]:
    """Seconds each kind of state took, beyond the job's own compute for .sync jobs."""
    kinds: dict[str, list[float]] = defaultdict(list)
    for report in reports:
        for state in report.states:
            if state.state_type in {"Pass", "Choice"}:
                kinds["Pass/Choice"].append(state.seconds)
            elif state.name in LAMBDA_STATES:
                kinds["Lambda task (Evaluate)"].append(state.seconds)
            elif state.name in ROLLOUT_STATES or state.name.startswith("Verify"):
                kinds["Lambda task (rollout step)"].append(state.seconds)
            elif state.name in REQUEST_RESPONSE_STATES:
                kinds["SageMaker request-response"].append(state.seconds)
            elif state.name in SDK_STATES:
                kinds["aws-sdk task"].append(state.seconds)
            elif state.name in SYNC_STATES:
                job = _lookup(report.final_state, SYNC_STATES[state.name])
                if job in compute:
                    kinds[".sync beyond job compute"].append(max(0.0, state.seconds - compute[job]))
    return kinds


def main() -> int:
    started = time.perf_counter()
    with OfflineRuntime() as runtime:
        demo = Demo(out=io.StringIO())
        code = demo.run(runtime)
        compute = dict(runtime.job_runner.compute_seconds)
        deploy_seconds = runtime.deploy_seconds
        invoke_seconds = _lambda_invocations(runtime)
    wall = time.perf_counter() - started
    burst = trigger_burst()
    kinds = _overheads(demo.summary.reports, compute)
    print("retrainer offline benchmark (python -m retrainer_offline bench)")
    print(f"  demo exit code {code}; wall time {wall:.1f} s including runtime start, deploy {deploy_seconds:.1f} s")
    print(f"  executions: {', '.join(f'{r.name} {r.status} {r.seconds:.1f}s' for r in demo.summary.reports)}")
    print(
        "  time per stage (all runs): "
        + ", ".join(
            f"{name} {secs:.2f}s" for name, secs in sorted(demo.summary.stage_seconds.items(), key=lambda x: -x[1])[:8]
        )
    )
    jobs = ", ".join(f"{name} {seconds:.2f}s" for name, seconds in compute.items())
    print(f"  job compute: {jobs}")
    print(f"  in-process Lambda invoke through the Lambda API (handler rejects at once): {_ms(invoke_seconds)}")
    print(
        f"  trigger burst (StartRetrainingFunction handler in-process, moto, real adapters): {burst['events']}"
        f" S3 events for one model ({burst['deliveries']} deliveries of each of {burst['objects']} objects,"
        f" shuffled; every 20th object written twice) in {burst['seconds']:.1f} s = {burst['per_second']:.0f}"
        f" events/s; cold call {burst['cold_ms']:.0f} ms; warm latency p50 {burst['p50_ms']:.2f} ms,"
        f" p99 {burst['p99_ms']:.2f} ms (first deliveries p50 {burst['first_p50_ms']:.2f} ms, p99"
        f" {burst['first_p99_ms']:.2f} ms; redeliveries p50 {burst['again_p50_ms']:.2f} ms, p99"
        f" {burst['again_p99_ms']:.2f} ms); executions started: {burst['executions']};"
        f" statuses: {', '.join(f'{k} {v}' for k, v in sorted(burst['statuses'].items()))};"
        f" the run's claim then consumed {burst['claimed']} triggers in {burst['claim_seconds']:.1f} s"
    )
    imports = cold_imports()
    print("  cold import per handler: " + ", ".join(f"{name} {ms:.0f} ms" for name, ms in imports.items()))
    print("  orchestration overhead per state:")
    for kind, values in kinds.items():
        print(f"    {kind:<28} {_ms(values)}")
    at_scale = scale_bench.run()
    for line in scale_bench.report_lines(at_scale):
        print(line)
    # The monitoring jobs (issues 14 and 15) on 1,000,000 captured records, each side in its own interpreter.
    from retrainer_jobs.monitoring import bench as monitoring_bench
    from retrainer_jobs.monitoring import model_quality_bench

    for line in monitoring_bench.bench_lines() + model_quality_bench.bench_lines():
        print(line)
    return code if at_scale["status"] == "SUCCEEDED" else 1


if __name__ == "__main__":
    sys.exit(main())
