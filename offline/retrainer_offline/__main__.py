"""`retrainer` (or `python -m retrainer_offline`): the offline runtime's and the runs' command line.

- `demo`: three retraining runs of the Breast Cancer model with predictions from the endpoint.
- `invoke <LogicalId> --event events/x.json`: `sam local invoke` without Docker: deploys the
  template offline and invokes one function through the Lambda API, printing what Lambda returns.
- `bench`: the performance figures (demo wall time, per-state overhead).
- `serve`: the stack deployed offline behind a local AWS endpoint (127.0.0.1:4566) for any AWS client.
- `runs`, `show RUN`, `logs RUN`, `follow RUN`, `notifications`: a stack's runs through plain boto3,
  against `serve` (`--endpoint-url`) or a stack deployed on AWS (`--profile`, `--region`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

SAMPLE_ENVIRONMENT = Path(__file__).resolve().parents[2] / "events" / "env.json"


def _with_deployed_names(event_text: str, environment: dict[str, str]) -> str:
    """The samples in events/ name example buckets (events/env.json); use this stack's real ones."""
    if not SAMPLE_ENVIRONMENT.exists():
        return event_text
    samples = json.loads(SAMPLE_ENVIRONMENT.read_text()).get("Parameters", {})
    for key in ("DATA_BUCKET", "ARTIFACTS_BUCKET"):
        if key in samples and key in environment:
            event_text = event_text.replace(samples[key], environment[key])
    return event_text


def invoke(function: str, event_path: Path) -> int:
    from retrainer_offline.runtime import OfflineRuntime

    try:
        event = json.loads(event_path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        print(f"cannot read event file {event_path}: {exc}", file=sys.stderr)
        return 2
    with OfflineRuntime() as runtime:
        try:
            deployed = runtime.deployed.function(function)
        except KeyError as exc:
            print(exc.args[0], file=sys.stderr)
            return 2
        text = _with_deployed_names(json.dumps(event), deployed.environment)
        response = runtime.client("lambda").invoke(FunctionName=deployed.function_name, Payload=text.encode())
        payload = response["Payload"].read().decode()
        for log in runtime.lambda_registry.logs.get(deployed.function_name, []):
            print(log, end="", file=sys.stderr)
        print(payload)
        if response.get("FunctionError"):
            print(f"{function} returned an error ({response['FunctionError']})", file=sys.stderr)
            return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="retrainer_offline", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    demo_parser = commands.add_parser("demo", help="run the whole retraining flow offline")
    demo_parser.add_argument("--plain", action="store_true", help="one line per state when it ends, no live view")
    invoke_parser = commands.add_parser("invoke", help="invoke one function with an event file")
    invoke_parser.add_argument("function", help="logical id in template.yaml, e.g. StartRetrainingFunction")
    invoke_parser.add_argument("--event", type=Path, required=True)
    commands.add_parser("bench", help="print performance figures")
    serve_parser = commands.add_parser("serve", help="serve the stack's AWS APIs on 127.0.0.1 for any AWS client")
    serve_parser.add_argument("--port", type=int, default=4566, help="the loopback port (default 4566)")
    serve_parser.add_argument(
        "--clock-scale", type=float, default=0.001, help="emulated waits run this much faster (default 0.001)"
    )
    serve_parser.add_argument("--stack-name", default="retrainer")
    serve_parser.add_argument("--quiet", action="store_true", help="print only the ready line")
    from retrainer_offline.commands.runs import add_commands, run_command

    add_commands(commands)
    args = parser.parse_args(argv)
    if args.command in {"runs", "show", "logs", "follow", "notifications", "report"}:
        return run_command(args)
    if args.command == "serve":
        from retrainer_offline.commands.serve import serve

        return serve(args.port, args.clock_scale, args.stack_name, args.quiet)
    if args.command == "demo":
        from rich.console import Console

        with Console(stderr=True).status("loading the offline runtime (moto, scikit-learn, the AWS imitations)"):
            from retrainer_offline.commands.demo import main as demo_main
        return demo_main(live=not args.plain)
    if args.command == "invoke":
        return invoke(args.function, args.event)
    from retrainer_offline.commands.bench import main as bench_main

    return bench_main()


if __name__ == "__main__":
    sys.exit(main())
