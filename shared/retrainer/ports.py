"""Ports: what the services need from AWS, as small Protocols.

Adapters in `retrainer.adapters` implement them with boto3; tests pass fakes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol


@dataclass(frozen=True)
class StartedExecution:
    execution_arn: str
    already_existed: bool


class WorkflowStarter(Protocol):
    def start(self, name: str, payload: str) -> StartedExecution:
        """Start an execution named `name`; a name already used is not an error."""
        ...


class ConfigStore(Protocol):
    def model_overrides(self, model_name: str) -> dict[str, Any] | None:
        """The model's configuration document, or None when it has none."""
        ...


class DataCatalog(Protocol):
    def has_csv(self, bucket: str, prefix: str) -> bool:
        """Does any `.csv` object exist under `prefix`?"""
        ...


@dataclass(frozen=True)
class RecordedTrigger:
    trigger_id: str
    status: str  # "pending" until a run consumes it, then "consumed"
    attributes: dict[str, str]
    received_at: float = 0.0
    redelivered: bool = False  # the same trigger was recorded before
    late: bool = False  # an S3 event older than one already seen for the same object: nothing was recorded

    @property
    def seq(self) -> int:
        """The debounce's sequence: when the trigger was recorded, in milliseconds."""
        return int(self.received_at * 1000)


@dataclass(frozen=True)
class ObjectVersion:
    """An S3 object's identity for ordering its events: a digest of bucket/key and the event's sequencer."""

    object_id: str
    sequencer: str


@dataclass(frozen=True)
class ModelState:
    """One consistent read of a model's coordination state."""

    lock_holder: str | None
    lock_expires_at: float
    runs_today: int
    last_promotion: float | None

    def locked_by_other(self, run_id: str, now: float) -> bool:
        return self.lock_holder is not None and self.lock_holder != run_id and self.lock_expires_at >= now


class TriggerLedger(Protocol):
    """Trigger bookkeeping per model: accepted triggers, S3 key order, the one-run-at-a-time lock and the
    cost guard's counts."""

    def record(
        self, model_name: str, trigger_id: str, item: dict[str, str], version: ObjectVersion | None = None
    ) -> RecordedTrigger:
        """Record an accepted trigger once (for S3, after checking the object's newest sequencer). A
        redelivery returns the trigger as first recorded (`redelivered`); an S3 event older than one
        already seen for the object records nothing (`late`)."""
        ...

    def model_state(self, model_name: str, day: str) -> ModelState:
        """The lock holder, today's run count (`day` is YYYY-MM-DD, UTC) and the last promotion."""
        ...

    def acquire(self, model_name: str, run_id: str, ttl_seconds: int, day: str, max_runs: int) -> bool:
        """Take the model's run lock for `run_id` (again, if it already holds it) and count the run on `day`;
        False when another run holds it or the day's budget of `max_runs` is used up."""
        ...

    def release(self, model_name: str, run_id: str, promoted_at: float | None = None) -> bool:
        """Give the lock back if `run_id` holds it (True then); record a promotion when the run deployed."""
        ...

    def pending(self, model_name: str) -> list[RecordedTrigger]:
        """Triggers not yet consumed by a run, oldest first."""
        ...

    def consume(self, model_name: str, triggers: list[RecordedTrigger], run_id: str) -> list[RecordedTrigger]:
        """Mark pending triggers as consumed by `run_id`; returns those this call consumed."""
        ...

    def first_deferral(self, model_name: str, day: str, reason: str) -> bool:
        """Record that the model's triggers are deferred today; True only the first time (one notice)."""
        ...

    def first_notice(self, model_name: str, notice_id: str, problem: str) -> bool:
        """Record an "action needed" notice; True only the first time for that id (one notice per problem)."""
        ...

    def models_with_pending(self) -> list[str]: ...


class ExecutionHistory(Protocol):
    def last_state(self, execution_arn: str) -> str | None:
        """The state an execution last entered, when its history tells."""
        ...


class Notifier(Protocol):
    def publish(self, subject: str, message: dict[str, Any], outcome: str, model_name: str) -> None: ...


