"""The pipeline configuration: what one retraining run does, with its documented defaults.

A run's configuration is built in three layers, later layers winning:

1. the defaults below (SageMaker's XGBoost examples for the hyperparameters);
2. the stack's Parameters (target column, metric, threshold, instance types), given to the
   trigger functions as environment variables;
3. the model's own configuration document, `s3://<artifacts bucket>/config/<model>.json`, whose
   fields are those of `ModelOverrides` (every field optional, unknown fields rejected).

The result, `PipelineConfig`, travels in the Step Functions execution input
(`retrainer.run_data.RetrainingRequest`) so every state reads the same values and an execution can be
re-run exactly.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Metric = Literal["auc", "accuracy", "precision", "recall", "f1", "logloss"]

# Metrics where a lower value is better; the quality gate flips its comparison for them.
LOWER_IS_BETTER: frozenset[str] = frozenset({"logloss"})

# SageMaker's XGBoost examples (direct marketing, churn): the starting point for a binary model.
DEFAULT_HYPERPARAMETERS: dict[str, str] = {
    "max_depth": "5",
    "eta": "0.2",
    "gamma": "4",
    "min_child_weight": "6",
    "subsample": "0.8",
    "objective": "binary:logistic",
    "num_round": "100",
    "eval_metric": "auc",
}


def passes_gate(metric: str, value: float, threshold: float) -> bool:
    """The quality gate: is `value` of `metric` good enough to deploy?"""
    return value <= threshold if metric in LOWER_IS_BETTER else value >= threshold


def gain_over(metric: str, challenger: float, champion: float) -> float:
    """How much better the challenger is than the champion on `metric` (negative: worse)."""
    return champion - challenger if metric in LOWER_IS_BETTER else challenger - champion


# The first model's gate (no champion to beat): AUC 0.7, where a model is useful but far from perfect.
# The old 0.9 refused ordinary first models (a churn model at AUC 0.85 was never deployed); 0.5 is a
# constant model, and 0.7 is the usual "acceptable discrimination" bound (Hosmer & Lemeshow, Applied
# Logistic Regression, 2013, ch. 5.2.4). Later models must also match the champion on the same rows.
DEFAULT_THRESHOLD = 0.7

InstanceType = Annotated[str, Field(pattern=r"^ml\.[a-z0-9]+\.[a-z0-9]+$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InstanceSettings(_Strict):
    """Instance types and counts for each SageMaker stage."""

    processing_instance_type: InstanceType = "ml.m5.xlarge"
    training_instance_type: InstanceType = "ml.m5.xlarge"
    transform_instance_type: InstanceType = "ml.m5.xlarge"
    endpoint_instance_type: InstanceType = "ml.m5.large"
    endpoint_instance_count: int = Field(default=1, ge=1, le=10)


# The rollout strategies a model's configuration may name: each is one module of statemachines/rollouts/
# and one entry of LONGEST_ROLLOUT.
RolloutStrategy = Literal["weights", "blue_green"]


class CanaryAlarms(_Strict):
    """Thresholds of the three CloudWatch alarms the pipeline creates for each challenger variant.

    Both read SageMaker's per-variant endpoint metrics (namespace AWS/SageMaker, dimensions
    EndpointName + VariantName) over 1-minute periods; missing data (no traffic) is not breaching.
    """

    max_5xx_errors: int = Field(
        default=1, ge=1, description="Invocation5XXErrors (Sum) in one minute at which the canary rolls back."
    )
    max_4xx_errors: int = Field(
        default=5,
        ge=1,
        description="Invocation4XXErrors (Sum) in one minute at which the canary rolls back: a model that refuses "
        "its clients' requests (a client's occasional malformed request alone does not).",
    )
    max_model_latency_ms: float = Field(
        default=500.0, gt=0, description="ModelLatency (Average, milliseconds) above which a minute breaches."
    )
    latency_periods: int = Field(
        default=2, ge=1, le=10, description="Consecutive breaching minutes of latency that roll the canary back."
    )


class BlueGreenSettings(_Strict):
    """SageMaker's native blue/green deployment (DeploymentConfig) when `strategy` is `blue_green`."""

    traffic: Literal["CANARY", "LINEAR", "ALL_AT_ONCE"] = "CANARY"
    step_percent: int = Field(
        default=10, ge=1, le=50, description="Canary size, or each linear step (10-50), in % of capacity."
    )
    wait_seconds: int = Field(default=600, ge=0, le=3600, description="Bake after each traffic shift.")
    termination_wait_seconds: int = Field(default=0, ge=0, le=3600)
    max_execution_timeout_seconds: int = Field(default=3600, ge=600, le=28800)

    @model_validator(mode="after")
    def _linear_steps_in_range(self) -> BlueGreenSettings:
        if self.traffic == "LINEAR" and self.step_percent < 10:
            raise ValueError("a LINEAR step must be 10-50 percent of the fleet")
        return self

    def deployment_config(self, alarm_names: list[str]) -> dict[str, Any]:
        """UpdateEndpoint's DeploymentConfig (sagemaker-contracts.md section 5)."""
        routing: dict[str, Any] = {"Type": self.traffic, "WaitIntervalInSeconds": self.wait_seconds}
        size = {"Type": "CAPACITY_PERCENT", "Value": self.step_percent}
        if self.traffic == "CANARY":
            routing["CanarySize"] = size
        elif self.traffic == "LINEAR":
            routing["LinearStepSize"] = size
        return {
            "BlueGreenUpdatePolicy": {
                "TrafficRoutingConfiguration": routing,
                "TerminationWaitInSeconds": self.termination_wait_seconds,
                "MaximumExecutionTimeoutInSeconds": self.max_execution_timeout_seconds,
            },
            "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": name} for name in alarm_names]},
        }


