"""The composition root: the only place that builds boto3 clients and wires adapters into services.

Clients are built once per container (at the first call) and reused across invocations. boto3 is
imported on first use, not at import time, to keep the handlers' cold import small.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from retrainer.adapters.dynamodb import DynamoDBTriggerLedger
from retrainer.adapters.s3 import S3ConfigStore, S3DataCatalog, S3Objects
from retrainer.adapters.sns import SnsNotifier
from retrainer.adapters.stepfunctions import StepFunctionsHistory, StepFunctionsStarter
from retrainer.services.runs import Adapters, HandledTriggers
from retrainer.settings import ManageRolloutSettings, MonitoringFunctionSettings, PipelineDefaults

if TYPE_CHECKING:
    from mypy_boto3_application_autoscaling import ApplicationAutoScalingClient
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_stepfunctions import SFNClient

    from retrainer.adapters.cloudformation import HttpCustomResourceResponder
    from retrainer.adapters.sagemaker import SageMakerProcessingJobs
    from retrainer.services.monitoring import MonitoringAdapters, MonitoringStack
    from retrainer.services.rollout import RolloutAdapters


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


@cache
def handled_triggers() -> HandledTriggers:
    """Per container: triggers already handled here (a redelivery of one costs no AWS call)."""
    return HandledTriggers()


def trigger_adapters(settings: PipelineDefaults) -> Adapters:
    """What both trigger functions need to start a run."""
    return Adapters(
        config_store=S3ConfigStore(s3_client(), settings.artifacts_bucket),
        data_catalog=S3DataCatalog(s3_client()),
        ledger=DynamoDBTriggerLedger(dynamodb_client(), settings.trigger_table),
        starter=StepFunctionsStarter(sfn_client(), settings.state_machine_arn),
        notifier=SnsNotifier(sns_client(), settings.notification_topic_arn),
        handled=handled_triggers(),
    )


def execution_history() -> StepFunctionsHistory:
    return StepFunctionsHistory(sfn_client())


def processing_jobs() -> SageMakerProcessingJobs:
    from retrainer.adapters.sagemaker import SageMakerProcessingJobs

    return SageMakerProcessingJobs(sagemaker_client())


def s3_objects() -> S3Objects:
    return S3Objects(s3_client())


def custom_resource_responder() -> HttpCustomResourceResponder:
    from retrainer.adapters.cloudformation import HttpCustomResourceResponder

    return HttpCustomResourceResponder()


@cache
def cloudwatch_client() -> CloudWatchClient:
    import boto3

    return boto3.client("cloudwatch")


@cache
def autoscaling_client() -> ApplicationAutoScalingClient:
    import boto3

    return boto3.client("application-autoscaling")


def rollout_adapters(settings: ManageRolloutSettings) -> RolloutAdapters:
    """What the rollout's steps need: endpoints, the registry, the challenger's alarms and auto scaling.

    Imported here, not at the top: the trigger functions share this module and never pay for them."""
    from retrainer.adapters.application_autoscaling import ApplicationAutoScalingVariants
    from retrainer.adapters.cloudwatch_alarms import CloudWatchVariantAlarms
    from retrainer.adapters.sagemaker import SageMakerEndpoints, SageMakerModelRegistry
    from retrainer.services.rollout import RolloutAdapters

    return RolloutAdapters(
        endpoints=SageMakerEndpoints(sagemaker_client(), settings.data_key_arn),
        registry=SageMakerModelRegistry(sagemaker_client()),
        alarms=CloudWatchVariantAlarms(cloudwatch_client()),
        scaling=ApplicationAutoScalingVariants(autoscaling_client()),
    )


@cache
def scheduler_client() -> Any:
    import boto3

    return boto3.client("scheduler")


@cache
def events_client() -> EventBridgeClient:
    import boto3

    return boto3.client("events")


def monitoring(settings: MonitoringFunctionSettings) -> tuple[MonitoringStack, MonitoringAdapters]:
    """What the monitoring actions need: S3 reads, schedules (either engine), drift alarms and metrics, the
    registry, the bus and the topic. Imported here, not at the top (the trigger functions never pay for them)."""
    from retrainer.adapters.cloudwatch_drift import CloudWatchDriftAlarms
    from retrainer.adapters.eventbridge import EventBridgeBus
    from retrainer.adapters.sagemaker import SageMakerModelRegistry
    from retrainer.adapters.sagemaker_monitoring import SageMakerModelMonitorSchedules
    from retrainer.adapters.scheduler import SchedulerMonitoringSchedules
    from retrainer.services.monitoring import MonitoringAdapters, MonitoringStack

    stack = MonitoringStack(
        stack_name=settings.stack_name,
        artifacts_bucket=settings.artifacts_bucket,
        workflow_arn=settings.workflow_arn,
        job_code_prefix=settings.job_code_prefix,
        model_monitor_image_uri=settings.model_monitor_image_uri,
        sagemaker_role_arn=settings.sagemaker_role_arn,
        data_key_arn=settings.data_key_arn,
    )
    adapters = MonitoringAdapters(
        objects=s3_objects(),
        schedules=SchedulerMonitoringSchedules(
            scheduler_client(), settings.schedule_group, settings.scheduler_role_arn
        ),
        model_monitor=SageMakerModelMonitorSchedules(sagemaker_client()),
        alarms=CloudWatchDriftAlarms(cloudwatch_client()),
        registry=SageMakerModelRegistry(sagemaker_client()),
        bus=EventBridgeBus(events_client()),
        notifier=SnsNotifier(sns_client(), settings.notification_topic_arn),
    )
    return stack, adapters
