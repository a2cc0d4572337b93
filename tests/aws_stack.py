"""The deployed stack's AWS resources on moto, named as in events/env.json: what functional tests run handlers on.

`stack` is registered for every test in tests/conftest.py; unit tests must not use it (tests/unit/test_kinds.py).
moto is imported when the fixture runs, so collecting the unit tests never loads it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from retrainer import composition, settings
from tests.samples import ENVIRONMENT, ROOT


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


def reset_caches() -> None:
    """A new Lambda container: settings read again, boto3 clients built again (inside or outside moto)."""
    settings.load.cache_clear()
    for factory in (
        composition.s3_client,
        composition.sfn_client,
        composition.dynamodb_client,
        composition.sns_client,
        composition.sagemaker_client,
        composition.cloudwatch_client,
        composition.autoscaling_client,
        composition.handled_triggers,
    ):
        factory.cache_clear()


def _create_resources(boto3: Any) -> tuple[Any, Any, Any, str]:
    s3, sfn, dynamodb = boto3.client("s3"), boto3.client("stepfunctions"), boto3.client("dynamodb")
    for bucket in (ENVIRONMENT["DATA_BUCKET"], ENVIRONMENT["ARTIFACTS_BUCKET"]):
        s3.create_bucket(Bucket=bucket)
    dynamodb.create_table(
        TableName=ENVIRONMENT["TRIGGER_TABLE"],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST",
    )
    boto3.client("sns").create_topic(Name=ENVIRONMENT["NOTIFICATION_TOPIC_ARN"].rsplit(":", 1)[1])
    role = boto3.client("iam").create_role(RoleName="sfn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    arn = sfn.create_state_machine(
        name="RetrainingStateMachine",
        definition=(ROOT / "statemachines" / "retraining.asl.json").read_text(),
        roleArn=role,
    )["stateMachineArn"]
    return s3, sfn, dynamodb, arn


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    """Given the deployed stack's buckets, trigger table, topic and state machine (on moto)."""
    import boto3
    from moto import mock_aws

    with mock_aws():
        s3, sfn, dynamodb, arn = _create_resources(boto3)
        for key, value in {**ENVIRONMENT, "STATE_MACHINE_ARN": arn}.items():
            monkeypatch.setenv(key, value)
        reset_caches()
        yield Stack(
            s3=s3,
            sfn=sfn,
            dynamodb=dynamodb,
            data_bucket=ENVIRONMENT["DATA_BUCKET"],
            artifacts_bucket=ENVIRONMENT["ARTIFACTS_BUCKET"],
            table=ENVIRONMENT["TRIGGER_TABLE"],
            state_machine_arn=arn,
        )
    reset_caches()