class AutoscalingSettings(_Strict):
    """Application Auto Scaling of the promoted variant (target tracking, as SageMaker's examples)."""

    enabled: bool = True
    min_capacity: int = Field(default=1, ge=1, le=100)
    max_capacity: int = Field(default=4, ge=1, le=100)
    invocations_per_instance: float = Field(
        default=1000.0, gt=0, description="Target of SageMakerVariantInvocationsPerInstance (per minute)."
    )
    scale_in_cooldown_seconds: int = Field(default=300, ge=0)
    scale_out_cooldown_seconds: int = Field(default=60, ge=0)

    @model_validator(mode="after")
    def _min_below_max(self) -> AutoscalingSettings:
        if self.min_capacity > self.max_capacity:
            raise ValueError("autoscaling min_capacity must not exceed max_capacity")
        return self


class RolloutSettings(_Strict):
    """How a challenger that passed the gate replaces the champion on the live endpoint."""

    strategy: RolloutStrategy = Field(
        default="weights",
        description="weights: canary by production-variant weights, driven by the state machine; "
        "blue_green: SageMaker's DeploymentConfig with auto-rollback on the same alarms.",
    )
    canary_steps: tuple[int, ...] = Field(
        default=(10, 50, 100), description="Challenger's share of traffic (%) at each step; the last is 100."
    )
    bake_seconds: int = Field(default=600, ge=0, le=86400, description="How long each step is watched.")
    alarm_check_seconds: int = Field(default=60, ge=10, le=3600, description="Alarm checks during a bake.")
    update_timeout_seconds: int = Field(
        default=1800, ge=60, le=14400, description="Longest wait for an endpoint update to be InService."
    )
    alarms: CanaryAlarms = Field(default_factory=CanaryAlarms)
    blue_green: BlueGreenSettings = Field(default_factory=BlueGreenSettings)
    autoscaling: AutoscalingSettings = Field(default_factory=AutoscalingSettings)

    @model_validator(mode="after")
    def _fits_in_a_run(self) -> RolloutSettings:
        longest = LONGEST_ROLLOUT[self.strategy](self)
        if longest > MAX_ROLLOUT_SECONDS:
            raise ValueError(
                f"this rollout could take {longest} s; at most {MAX_ROLLOUT_SECONDS} s fit in a run "
                "(fewer steps, shorter bakes or a shorter update_timeout_seconds)"
            )
        if self.alarm_check_seconds > max(self.bake_seconds, 10):
            raise ValueError("alarm_check_seconds must not exceed bake_seconds")
        return self

    @field_validator("canary_steps")
    @classmethod
    def _steps_rise_to_100(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value or value[-1] != 100:
            raise ValueError("canary_steps must end at 100 (the challenger takes all traffic)")
        if any(step <= 0 or step > 100 for step in value):
            raise ValueError("each canary step is a share of traffic between 1 and 100 percent")
        if any(later <= earlier for earlier, later in itertools.pairwise(value)):
            raise ValueError("canary_steps must strictly increase")
        if len(value) > 10:
            raise ValueError("at most 10 canary steps")
        return value


def _longest_canary(rollout: RolloutSettings) -> int:
    """Every step baked, each step's update, the first config and the live switch."""
    steps = len(rollout.canary_steps)
    return steps * rollout.bake_seconds + (steps + 2) * rollout.update_timeout_seconds


def _longest_blue_green(rollout: RolloutSettings) -> int:
    """SageMaker's whole blue/green budget, then an ordinary update's time."""
    return rollout.blue_green.max_execution_timeout_seconds + rollout.update_timeout_seconds


# How long each strategy (statemachines/rollouts/<name>.py) may take at most, checked when a config is read.
LONGEST_ROLLOUT: dict[str, Callable[[RolloutSettings], int]] = {
    "weights": _longest_canary,
    "blue_green": _longest_blue_green,
}


MonitoringEngine = Literal["retrainer", "model_monitor"]

# Hourly, in the cron syntax EventBridge Scheduler and Model Monitor both accept (minute hour dom month dow year).
HOURLY = "cron(0 * ? * * *)"
# monitoring-contracts.md: the constraints' comparison_threshold (the drift-detection sample alarms at 0.4).
DEFAULT_DRIFT_THRESHOLD = 0.1


class ModelQualitySettings(_Strict):
    """Model-quality monitoring (README "Ground truth and model quality"): on the model's schedule, the captured
    predictions of a window joined with the ground truth uploaded to `s3://<DataBucket>/ground-truth/<model>/`,
    scored (AUC, accuracy, precision, recall, F1, log loss), published to `aws/sagemaker/Endpoints/model-metrics`
    and judged by the quality alarm (the gate metric below the model's threshold, or below the promoted model's
    test score minus `margin`), which starts a retraining. The merged rows become training data under
    `<data prefix><model>/feedback/`.
    """

    enabled: bool = True
    lookback_hours: float = Field(
        default=24.0,
        ge=0.0,
        le=720.0,
        description="How late labels may arrive: the run at T judges the captures of "
        "[T - lookback - window, T - lookback) with every label uploaded before T.",
    )
    margin: float = Field(
        default=0.02,
        ge=0.0,
        le=1.0,
        description="How far below the promoted model's test score the live gate metric may fall before the alarm.",
    )
    min_labels: int = Field(
        default=50, ge=1, le=1_000_000, description="Labelled rows a window needs before it is judged at all."
    )


class MonitoringSettings(_Strict):
    """Data-quality monitoring of the promoted model (README "Monitoring").

    At promotion a baseline job computes statistics.json/constraints.json from the model's raw training data;
    then, with `engine` `retrainer` (the default), an EventBridge Scheduler schedule starts the monitoring
    workflow on `schedule`, or, with `model_monitor`, a SageMaker Model Monitor schedule runs on the same
    baseline (accounts that still have Model Monitor). One alarm per feature on `feature_baseline_drift_<f>`
    (Average over 1 hour > `drift_threshold`) starts a retraining.
    """

    enabled: bool = True
    engine: MonitoringEngine = "retrainer"
    schedule: str = Field(
        default=HOURLY,
        pattern=r"^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\([^)]+\))$",
        description="EventBridge Scheduler expression: rate(1 hour) or cron(0 * ? * * *); model_monitor needs cron.",
    )
    window_minutes: int = Field(default=60, ge=5, le=1440, description="Captured requests each run analyses.")
    drift_threshold: float = Field(default=DEFAULT_DRIFT_THRESHOLD, gt=0.0, le=1.0)
    instance_type: InstanceType = "ml.m5.xlarge"
    quality: ModelQualitySettings = Field(default_factory=ModelQualitySettings)

    @model_validator(mode="after")
    def _model_monitor_takes_cron(self) -> MonitoringSettings:
        if self.engine == "model_monitor" and not self.schedule.startswith("cron("):
            raise ValueError("monitoring.engine model_monitor needs a cron(...) schedule (Model Monitor has no rate)")
        return self


class PipelineConfig(_Strict):
    """Everything a retraining run needs to know, resolved before the run starts."""

    target_column: str = Field(default="label", min_length=1, description="Column to predict.")
    positive_label: str | None = Field(
        default=None,
        description="Label value counted as the positive class when the target is not already 0/1.",
    )
    drop_columns: tuple[str, ...] = Field(default=(), description="Columns removed before training.")
    id_column: str | None = Field(
        default=None,
        min_length=1,
        description="A column that identifies a row: never a feature, it keys the row's train/validation/test split.",
    )
    max_missing_share: float = Field(
        default=0.5, gt=0, le=1, description="A feature column missing in more of its rows than this fails Preprocess."
    )
    max_text_share: float = Field(
        default=0.01, ge=0, lt=1, description="Text cells a numeric column may hold (read as missing) before it fails."
    )
    max_categories: int = Field(
        default=100, ge=2, le=10000, description="Distinct values a text column may have before it fails."
    )
    allow_schema_change: bool = Field(
        default=False,
        description="Let the gate pass a challenger that removes a champion column or changes its type "
        "(its clients must change their requests).",
    )
    retrain_unchanged: bool = Field(
        default=False,
        description="Train and roll out even when the champion was trained on the same rows with the same "
        "settings (to rerun a rollout); by default such a run ends NoNewData.",
    )
    metric: Metric = Field(default="auc", description="Metric the quality gate compares.")
    threshold: float = Field(
        default=DEFAULT_THRESHOLD, description="Minimum (maximum for logloss) metric value (see DEFAULT_THRESHOLD)."
    )
    min_gain_over_champion: float = Field(
        default=-0.005,
        ge=-1.0,
        le=1.0,
        description="The challenger's metric minus the champion's (reversed for logloss) must be at least this.",
    )
    hyperparameters: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_HYPERPARAMETERS))
    instances: InstanceSettings = Field(default_factory=InstanceSettings)
    data_capture_percentage: int = Field(default=100, ge=0, le=100)
    max_runtime_seconds: int = Field(default=3600, ge=60, le=86400)
    quiet_window_seconds: int = Field(
        default=60, ge=0, le=3600, description="Uploads within this quiet time coalesce into one run."
    )
    rollout: RolloutSettings = Field(default_factory=RolloutSettings)
    monitoring: MonitoringSettings = Field(default_factory=MonitoringSettings)

    @field_validator("hyperparameters")
    @classmethod
    def _num_round_present(cls, value: dict[str, str]) -> dict[str, str]:
        if "num_round" not in value:
            raise ValueError("hyperparameters must include num_round (the XGBoost container requires it)")
        return value

    @model_validator(mode="after")
    def _target_not_dropped(self) -> PipelineConfig:
        if self.target_column in self.drop_columns:
            raise ValueError(f"target column {self.target_column!r} is also listed in drop_columns")
        if self.id_column is not None and self.id_column == self.target_column:
            raise ValueError(f"id_column {self.id_column!r} is the target column")
        return self


