"""Unit-test fixtures: the stack's AWS resources on moto, named as in events/env.json."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from retrainer import composition, settings

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
ENVIRONMENT: dict[str, str] = json.loads((EVENTS / "env.json").read_text())["Parameters"]


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


@dataclass
class FakeContext:
    function_name: str = "retrainer-test"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:retrainer-test"
    aws_request_id: str = "52fdfc07-2182-454f-963f-5f0f9a621d72"
    log_stream_name: str = "2026/11/22/[$LATEST]0123456789abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@dataclass
class Stack:
    s3: Any
    sfn: Any
    dynamodb: Any
    data_bucket: str
    artifacts_bucket: str
    table: str
    state_machine_arn: str

    def upload(self, key: str, body: bytes = b"a,label\n1,0\n2,1\n") -> None:
        self.s3.put_object(Bucket=self.data_bucket, Key=key, Body=body)

    def executions(self) -> list[dict[str, Any]]:
        listed = self.sfn.list_executions(stateMachineArn=self.state_machine_arn)["executions"]
        return [self.sfn.describe_execution(executionArn=e["executionArn"]) for e in listed]

    def ledger(self) -> list[dict[str, Any]]:
        return self.dynamodb.scan(TableName=self.table)["Items"]


def _reset_caches() -> None:
    settings.load.cache_clear()
    for factory in (
        composition.s3_client,
        composition.sfn_client,
        composition.dynamodb_client,
        composition.sagemaker_client,
        composition.handled_triggers,
    ):
        factory.cache_clear()


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    """Given the deployed stack's buckets, trigger table and state machine (on moto)."""
    with mock_aws():
        s3 = boto3.client("s3")
        sfn = boto3.client("stepfunctions")
        dynamodb = boto3.client("dynamodb")
        iam = boto3.client("iam")
        for bucket in (ENVIRONMENT["DATA_BUCKET"], ENVIRONMENT["ARTIFACTS_BUCKET"]):
            s3.create_bucket(Bucket=bucket)
        dynamodb.create_table(
            TableName=ENVIRONMENT["TRIGGER_TABLE"],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        topic = ENVIRONMENT["NOTIFICATION_TOPIC_ARN"].rsplit(":", 1)[1]
        boto3.client("sns").create_topic(Name=topic)
        role = iam.create_role(RoleName="sfn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        arn = sfn.create_state_machine(
            name="RetrainingStateMachine",
            definition=(ROOT / "statemachines" / "retraining.asl.json").read_text(),
            roleArn=role,
        )["stateMachineArn"]
        for key, value in {**ENVIRONMENT, "STATE_MACHINE_ARN": arn}.items():
            monkeypatch.setenv(key, value)
        _reset_caches()
        yield Stack(
            s3=s3,
            sfn=sfn,
            dynamodb=dynamodb,
            data_bucket=ENVIRONMENT["DATA_BUCKET"],
            artifacts_bucket=ENVIRONMENT["ARTIFACTS_BUCKET"],
            table=ENVIRONMENT["TRIGGER_TABLE"],
            state_machine_arn=arn,
        )
    _reset_caches()


@pytest.fixture
def context() -> FakeContext:
    return FakeContext()


@pytest.fixture(autouse=True)
def _no_leaked_environment() -> Iterator[None]:
    before = dict(os.environ)
    yield
    for key in set(os.environ) - set(before):
        os.environ.pop(key, None)
