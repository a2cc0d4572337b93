"""The composition root: the only place that builds boto3 clients and wires adapters into services.

Clients are built once per container (at the first call) and reused across invocations. boto3 is
imported on first use, not at import time, to keep the handlers' cold import small.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from retrainer.adapters.aws import (
    DynamoDBTriggerLedger,
    S3ConfigStore,
    S3DataCatalog,
    S3Objects,
    SageMakerProcessingJobs,
    SnsNotifier,
    StepFunctionsStarter,
)
from retrainer.services.runs import Adapters
from retrainer.settings import PipelineDefaults

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_stepfunctions import SFNClient


@cache
def s3_client() -> S3Client:
    import boto3

    return boto3.client("s3")


@cache
def sfn_client() -> SFNClient:
    import boto3

    return boto3.client("stepfunctions")


@cache
def dynamodb_client() -> DynamoDBClient:
    import boto3

    return boto3.client("dynamodb")


@cache
def sns_client() -> SNSClient:
    import boto3

    return boto3.client("sns")


@cache
def sagemaker_client() -> SageMakerClient:
    import boto3

    return boto3.client("sagemaker")


def trigger_adapters(settings: PipelineDefaults) -> Adapters:
    """What both trigger functions need to start a run."""
    return Adapters(
        config_store=S3ConfigStore(s3_client(), settings.artifacts_bucket),
        data_catalog=S3DataCatalog(s3_client()),
        ledger=DynamoDBTriggerLedger(dynamodb_client(), settings.trigger_table),
        starter=StepFunctionsStarter(sfn_client(), settings.state_machine_arn),
        notifier=SnsNotifier(sns_client(), settings.notification_topic_arn),
    )


def processing_jobs() -> SageMakerProcessingJobs:
    return SageMakerProcessingJobs(sagemaker_client())


def s3_objects() -> S3Objects:
    return S3Objects(s3_client())
