"""`retrainer serve`: the stack deployed offline, its AWS APIs served on a loopback port.

moto's server mode answers on 127.0.0.1:<port> from the same in-process backends the offline runtime
patches, so any AWS client (the CLI, boto3, the SageMaker SDK, an application) pointed at the URL with
`--endpoint-url` or `AWS_ENDPOINT_URL` drives the real event path: an S3 upload starts a retraining,
Step Functions lists it, the endpoint answers, CloudFormation describes the stack's outputs.

It prints exactly one `ready: <url>` line on stdout once requests are accepted (progress goes to
stderr), runs until SIGINT/SIGTERM, then stops accepting requests, drains the runs in flight (nothing
may outlive the mock: offline-runtime-notes) and exits 0.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
import warnings
from types import FrameType
from typing import Any

from rich.console import Console

from retrainer_offline.commands.progress import RunObserver

LOOPBACK = "127.0.0.1"
NOTIFICATIONS_QUEUE = "{stack}-notifications"


class LocalEndpoint:
    """moto's WSGI app on a loopback port; binding happens in the constructor, so a busy port raises here."""

    def __init__(self, port: int) -> None:
        from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server(LOOPBACK, port, app, threaded=True, request_handler=MotoRequestHandler)
        self.url = f"http://{LOOPBACK}:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-endpoint", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=10)
        self._server.server_close()


def register_stack(runtime: Any) -> None:
    """Make `cloudformation describe-stacks --stack-name <stack>` answer with the deployed outputs.

    The deployer creates resources one API call at a time (moto's CloudFormation cannot create them all);
    this records a stack of that name whose Outputs are the template's, resolved."""
    from retrainer_offline.cloudformation.sam_transform import load_sam_template

    outputs = load_sam_template(runtime.template).get("Outputs", {})
    body = {
        "Description": f"retrainer stack {runtime.stack_name} (offline runtime)",
        "Resources": {"OfflineRuntime": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {
            name: {"Value": value, **{k: v for k, v in outputs.get(name, {}).items() if k == "Description"}}
            for name, value in runtime.stack.outputs.items()
        },
    }
    runtime.client("cloudformation").create_stack(StackName=runtime.stack_name, TemplateBody=json.dumps(body))


def subscribe_notifications(runtime: Any) -> str:
    """An SQS queue subscribed to the notification topic (what a team would subscribe); its URL."""
    sqs = runtime.client("sqs")
    url: str = sqs.create_queue(QueueName=NOTIFICATIONS_QUEUE.format(stack=runtime.stack_name))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    runtime.client("sns").subscribe(TopicArn=runtime.output("NotificationTopicArn"), Protocol="sqs", Endpoint=arn)
    return url


class _Stop:
    """SIGINT/SIGTERM set an event the main thread waits on (the handlers run on the main thread)."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.signal_name = ""

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        del frame
        if self.event.is_set():
            # A second signal while runs drain: leave now. os._exit, not an exception: unwinding would stop
            # the mock under running threads, whose calls would then go to real AWS (offline-runtime-notes).
            print("second signal: exiting without waiting for the runs in flight", file=sys.stderr, flush=True)
            os._exit(128 + signum)
        self.signal_name = signal.Signals(signum).name
        self.event.set()

    def install(self) -> None:
        signal.signal(signal.SIGINT, self)
        signal.signal(signal.SIGTERM, self)


def serve(port: int = 4566, clock_scale: float = 0.001, stack_name: str = "retrainer", quiet: bool = False) -> int:
    console = Console(stderr=True, highlight=False, quiet=quiet, soft_wrap=True)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    warnings.filterwarnings("ignore", message="Tried to parse AWS::CloudFormation::WaitConditionHandle")
    stop = _Stop()
    stop.install()
    started = time.perf_counter()
    try:
        endpoint = LocalEndpoint(port)  # before the slow deploy: a busy port fails at once
    except OSError as exc:
        print(f"cannot listen on {LOOPBACK}:{port}: {exc}", file=sys.stderr)
        return 2
    with console.status("loading the offline runtime (moto, the AWS imitations)"):
        from retrainer_offline.runtime import OfflineRuntime

        runtime = OfflineRuntime(stack_name=stack_name, clock_scale=clock_scale)
    with console.status(f"deploying template.yaml as stack '{stack_name}'"), runtime:
        register_stack(runtime)
        queue_url = subscribe_notifications(runtime)
        console.print(f"deployed stack '{stack_name}' in {runtime.deploy_seconds:.1f} s")
        return _serve_deployed(runtime, endpoint, queue_url, console, stop, started)
    return 0  # pragma: no cover - the with block returns


def _serve_deployed(
    runtime: Any, endpoint: LocalEndpoint, queue_url: str, console: Console, stop: _Stop, started: float
) -> int:
    if stop.event.is_set():  # interrupted while deploying
        return 0
    endpoint.start()
    outputs = runtime.stack.outputs
    local_queue_url = queue_url.replace("http://localhost:4566", endpoint.url).replace(
        "https://sqs.us-east-1.amazonaws.com", endpoint.url
    )
    console.print(
        f"  upload CSVs to   s3://{outputs['DataBucketName']}/{outputs['DataPrefix']}<model>/\n"
        f"  model configs in s3://{outputs['ArtifactsBucketName']}/config/<model>.json\n"
        f"  state machine    {outputs['StateMachineArn']}\n"
        f"  notifications    {local_queue_url}\n"
        f"  clients: AWS_ENDPOINT_URL={endpoint.url} AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing "
        f"AWS_DEFAULT_REGION=us-east-1\n"
        f"  ({time.perf_counter() - started:.1f} s to start; Ctrl-C stops)"
    )
    print(f"ready: {endpoint.url}", flush=True)
    observer = RunObserver(runtime.client("stepfunctions"), runtime.client("logs"), console)
    watcher = threading.Thread(
        target=observer.watch, args=(runtime.state_machine_arn, stop.event), name="progress", daemon=True
    )
    watcher.start()
    try:
        stop.event.wait()
    finally:
        running = runtime.client("stepfunctions").list_executions(
            stateMachineArn=runtime.state_machine_arn, statusFilter="RUNNING"
        )["executions"]
        console.print(
            f"{stop.signal_name or 'stop'}: no new requests; waiting for {len(running)} run(s) in flight "
            "(a second Ctrl-C leaves at once)"
        )
        endpoint.stop()
        watcher.join(timeout=10)
    return 0


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - the console entry point wires it
    del argv
    return serve()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
