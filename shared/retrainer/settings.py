"""One settings model per function, read once at cold start from the environment SAM sets."""

from __future__ import annotations

import os
from functools import cache
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from retrainer.pipeline_config import InstanceSettings, Metric, PipelineConfig, RolloutSettings, RolloutStrategy


class _Settings(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    @classmethod
    def from_environment(cls: type[_S]) -> _S:
        return cls.model_validate(dict(os.environ))


_S = TypeVar("_S", bound=_Settings)


class PipelineDefaults(_Settings):
    """The stack-wide pipeline defaults (template Parameters), shared by both trigger functions."""

    stack_name: str = Field(alias="STACK_NAME", pattern=r"^[a-zA-Z][a-zA-Z0-9-]{0,29}$")
    data_bucket: str = Field(alias="DATA_BUCKET")
    data_prefix: str = Field(alias="DATA_PREFIX")
    artifacts_bucket: str = Field(alias="ARTIFACTS_BUCKET")
    state_machine_arn: str = Field(alias="STATE_MACHINE_ARN")
    trigger_table: str = Field(alias="TRIGGER_TABLE")
    default_target_column: str = Field(alias="DEFAULT_TARGET_COLUMN")
    default_drop_columns: str = Field(default="", alias="DEFAULT_DROP_COLUMNS")
    default_metric: Metric = Field(alias="EVALUATION_METRIC")
    default_threshold: float = Field(alias="EVALUATION_THRESHOLD")
    processing_instance_type: str = Field(alias="PROCESSING_INSTANCE_TYPE")
    training_instance_type: str = Field(alias="TRAINING_INSTANCE_TYPE")
    transform_instance_type: str = Field(alias="TRANSFORM_INSTANCE_TYPE")
    endpoint_instance_type: str = Field(alias="ENDPOINT_INSTANCE_TYPE")
    quiet_window_seconds: int = Field(default=60, alias="QUIET_WINDOW_SECONDS", ge=0, le=3600)
    max_runs_per_day: int = Field(default=10, alias="MAX_RUNS_PER_DAY", ge=1)
    promotion_cooldown_seconds: int = Field(default=0, alias="PROMOTION_COOLDOWN_SECONDS", ge=0)
    notification_topic_arn: str = Field(default="", alias="NOTIFICATION_TOPIC_ARN")
    min_gain_over_champion: float = Field(default=-0.005, alias="MIN_GAIN_OVER_CHAMPION")
    rollout_strategy: RolloutStrategy = Field(default="weights", alias="ROLLOUT_STRATEGY")
    canary_steps: str = Field(default="10,50,100", alias="CANARY_STEPS")
    canary_bake_seconds: int = Field(default=600, alias="CANARY_BAKE_SECONDS")

    @field_validator("data_prefix")
    @classmethod
    def _prefix_is_a_folder(cls, value: str) -> str:
        if not value.endswith("/") or value.startswith("/"):
            raise ValueError("DATA_PREFIX must be a folder like 'incoming/' (ends in '/', no leading '/')")
        return value

    def pipeline_config(self) -> PipelineConfig:
        drop = tuple(c.strip() for c in self.default_drop_columns.split(",") if c.strip())
        return PipelineConfig(
            target_column=self.default_target_column,
            drop_columns=drop,
            metric=self.default_metric,
            threshold=self.default_threshold,
            quiet_window_seconds=self.quiet_window_seconds,
            instances=InstanceSettings(
                processing_instance_type=self.processing_instance_type,
                training_instance_type=self.training_instance_type,
                transform_instance_type=self.transform_instance_type,
                endpoint_instance_type=self.endpoint_instance_type,
            ),
            min_gain_over_champion=self.min_gain_over_champion,
            rollout=RolloutSettings(
                strategy=self.rollout_strategy,
                canary_steps=tuple(int(step) for step in self.canary_steps.split(",") if step.strip()),
                bake_seconds=self.canary_bake_seconds,
                alarm_check_seconds=min(60, max(10, self.canary_bake_seconds)),
            ),
        )

    @model_validator(mode="after")
    def _stack_defaults_make_a_config(self) -> PipelineDefaults:
        """Stack Parameters that cannot make a valid configuration fail at cold start, naming the field."""
        try:
            self.pipeline_config()
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
            raise ValueError(f"the stack's pipeline defaults are invalid: {problems}") from None
        return self


class StartRetrainingSettings(PipelineDefaults):
    """start_retraining: the S3 upload trigger."""


class MonitorViolationSettings(PipelineDefaults):
    """monitor_violation: drift alarms and Model Monitor runs with violations."""


class CoordinateRunsSettings(PipelineDefaults):
    """coordinate_runs: the state machine's claim and release steps (it may start a follow-up run)."""


class EvaluateModelSettings(_Settings):
    """evaluate_model: reads the batch-transform output in the artifacts bucket."""

    artifacts_bucket: str = Field(alias="ARTIFACTS_BUCKET")
    max_rows: int = Field(default=5_000_000, alias="EVALUATION_MAX_ROWS", ge=1)


class PublishJobCodeSettings(_Settings):
    """publish_job_code: the custom resource that copies sagemaker_jobs/ to the artifacts bucket."""

    artifacts_bucket: str = Field(alias="ARTIFACTS_BUCKET")


@cache
def load(settings_type: type[_S]) -> _S:
    """Read a function's settings once per container."""
    return settings_type.from_environment()


class ManageRolloutSettings(_Settings):
    """manage_rollout: the rollout's decisions (champion, registry, alarms, verification, rollback)."""

    stack_name: str = Field(alias="STACK_NAME")
    data_key_arn: str = Field(default="", alias="DATA_KEY_ARN")


class MonitoringFunctionSettings(_Settings):
    """monitoring: sets up a promoted model's monitoring and runs each scheduled window (README "Monitoring")."""

    stack_name: str = Field(alias="STACK_NAME")
    artifacts_bucket: str = Field(alias="ARTIFACTS_BUCKET")
    notification_topic_arn: str = Field(default="", alias="NOTIFICATION_TOPIC_ARN")
    workflow_arn: str = Field(alias="MONITORING_STATE_MACHINE_ARN")
    job_code_prefix: str = Field(alias="JOB_CODE_PREFIX")
    schedule_group: str = Field(alias="SCHEDULE_GROUP")
    scheduler_role_arn: str = Field(alias="SCHEDULER_ROLE_ARN")
    model_monitor_image_uri: str = Field(default="", alias="MODEL_MONITOR_IMAGE_URI")
    sagemaker_role_arn: str = Field(default="", alias="SAGEMAKER_ROLE_ARN")
    data_key_arn: str = Field(default="", alias="DATA_KEY_ARN")
