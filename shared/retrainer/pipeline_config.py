"""The pipeline configuration: what one retraining run does, with its documented defaults.

A run's configuration is built in three layers, later layers winning:

1. the defaults below (SageMaker's XGBoost examples for the hyperparameters);
2. the stack's Parameters (target column, metric, threshold, instance types), given to the
   trigger functions as environment variables;
3. the model's own configuration document, `s3://<artifacts bucket>/config/<model>.json`, whose
   fields are those of `ModelOverrides` (every field optional, unknown fields rejected).

The result, `PipelineConfig`, travels in the Step Functions execution input (`RetrainingRequest`)
so every state reads the same values and an execution can be re-run exactly.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator, model_validator

from retrainer.naming import MODEL_NAME_PATTERN

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


class PipelineConfig(_Strict):
    """Everything a retraining run needs to know, resolved before the run starts."""

    target_column: str = Field(default="label", min_length=1, description="Column to predict.")
    positive_label: str | None = Field(
        default=None,
        description="Label value counted as the positive class when the target is not already 0/1.",
    )
    drop_columns: tuple[str, ...] = Field(default=(), description="Columns removed before training.")
    metric: Metric = Field(default="auc", description="Metric the quality gate compares.")
    threshold: float = Field(default=0.9, description="Minimum (maximum for logloss) metric value.")
    hyperparameters: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_HYPERPARAMETERS))
    instances: InstanceSettings = Field(default_factory=InstanceSettings)
    data_capture_percentage: int = Field(default=100, ge=0, le=100)
    max_runtime_seconds: int = Field(default=3600, ge=60, le=86400)
    quiet_window_seconds: int = Field(
        default=60, ge=0, le=3600, description="Uploads within this quiet time coalesce into one run."
    )

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
    metric: Metric | None = None
    threshold: float | None = None
    hyperparameters: dict[str, str | int | float] | None = None
    instances: InstanceOverrides | None = None
    data_capture_percentage: int | None = Field(default=None, ge=0, le=100)
    max_runtime_seconds: int | None = Field(default=None, ge=60, le=86400)
    quiet_window_seconds: int | None = Field(default=None, ge=0, le=3600)

    def apply_to(self, base: PipelineConfig) -> PipelineConfig:
        """Return `base` with every field this document sets replaced (hyperparameters merged)."""
        changes = self.model_dump(exclude_none=True, exclude={"hyperparameters", "instances"})
        if self.hyperparameters is not None:
            merged = dict(base.hyperparameters)
            merged.update({key: _hyperparameter_string(v) for key, v in self.hyperparameters.items()})
            changes["hyperparameters"] = merged
        if self.instances is not None:
            changes["instances"] = base.instances.model_copy(update=self.instances.model_dump(exclude_none=True))
        return PipelineConfig.model_validate({**base.model_dump(), **changes})


def _hyperparameter_string(value: str | int | float) -> str:
    """SageMaker passes hyperparameters as strings; JSON numbers in a config document are fine."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


TriggerKind = Literal["s3_upload", "drift_alarm", "monitoring_violation"]


class TriggerInfo(_Strict):
    """What started the run, kept in the execution input so a run can be traced to its cause."""

    kind: TriggerKind
    event_id: str
    source: str = Field(description="The S3 object URI, alarm name or monitoring job name.")
    detail: str = ""


class DataLocation(_Strict):
    """The model's training data: every CSV under the model's folder in the data bucket."""

    bucket: str
    prefix: str = Field(description="Folder of the model, ending in '/'.")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def s3_uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


class RunPaths(_Strict):
    """Where the run writes in the artifacts bucket."""

    preprocessed: str
    model_output: str
    transform_output: str
    data_capture: str

    @computed_field  # type: ignore[prop-decorator]
    @property
    def train(self) -> str:
        return f"{self.preprocessed}/train/"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def validation(self) -> str:
        return f"{self.preprocessed}/validation/"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def test(self) -> str:
        return f"{self.preprocessed}/test/"


class ClaimState(_Strict):
    """The debounce loop's state: the newest trigger sequence seen and how many quiet waits passed."""

    seen_seq: int = 0
    round: int = 0
    settled: bool = False
    triggers: tuple[str, ...] = ()


class RetrainingRequest(_Strict):
    """The Step Functions execution input of one retraining run."""

    run_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,48}$")
    model_name: str = Field(pattern=MODEL_NAME_PATTERN)
    endpoint_name: str = Field(max_length=63)
    correlation_id: str
    trigger: TriggerInfo
    data: DataLocation
    config: PipelineConfig
    paths: RunPaths
    claim: ClaimState = Field(default_factory=ClaimState)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def preprocess_arguments(self) -> list[str]:
        """The preprocessing container's arguments (sagemaker_jobs/retrainer_jobs/preprocess.py)."""
        arguments = [
            "--input-dir",
            "/opt/ml/processing/input/data",
            "--output-dir",
            "/opt/ml/processing/output",
            "--message-file",
            "/opt/ml/output/message",
            "--target-column",
            self.config.target_column,
        ]
        if self.config.drop_columns:
            arguments += ["--drop-columns", ",".join(self.config.drop_columns)]
        if self.config.positive_label is not None:
            arguments += ["--positive-label", self.config.positive_label]
        return arguments
