"""publish_job_code: the custom resource copies sagemaker_jobs to a content-addressed S3 prefix."""

from __future__ import annotations

import pytest

from functions.publish_job_code import app
from tests.aws_stack import Stack
from tests.fakes import FakeResponder
from tests.samples import FakeContext, load_event

SAMPLE = load_event("publish_job_code_create.json")


@pytest.fixture
def cloudformation(monkeypatch: pytest.MonkeyPatch) -> FakeResponder:
    """Given CloudFormation waiting at the event's pre-signed ResponseURL."""
    responses = FakeResponder()
    monkeypatch.setattr(app.composition, "custom_resource_responder", lambda: responses)
    return responses


def test_create_publishes_preprocess_and_answers_cloudformation(
    stack: Stack, context: FakeContext, cloudformation: FakeResponder
) -> None:
    # When CloudFormation creates the JobCode resource
    result = app.lambda_handler(SAMPLE, context)
    # Then the job code is in the artifacts bucket under a content-addressed prefix
    assert result["Status"] == "SUCCESS"
    prefix = result["Data"]["CodePrefix"]
    assert prefix.startswith(f"s3://{stack.artifacts_bucket}/job-code/") and prefix.endswith("/")
    key = prefix.removeprefix(f"s3://{stack.artifacts_bucket}/") + "preprocess.py"
    body = stack.s3.get_object(Bucket=stack.artifacts_bucket, Key=key)["Body"].read()
    assert b"def main(" in body
    # And CloudFormation got that answer, once, at its ResponseURL
    assert cloudformation.sent == [(SAMPLE["ResponseURL"], result)]


def test_failure_is_reported_to_cloudformation_not_left_hanging(
    stack: Stack, context: FakeContext, cloudformation: FakeResponder
) -> None:
    # When CloudFormation sends a request type the function does not know
    result = app.lambda_handler({**SAMPLE, "RequestType": "Upgrade"}, context)
    # Then CloudFormation is told it FAILED and why, instead of waiting an hour for an answer
    assert result["Status"] == "FAILED" and "unknown RequestType 'Upgrade'" in result["Reason"]
    assert cloudformation.sent == [(SAMPLE["ResponseURL"], result)]
