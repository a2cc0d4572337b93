"""What every monitoring action receives: its adapters, the stack's names, and the fields every request carries."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from retrainer.ports import (
    DriftAlarms,
    EventBus,
    FolderReader,
    ModelMonitorSchedules,
    ModelRegistry,
    MonitoringSchedules,
    Notifier,
)


@dataclass(frozen=True)
class MonitoringStack:
    """The stack's resources a monitoring action names (MonitoringFunction's environment)."""

    stack_name: str
    artifacts_bucket: str
    workflow_arn: str  # the monitoring state machine a schedule starts
    job_code_prefix: str
    model_monitor_image_uri: str = ""
    sagemaker_role_arn: str = ""
    data_key_arn: str = ""


@dataclass(frozen=True)
class MonitoringAdapters:
    objects: FolderReader
    schedules: MonitoringSchedules
    model_monitor: ModelMonitorSchedules
    alarms: DriftAlarms
    registry: ModelRegistry
    bus: EventBus
    notifier: Notifier


class MonitoringRequest(BaseModel):
    """A MonitoringFunction payload: `action` names it; the ids travel for the logs."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    model_name: str
    correlation_id: str = ""