@dataclass(frozen=True)
class ProcessingJobSummary:
    exit_message: str | None
    environment: dict[str, str]


class ProcessingJobs(Protocol):
    def summary(self, job_name: str) -> ProcessingJobSummary: ...


class ObjectReader(Protocol):
    def list_keys(self, bucket: str, prefix: str) -> list[str]: ...

    def read_lines(self, bucket: str, key: str) -> list[str]: ...


class FolderReader(ObjectReader, Protocol):
    """S3 read as folders: what a monitoring run's plan needs (SageMaker fails a job on an empty input prefix)."""

    def list_folders(self, bucket: str, prefix: str) -> list[str]:
        """The immediate sub-folders of `prefix` (`<prefix><name>/`), as S3's Delimiter `/` lists them."""
        ...

    def has_objects(self, bucket: str, prefix: str) -> bool: ...


class ObjectWriter(Protocol):
    def put(self, bucket: str, key: str, body: bytes) -> None: ...


class CustomResourceResponder(Protocol):
    def send(self, response_url: str, body: dict[str, Any]) -> None: ...


# ---------------------------------------------------------------- the rollout (champion, registry, canary)
@dataclass(frozen=True)
class VariantSpec:
    """One production variant of an endpoint config."""

    name: str
    model_name: str
    instance_type: str
    instance_count: int
    weight: float


@dataclass(frozen=True)
class LiveVariant:
    """A variant as DescribeEndpoint shows it, with what its config says it runs."""

    name: str
    model_name: str
    instance_type: str
    instance_count: int
    current_weight: float
    desired_weight: float


@dataclass(frozen=True)
class EndpointState:
    name: str
    status: str
    config_name: str
    variants: tuple[LiveVariant, ...]
    failure_reason: str = ""


@dataclass(frozen=True)
class ModelArtifact:
    """A model's first container (its identity in the registry) and, for a serial pipeline, every container."""

    image: str
    model_data_url: str
    containers: tuple[dict[str, Any], ...] = ()


class Endpoints(Protocol):
    """SageMaker endpoints, endpoint configs and models as the rollout reads and prepares them; the state machine
    makes every endpoint change itself (UpdateEndpoint, UpdateEndpointWeightsAndCapacities)."""

    def describe(self, endpoint_name: str) -> EndpointState | None:
        """The endpoint with its variants, or None when it does not exist."""
        ...

    def model_artifact(self, model_name: str) -> ModelArtifact | None: ...

    def config_variants(self, config_name: str) -> list[VariantSpec] | None:
        """The config's variants, or None when no such config exists."""
        ...

    def create_config(self, config_name: str, variants: list[VariantSpec], data_capture: dict[str, Any]) -> None:
        """CreateEndpointConfig; raises EndpointConfigExists when the name is taken."""
        ...

    def delete_config(self, config_name: str) -> bool:
        """Delete the config; False when it was already gone."""
        ...

    def delete_model(self, model_name: str) -> None:
        """Delete the model; one that is already gone is not an error."""
        ...


@dataclass(frozen=True)
class ModelVersion:
    arn: str
    version: int
    status: str
    description: str


class ModelRegistry(Protocol):
    """SageMaker Model Registry: one model package group per model, one version per trained model."""

    def ensure_group(self, group: str, description: str) -> None: ...

    def versions(self, group: str) -> list[ModelVersion]:
        """Every version of the group, newest first."""
        ...

    def artifact_url(self, arn: str) -> str:
        """The version's model artifact (its first container's ModelDataUrl)."""
        ...

    def register(
        self,
        group: str,
        description: str,
        artifact: ModelArtifact,
        report_uri: str,
        metadata: dict[str, str],
        instance_types: tuple[str, str],
    ) -> ModelVersion: ...

    def set_status(self, arn: str, status: str, description: str, metadata: dict[str, str]) -> None: ...

    def annotate(self, arn: str, metadata: dict[str, str]) -> None: ...


@dataclass(frozen=True)
class AlarmSpec:
    name: str
    description: str
    metric_name: str
    statistic: str
    dimensions: dict[str, str]
    threshold: float
    comparison: str
    periods: int
    period_seconds: int = 60


