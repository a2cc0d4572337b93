"""`make bench`: the offline runtime's performance figures, measured on the demo's own runs.

- demo wall time (three executions) and deploy time;
- orchestration overhead per state type: Pass/Choice, Lambda task, request-response SageMaker
  task, and what a `.sync` job adds beyond its compute (state duration - the job's runner time).
"""

from __future__ import annotations

import io
import json
import statistics
import sys
import time
from collections import defaultdict

from retrainer_offline.demo import Demo
from retrainer_offline.runtime import OfflineRuntime

SYNC_STATES = {"Preprocess": "preprocessing", "Train": "training", "Validate": "transform"}
JOB_NAME_FIELDS = {"preprocessing": "ProcessingJobName", "training": "TrainingJobName", "transform": "TransformJobName"}
LAMBDA_STATES = {"Evaluate"}
REQUEST_RESPONSE_STATES = {"CreateModel", "CreateEndpointConfig", "CreateEndpoint", "UpdateEndpoint"}
SDK_STATES = {"FindEndpoint", "CheckEndpoint"}


def _ms(values: list[float]) -> str:
    if not values:
        return "n/a"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"median {statistics.median(values) * 1000:6.1f} ms  p95 {p95 * 1000:6.1f} ms  (n={len(values)})"


def _lambda_invocations(runtime: OfflineRuntime, count: int = 200) -> list[float]:
    """The runtime's own cost of a Lambda invocation: an event the handler rejects after parsing."""
    assert runtime.stack is not None
    function = runtime.stack.functions["MonitorViolationFunction"].function_name
    client = runtime.client("lambda")
    payload = b'{"source": "aws.cloudwatch", "detail-type": "CloudWatch Alarm State Change"}'
    seconds = []
    for _ in range(count):
        started = time.perf_counter()
        client.invoke(FunctionName=function, Payload=payload)
        seconds.append(time.perf_counter() - started)
    return seconds


def trigger_burst(runtime: OfflineRuntime, events: int = 2_000, distinct: int = 400) -> dict[str, float]:
    """S3 events for one model (each object's event delivered 5 times) through StartRetrainingFunction."""
    assert runtime.stack is not None
    function = runtime.stack.functions["StartRetrainingFunction"].function_name
    bucket = runtime.output("DataBucketName")
    prefix = runtime.output("DataPrefix")
    runtime.client("s3").put_object(Bucket=bucket, Key=f"{prefix}burst/seed.csv", Body=b"a,label\n1,0\n")
    client = runtime.client("lambda")
    latencies = []
    statuses: dict[str, int] = defaultdict(int)
    started = time.perf_counter()
    for n in range(events):
        index = n % distinct
        event = {
            "version": "0",
            "id": f"burst-{index}",
            "detail-type": "Object Created",
            "source": "aws.s3",
            "account": "123456789012",
            "time": "2026-11-22T10:00:00Z",
            "region": "us-east-1",
            "resources": [f"arn:aws:s3:::{bucket}"],
            "detail": {
                "version": "0",
                "bucket": {"name": bucket},
                "object": {
                    "key": f"{prefix}burst/part-{index}.csv",
                    "size": 10,
                    "etag": "e",
                    "sequencer": f"{index:018X}",
                },
                "request-id": "r",
                "requester": "123456789012",
                "reason": "PutObject",
            },
        }
        t0 = time.perf_counter()
        response = client.invoke(FunctionName=function, Payload=json.dumps(event).encode())
        latencies.append(time.perf_counter() - t0)
        statuses[json.loads(response["Payload"].read()).get("status", "error")] += 1
    seconds = time.perf_counter() - started
    warm = sorted(latencies[1:])
    executions = [e for e in runtime.executions() if e["name"].startswith("burst-")]
    return {
        "events": events,
        "objects": distinct,
        "seconds": seconds,
        "per_second": events / seconds,
        "p50_ms": warm[len(warm) // 2] * 1000,
        "p99_ms": warm[int(len(warm) * 0.99)] * 1000,
        "executions": len(executions),
        **{f"status_{k}": v for k, v in statuses.items()},
    }


def cold_imports() -> dict[str, float]:
    """Import time of each handler module in a fresh interpreter (what a Lambda cold start pays)."""
    import os
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(root / p) for p in ("shared", "sagemaker_jobs", "."))}
    found = {}
    for folder in sorted((root / "functions").iterdir()):
        if not (folder / "app.py").exists():
            continue
        code = f"import time; t=time.perf_counter(); import functions.{folder.name}.app; print(time.perf_counter()-t)"
        result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        found[folder.name] = float(result.stdout.strip().splitlines()[-1]) * 1000
    return found


def main() -> int:
    started = time.perf_counter()
    with OfflineRuntime() as runtime:
        demo = Demo(out=io.StringIO())
        code = demo.run(runtime)
        compute = dict(runtime.job_runner.compute_seconds)
        deploy_seconds = runtime.deploy_seconds
        invoke_seconds = _lambda_invocations(runtime)
        burst = trigger_burst(runtime)
    wall = time.perf_counter() - started
    kinds: dict[str, list[float]] = defaultdict(list)
    for report in demo.summary.reports:
        output = report.output or {}
        for state in report.states:
            if state.state_type in {"Pass", "Choice"}:
                kinds["Pass/Choice"].append(state.seconds)
            elif state.name in LAMBDA_STATES:
                kinds["Lambda task (Evaluate)"].append(state.seconds)
            elif state.name in REQUEST_RESPONSE_STATES:
                kinds["SageMaker request-response"].append(state.seconds)
            elif state.name in SDK_STATES:
                kinds["aws-sdk task"].append(state.seconds)
            elif state.name in SYNC_STATES:
                field = SYNC_STATES[state.name]
                job = (output.get(field) or {}).get(JOB_NAME_FIELDS[field])
                if job in compute:
                    kinds[".sync beyond job compute"].append(max(0.0, state.seconds - compute[job]))
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
        f"  trigger burst: {burst['events']} S3 events for one model"
        f" ({burst['events'] // burst['objects']:.0f} deliveries of each of {burst['objects']:.0f} objects)"
        f" in {burst['seconds']:.1f} s = {burst['per_second']:.0f} events/s; warm latency p50"
        f" {burst['p50_ms']:.1f} ms, p99 {burst['p99_ms']:.1f} ms; executions started: {burst['executions']};"
        f" {', '.join(f'{k} {v}' for k, v in burst.items() if k.startswith('status_'))}"
    )
    imports = cold_imports()
    print("  cold import per handler: " + ", ".join(f"{name} {ms:.0f} ms" for name, ms in imports.items()))
    print("  orchestration overhead per state:")
    for kind, values in kinds.items():
        print(f"    {kind:<28} {_ms(values)}")
    return code


if __name__ == "__main__":
    sys.exit(main())
