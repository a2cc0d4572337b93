"""`make bench`: the offline runtime's performance figures, measured on the demo's own runs.

- demo wall time (three executions) and deploy time;
- orchestration overhead per state type: Pass/Choice, Lambda task, request-response SageMaker
  task, and what a `.sync` job adds beyond its compute (state duration - the job's runner time).
"""

from __future__ import annotations

import io
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


def main() -> int:
    started = time.perf_counter()
    with OfflineRuntime() as runtime:
        demo = Demo(out=io.StringIO())
        code = demo.run(runtime)
        compute = dict(runtime.job_runner.compute_seconds)
        deploy_seconds = runtime.deploy_seconds
        invoke_seconds = _lambda_invocations(runtime)
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
    print("  orchestration overhead per state:")
    for kind, values in kinds.items():
        print(f"    {kind:<28} {_ms(values)}")
    return code


if __name__ == "__main__":
    sys.exit(main())
