"""The contract suite: each port's behaviour, run against its fake (tests/fakes.py) and its boto3 adapter on moto.

Every test here takes a fixture parametrized over both implementations, so an expectation that holds for
the real adapter and not for the fake (or the other way round) fails by name: `[fake]` or `[aws]`.

Where moto lacks an API the real adapter needs, the suite says so:
- DescribeAlarmHistory is absent from moto: the real alarms adapter runs on moto plus the offline runtime's
  DescribeAlarmHistory imitation (`retrainer_offline.alarms`, pinned to AWS's documented shape by
  tests/offline/test_cloudwatch_alarms.py), installed with an evaluation tick so long that it never
  evaluates on its own: only SetAlarmState moves an alarm.
- moto overwrites an endpoint config created twice (SageMaker refuses: ValidationException "Cannot create
  already existing endpoint configuration"): that expectation runs on the fake only.
- ExecutionHistory: moto answers GetExecutionHistory with canned events that do not come from the
  definition: not in this suite. DescribeProcessingJob of a real job needs a whole processing job: only
  the unknown-job answer is here (the offline runtime's tests run both for real).
- TriggerLedger runs in full on both; moto's DynamoDB honours the conditional writes and
  ReturnValuesOnConditionCheckFailure the ledger relies on.
"""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

IMPLEMENTATIONS = ["fake", "aws"]


@pytest.fixture
def aws() -> Iterator[None]:
    """moto in-process, fake credentials (tests/conftest.py) and us-east-1."""
    with mock_aws():
        yield


@pytest.fixture
def alarm_history() -> Iterator[None]:
    """moto plus the offline runtime's DescribeAlarmHistory; alarms move only by SetAlarmState."""
    from retrainer_offline import alarms

    with mock_aws():
        evaluator = alarms.install(tick_seconds=1e9)
        try:
            yield
        finally:
            evaluator.uninstall()


def role_arn() -> str:
    return boto3.client("iam").create_role(RoleName="contract", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
