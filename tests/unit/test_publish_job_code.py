"""publish_job_code: the custom resource copies sagemaker_jobs to a content-addressed S3 prefix."""

from __future__ import annotations

from typing import Any

import pytest

from functions.publish_job_code import app
from tests.unit.conftest import FakeContext, Stack, load_event

SAMPLE = load_event("publish_job_code_create.json")


class Responses:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def send(self, response_url: str, body: dict[str, Any]) -> None:
        self.sent.append((response_url, body))


def test_create_publishes_preprocess_and_answers_cloudformation(
    stack: Stack, context: FakeContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    responses = Responses()
    monkeypatch.setattr(app.composition, "custom_resource_responder", lambda: responses)
    result = app.lambda_handler(SAMPLE, context)
    assert result["Status"] == "SUCCESS"
    prefix = result["Data"]["CodePrefix"]
    assert prefix.startswith(f"s3://{stack.artifacts_bucket}/job-code/") and prefix.endswith("/")
    key = prefix.removeprefix(f"s3://{stack.artifacts_bucket}/") + "preprocess.py"
    body = stack.s3.get_object(Bucket=stack.artifacts_bucket, Key=key)["Body"].read()
    assert b"def main(" in body
    assert responses.sent == [(SAMPLE["ResponseURL"], result)]


def test_failure_is_reported_to_cloudformation_not_left_hanging(
    stack: Stack, context: FakeContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    responses = Responses()
    monkeypatch.setattr(app.composition, "custom_resource_responder", lambda: responses)
    result = app.lambda_handler({**SAMPLE, "RequestType": "Upgrade"}, context)
    assert result["Status"] == "FAILED" and "unknown RequestType 'Upgrade'" in result["Reason"]
    assert len(responses.sent) == 1
