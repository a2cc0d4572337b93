"""A run's data: the Step Functions execution input of one retraining run, the state it gathers as it
goes, and the state machine's timing constants.

The trigger functions build a `RetrainingRequest` (`retrainer.services.runs`); the state machine
(`statemachines/`) reads it and writes each step's result under the field named after it. What only
the state machine needs it computes itself (config names, poll budgets, loop counters); the input
carries what the definition cannot compute: the preprocessing container's arguments (optional
flags) and the canary's weights per step (ASL has no subtraction).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

from retrainer.naming import MODEL_NAME_PATTERN
from retrainer.pipeline_config import PipelineConfig


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# Emulated or real seconds between two looks at an endpoint during an update (the state machine's Wait).
ENDPOINT_POLL_SECONDS = 30
# The state machine's TimeoutSeconds: the longest debounce, jobs and the longest rollout fit in it.
EXECUTION_TIMEOUT_SECONDS = 12 * 3600
# How long a rollback waits, at least, for the endpoint to accept the champion back.
RESTORE_PATIENCE_SECONDS = 2 * 3600


def poll_budget(timeout_seconds: int, poll_seconds: int = ENDPOINT_POLL_SECONDS) -> int:
    """How many looks at an endpoint, `poll_seconds` apart, make `timeout_seconds` (two at least)."""
    return max(2, timeout_seconds // poll_seconds)


def restore_budget(update_timeout_seconds: int, poll_seconds: int = ENDPOINT_POLL_SECONDS) -> int:
    """Bringing the champion back is worth waiting for: an update still running must finish first."""
    return poll_budget(max(2 * update_timeout_seconds, RESTORE_PATIENCE_SECONDS), poll_seconds)


# quality_alarm: the model-quality alarm <stack>-quality-<model>--<metric> (issue 15; runs on the feedback data).
TriggerKind = Literal["s3_upload", "drift_alarm", "monitoring_violation", "quality_alarm"]


class TriggerInfo(_Strict):
    """What started the run, kept in the execution input so a run can be traced to its cause."""

    kind: TriggerKind
    event_id: str
    source: str = Field(description="The S3 object URI, alarm name (drift or quality) or monitoring job name.")
    detail: str = ""
    trigger_ids: tuple[str, ...] = Field(
        default=(), description="The trigger-table ids the run was started for (a follow-up: its pending ones)."
    )


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

    @computed_field  # type: ignore[prop-decorator]
    @property
    def test_raw(self) -> str:
        """The test rows as a client sends them (label first): what the pipeline model's transforms score."""
        return f"{self.preprocessed}/test-raw/"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def schema_folder(self) -> str:
        """`schema.json` (the model's input schema, fingerprint included) and `row-splits.csv`."""
        return f"{self.preprocessed}/schema/"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def encoder(self) -> str:
        return f"{self.preprocessed}/encoder/"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def encoder_model(self) -> str:
        """The feature model (the serial pipeline's first container): code/inference.py, encoder.json, schema.json."""
        return f"{self.preprocessed}/encoder/model.tar.gz"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def schema_document(self) -> str:
        return f"{self.preprocessed}/schema/schema.json"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def row_splits(self) -> str:
        return f"{self.preprocessed}/schema/row-splits.csv"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def champion_transform_output(self) -> str:
        """The champion's batch transform of the same test split (champion/challenger evaluation)."""
        return f"{self.transform_output}-champion"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def evaluation_report(self) -> str:
        """Both models' metrics and the gate's decision, as JSON (the registry's ModelQuality statistics)."""
        return f"{self.transform_output}-report.json"


FEATURE_MODEL = "/encoder/model.tar.gz"


TRAINING_RECORD = "training.json"


