"""Pydantic models of the AWS events retrainer's functions accept (shapes: sagemaker-contracts.md §8)."""

from __future__ import annotations

from typing import Literal

from aws_lambda_powertools.utilities.parser.models import (
    EventBridgeModel,
    S3EventNotificationEventBridgeModel,
)
from pydantic import BaseModel, ConfigDict, Field


class S3ObjectCreatedEvent(S3EventNotificationEventBridgeModel):
    """S3 "Object Created" delivered by EventBridge."""

    source: Literal["aws.s3"]
    detail_type: Literal["Object Created"] = Field(alias="detail-type")


class AlarmState(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    value: Literal["OK", "ALARM", "INSUFFICIENT_DATA"]
    reason: str = ""
    timestamp: str


class AlarmDetail(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    alarm_name: str = Field(alias="alarmName", min_length=1, max_length=255)
    state: AlarmState
    previous_state: AlarmState | None = Field(default=None, alias="previousState")


class AlarmStateChangeEvent(EventBridgeModel):
    """CloudWatch "Alarm State Change" as EventBridge delivers it (Powertools has no parser model)."""

    source: Literal["aws.cloudwatch"]
    detail_type: Literal["CloudWatch Alarm State Change"] = Field(alias="detail-type")
    detail: AlarmDetail


class ProcessingJobDetail(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    processing_job_name: str = Field(alias="ProcessingJobName", min_length=1)
    processing_job_status: str = Field(alias="ProcessingJobStatus")
    exit_message: str | None = Field(default=None, alias="ExitMessage")
    environment: dict[str, str] = Field(default_factory=dict, alias="Environment")


class ProcessingJobStateChangeEvent(EventBridgeModel):
    """ "SageMaker Processing Job State Change": how a Model Monitor run reports its end (§7-8); the project's
    own monitoring runs report theirs in the same shape from `retrainer.monitoring` (services/monitoring/results)."""

    source: Literal["aws.sagemaker", "retrainer.monitoring"]
    detail_type: Literal["SageMaker Processing Job State Change"] = Field(alias="detail-type")
    detail: ProcessingJobDetail