class InstanceOverrides(_Strict):
    processing_instance_type: InstanceType | None = None
    training_instance_type: InstanceType | None = None
    transform_instance_type: InstanceType | None = None
    endpoint_instance_type: InstanceType | None = None
    endpoint_instance_count: int | None = Field(default=None, ge=1, le=10)


class ModelOverrides(_Strict):
    """The per-model configuration document (`config/<model>.json` in the artifacts bucket)."""

    target_column: str | None = None
    positive_label: str | None = None
    drop_columns: tuple[str, ...] | None = None
    id_column: str | None = None
    max_missing_share: float | None = None
    max_text_share: float | None = None
    max_categories: int | None = None
    allow_schema_change: bool | None = None
    retrain_unchanged: bool | None = None
    metric: Metric | None = None
    threshold: float | None = None
    hyperparameters: dict[str, str | int | float] | None = None
    instances: InstanceOverrides | None = None
    data_capture_percentage: int | None = Field(default=None, ge=0, le=100)
    max_runtime_seconds: int | None = Field(default=None, ge=60, le=86400)
    quiet_window_seconds: int | None = Field(default=None, ge=0, le=3600)
    min_gain_over_champion: float | None = None
    rollout: dict[str, Any] | None = Field(
        default=None, description="Fields of RolloutSettings to change; nested sections merge key by key."
    )
    monitoring: dict[str, Any] | None = Field(default=None, description="Fields of MonitoringSettings to change.")

    def apply_to(self, base: PipelineConfig) -> PipelineConfig:
        """Return `base` with every field this document sets replaced (hyperparameters merged)."""
        changes = self.model_dump(exclude_none=True, exclude={"hyperparameters", "instances", "rollout", "monitoring"})
        if self.hyperparameters is not None:
            merged = dict(base.hyperparameters)
            merged.update({key: _hyperparameter_string(v) for key, v in self.hyperparameters.items()})
            changes["hyperparameters"] = merged
        if self.instances is not None:
            changes["instances"] = base.instances.model_copy(update=self.instances.model_dump(exclude_none=True))
        if self.rollout is not None:
            changes["rollout"] = _merged(base.rollout.model_dump(), self.rollout)
        if self.monitoring is not None:
            changes["monitoring"] = _merged(base.monitoring.model_dump(), self.monitoring)
        return PipelineConfig.model_validate({**base.model_dump(), **changes})


def _merged(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """`base` with `changes` applied, nested objects merged key by key (unknown keys are kept, so the
    model's validation names them)."""
    merged = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merged(merged[key], value)
        else:
            merged[key] = value
    return merged


def _hyperparameter_string(value: str | int | float) -> str:
    """SageMaker passes hyperparameters as strings; JSON numbers in a config document are fine."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# How long a rollout may take at most (bakes and endpoint updates), checked when a config is read.
MAX_ROLLOUT_SECONDS = 6 * 3600
