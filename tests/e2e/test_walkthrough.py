"""README "Your own data", run for real: `retrainer serve` in a subprocess, driven by the AWS CLI and boto3.

Given a served stack, when a user uploads a model config and a CSV with `aws s3 cp`, then the upload
starts a retraining that succeeds, the endpoint answers `aws sagemaker-runtime invoke-endpoint` and
boto3, the stack's outputs, runs and notifications are readable, and SIGTERM stops the server cleanly.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from retrainer_offline.sample_data.breast_cancer import MODEL_CONFIG, breast_cancer

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
MODEL = "cancer"
READY_TIMEOUT = 240.0
RUN_TIMEOUT = 300.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _aws_cli() -> str:
    found = Path(sys.executable).with_name("aws")
    return str(found) if found.exists() else shutil.which("aws") or pytest.skip("the AWS CLI is not installed")


@dataclass
class Served:
    process: subprocess.Popen[str]
    url: str
    env: dict[str, str]
    seconds_to_ready: float
    stderr: list[str]

    def aws(self, *args: str) -> str:
        done = subprocess.run(
            [_aws_cli(), *args], env=self.env, capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 0, f"aws {' '.join(args)} failed: {done.stderr}"
        return done.stdout

    def retrainer(self, *args: str) -> Any:
        done = subprocess.run(
            [sys.executable, "-m", "retrainer_offline", *args, "--json"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, f"retrainer {' '.join(args)} failed: {done.stderr}"
        return json.loads(done.stdout)

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.url, region_name="us-east-1")  # type: ignore[call-overload]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    home = tmp_path_factory.mktemp("home")
    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(str(ROOT / p) for p in ("shared", "offline", "sagemaker_jobs", ".")),
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(home / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
    }
    env.pop("AWS_SESSION_TOKEN", None)
    env.pop("AWS_PROFILE", None)
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "retrainer_offline", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stderr: list[str] = []
    threading.Thread(target=lambda: stderr.extend(process.stderr or []), daemon=True).start()
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append((process.stdout or [""]).readline()), daemon=True)
    reader.start()
    reader.join(READY_TIMEOUT)
    if not lines or not lines[0].startswith("ready: "):
        process.kill()
        pytest.fail(f"no ready line within {READY_TIMEOUT} s: {lines} {''.join(stderr)[-3000:]}")
    url = lines[0].removeprefix("ready: ").strip()
    served = Served(process, url, env, time.perf_counter() - started, stderr)
    try:
        yield served
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                process.kill()


def _outputs(served: Served) -> dict[str, str]:
    stacks = json.loads(served.aws("cloudformation", "describe-stacks", "--stack-name", "retrainer"))["Stacks"]
    return {output["OutputKey"]: output["OutputValue"] for output in stacks[0]["Outputs"]}


def _wait_for_run(served: Served, state_machine: str) -> dict[str, Any]:
    sfn = served.client("stepfunctions")
    deadline = time.monotonic() + RUN_TIMEOUT
    while time.monotonic() < deadline:
        executions = sfn.list_executions(stateMachineArn=state_machine)["executions"]
        ended = [e for e in executions if e.get("status") not in {None, "RUNNING"}]
        if ended:
            return dict(ended[0])
        time.sleep(0.5)
    pytest.fail(f"no run ended within {RUN_TIMEOUT} s: {''.join(served.stderr)[-3000:]}")


def test_your_own_data_walkthrough(served: Served, tmp_path: Path) -> None:
    # Given: the stack served on a loopback port, its outputs read with the AWS CLI
    assert served.url.startswith("http://127.0.0.1:")
    outputs = _outputs(served)
    assert {"DataBucketName", "ArtifactsBucketName", "DataPrefix", "StateMachineArn", "NotificationTopicArn"} <= set(
        outputs
    )
    data = breast_cancer(parts=1)
    csv_file, config_file = tmp_path / "my-data.csv", tmp_path / "model.json"
    csv_file.write_bytes(data.parts[0])
    config_file.write_text(json.dumps(MODEL_CONFIG))

    # When: the model's config and then its CSV are uploaded with `aws s3 cp`
    served.aws("s3", "cp", str(config_file), f"s3://{outputs['ArtifactsBucketName']}/config/{MODEL}.json")
    uploaded = time.perf_counter()
    served.aws("s3", "cp", str(csv_file), f"s3://{outputs['DataBucketName']}/{outputs['DataPrefix']}{MODEL}/")
    execution = _wait_for_run(served, outputs["StateMachineArn"])
    upload_to_end = time.perf_counter() - uploaded

    # Then: the run started by the upload succeeded, as the AWS CLI lists it
    listed = json.loads(
        served.aws("stepfunctions", "list-executions", "--state-machine-arn", outputs["StateMachineArn"])
    )
    assert [(e["name"], e["status"]) for e in listed["executions"]] == [(execution["name"], "SUCCEEDED")]
    history = json.loads(
        served.aws("stepfunctions", "get-execution-history", "--execution-arn", execution["executionArn"])
    )
    assert any(e.get("stateExitedEventDetails", {}).get("name") == "Train" for e in history["events"])

    # and the endpoint answers the AWS CLI and boto3 with a probability
    answer = tmp_path / "answer.txt"
    served.aws(
        "sagemaker-runtime", "invoke-endpoint", "--endpoint-name", f"retrainer-{MODEL}",
        "--content-type", "text/csv", "--body", data.holdout_features[0], str(answer),
    )  # fmt: skip
    assert 0.0 <= float(answer.read_text().strip()) <= 1.0
    response = served.client("sagemaker-runtime").invoke_endpoint(
        EndpointName=f"retrainer-{MODEL}", ContentType="text/csv", Body="\n".join(data.holdout_features)
    )
    scores = [float(line) for line in response["Body"].read().decode().split()]
    predicted = ["M" if score >= 0.5 else "B" for score in scores]
    assert sum(p == a for p, a in zip(predicted, data.holdout_labels, strict=True)) >= len(scores) - 2

    # and the run-management commands read the same run, its logs and its notice
    runs = served.retrainer("runs")
    assert [(r["run"], r["model"], r["status"], r["metric"]) for r in runs] == [
        (execution["name"], MODEL, "SUCCEEDED", "auc")
    ]
    assert runs[0]["value"] > 0.9
    logs = served.retrainer("logs", execution["name"], "--state", "Train")
    assert any("validation-auc" in line["message"] for line in logs)
    notices = served.retrainer("notifications")
    assert any(MODEL in str(n["subject"]) and "deployed" in str(n["subject"]) for n in notices)

    # and SIGTERM stops the server cleanly
    served.process.send_signal(signal.SIGTERM)
    assert served.process.wait(timeout=120) == 0
    print(f"serve to ready {served.seconds_to_ready:.1f} s; aws s3 cp to the run's end {upload_to_end:.1f} s")