def champion_data_files(feature_model_url: str) -> tuple[str, str, str] | None:
    """A deployed model's schema.json, row-splits.csv and training record (CheckNewData's), beside its
    feature model in its run's folder (RunPaths: `{preprocessed}/encoder/model.tar.gz`,
    `{preprocessed}/schema/...`). None for a model without one (from before the input contract)."""
    if not feature_model_url.endswith(FEATURE_MODEL):
        return None
    schema = feature_model_url.removesuffix(FEATURE_MODEL) + "/schema"
    return f"{schema}/schema.json", f"{schema}/row-splits.csv", f"{schema}/{TRAINING_RECORD}"


class ConsumedTrigger(_Strict):
    """A trigger a run consumed: in the claim's result, the execution output and the notifications."""

    trigger_id: str
    kind: str
    source: str = Field(description="The S3 object URI, alarm name (drift or quality) or monitoring job name.")
    event_id: str
    received_at: float = Field(description="When the trigger table recorded it (epoch seconds).")


class ClaimState(_Strict):
    """The debounce loop's state: the newest trigger sequence seen and how many quiet waits passed."""

    settled: bool = False
    seen_seq: int = 0
    round: int = 0
    triggers: tuple[ConsumedTrigger, ...] = Field(default=(), description="The first 200 consumed triggers.")
    consumed: int = Field(default=0, description="How many triggers the run consumed.")


class Champion(BaseModel):
    """The model serving the endpoint when the run looked (every field empty when there is no endpoint)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    exists: bool = False
    endpoint_config_name: str = ""
    variant_name: str = ""
    model_name: str = ""
    model_data_url: str = ""
    instance_type: str = ""
    instance_count: int = 0
    model_package_arn: str = ""
    registry_consistent: bool = True
    note: str = ""


class RegistryEntry(_Strict):
    """The run's model version in the model registry (empty until RegisterModel)."""

    model_package_arn: str = ""
    version: int = 0
    group: str = ""


class RolloutGuards(_Strict):
    """The challenger's alarms and, for blue/green, the DeploymentConfig that lists them."""

    alarm_names: tuple[str, ...] = ()
    deployment_config: dict[str, Any] = Field(default_factory=dict)


class RolloutProgress(_Strict):
    """Where a weighted canary is: the step's index, how many steps, the current step's weights."""

    strategy: str = ""
    index: int = 0
    count: int = 0
    current: dict[str, int] = Field(default_factory=dict)


class Rollback(_Strict):
    """Why the rollout was undone: `alarm`, `mismatch` (SageMaker rolled back), `failed`, `timeout`, `error`."""

    kind: str = ""
    reason: str = ""


class RetrainingRequest(_Strict):
    """The Step Functions execution input of one retraining run.

    The fields after `claim` are the run's own state, filled in as it goes; they are present from the
    start so that every step (the failure and rollback paths included) can read them.
    """

    run_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,48}$")
    model_name: str = Field(pattern=MODEL_NAME_PATTERN)
    endpoint_name: str = Field(max_length=63)
    correlation_id: str
    trigger: TriggerInfo
    data: DataLocation
    config: PipelineConfig
    paths: RunPaths
    claim: ClaimState = Field(default_factory=ClaimState)
    champion: Champion = Field(default_factory=Champion)
    registry: RegistryEntry = Field(default_factory=RegistryEntry)
    guards: RolloutGuards = Field(default_factory=RolloutGuards)
    rollout: RolloutProgress = Field(default_factory=RolloutProgress)
    rollback: Rollback = Field(default_factory=Rollback)
    switch: dict[str, Any] = Field(default_factory=dict, description="The last endpoint update call's answer.")
    failure: dict[str, Any] = Field(default_factory=dict, description="The failed step's name -> its error.")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def rollout_plan(self) -> dict[str, Any]:
        """The canary's weights at each step: the challenger's share in %, the champion's the rest."""
        return {"steps": [{"challenger": step, "champion": 100 - step} for step in self.config.rollout.canary_steps]}

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
        if self.config.id_column is not None:
            arguments += ["--id-column", self.config.id_column]
        config = self.config
        arguments += ["--max-missing-share", str(config.max_missing_share), "--max-text-share"]
        arguments += [str(config.max_text_share), "--max-categories", str(config.max_categories)]
        return arguments