@dataclass(frozen=True)
class AlarmEvent:
    name: str
    state: str
    when: str
    reason: str


class VariantAlarms(Protocol):
    """CloudWatch alarms on a variant's endpoint metrics."""

    def put(self, alarms: list[AlarmSpec]) -> None: ...

    def in_alarm(self, names: list[str], since: str) -> list[AlarmEvent]:
        """Alarms in ALARM now, or that went to ALARM since `since` (ISO-8601) and came back."""
        ...

    def delete(self, names: list[str]) -> None: ...


class VariantScaling(Protocol):
    """Application Auto Scaling of endpoint variants."""

    def register(
        self, endpoint_name: str, variant: str, minimum: int, maximum: int, target: float, cooldowns: tuple[int, int]
    ) -> None: ...

    def deregister(self, endpoint_name: str, variant: str) -> bool:
        """Remove the variant's policies and scalable target; False when it had none."""
        ...


# ---------------------------------------------------------------- data-quality monitoring (README "Monitoring")


@dataclass(frozen=True)
class ScheduleSpec:
    """An EventBridge Scheduler schedule that starts a state machine execution with `payload` as its input."""

    name: str
    expression: str
    state_machine_arn: str
    payload: str
    description: str = ""


class MonitoringSchedules(Protocol):
    """EventBridge Scheduler schedules of the stack's schedule group."""

    def put(self, schedule: ScheduleSpec) -> None:
        """Create the schedule, or replace it when one of that name exists."""
        ...

    def delete(self, name: str) -> bool:
        """False when there was no such schedule."""
        ...


DATA_METRICS_NAMESPACE = "aws/sagemaker/Endpoints/data-metrics"
MODEL_METRICS_NAMESPACE = "aws/sagemaker/Endpoints/model-metrics"


@dataclass(frozen=True)
class DriftAlarmSpec:
    """An alarm on a monitoring schedule's metric (dimensions Endpoint + MonitoringSchedule, period 1 h, 1 of 1,
    missing data not breaching): by default one feature's `feature_baseline_drift_<f>` (Average above the
    threshold, aws/sagemaker/Endpoints/data-metrics); a model-quality alarm sets the model-metrics namespace,
    Minimum and LessThanThreshold (GreaterThanThreshold, Maximum for logloss)."""

    name: str
    description: str
    metric_name: str
    endpoint_name: str
    schedule_name: str
    threshold: float
    namespace: str = DATA_METRICS_NAMESPACE
    statistic: Literal["Average", "Minimum", "Maximum"] = "Average"
    comparison: Literal["GreaterThanThreshold", "LessThanThreshold"] = "GreaterThanThreshold"


class DriftAlarms(Protocol):
    """CloudWatch alarms on monitoring metrics (data quality and model quality), and the metrics themselves."""

    def put(self, alarms: list[DriftAlarmSpec]) -> None: ...

    def of_schedule(self, prefix: str, schedule_name: str) -> list[str]:
        """Names (starting with `prefix`) of the monitoring alarms (either namespace) on this schedule's metrics."""
        ...

    def delete(self, names: list[str]) -> None: ...

    def put_metric_data(self, requests: list[dict[str, Any]]) -> int:
        """PutMetricData requests as the monitoring job writes them (ISO timestamps); returns the datum count."""
        ...


class EventBus(Protocol):
    def put(self, source: str, detail_type: str, detail: dict[str, Any]) -> None: ...


@dataclass(frozen=True)
class ModelMonitorSpec:
    """A SageMaker Model Monitor data-quality schedule (DataQualityJobDefinition + MonitoringSchedule)."""

    name: str
    endpoint_name: str
    expression: str
    image_uri: str
    role_arn: str
    statistics_uri: str
    constraints_uri: str
    output_uri: str
    instance_type: str
    kms_key_arn: str = ""


class ModelMonitorSchedules(Protocol):
    def create(self, spec: ModelMonitorSpec) -> None: ...

    def delete(self, name: str) -> bool: ...
