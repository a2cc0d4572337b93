"""Ports: what the services need from AWS, as small Protocols.

Adapters in `retrainer.adapters` implement them with boto3; tests pass fakes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


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
    seq: int
    status: str  # "pending" until a run consumes it, then "consumed"
    attributes: dict[str, str]
    redelivered: bool = False  # the same trigger was recorded before


class TriggerLedger(Protocol):
    """Trigger bookkeeping per model: accepted triggers, S3 key order, and the one-run-at-a-time lock."""

    def is_newest(self, model_name: str, object_id: str, sequencer: str) -> bool:
        """Record `sequencer` for the object; False when a newer one was already seen for it."""
        ...

    def record(self, model_name: str, trigger_id: str, item: dict[str, str]) -> RecordedTrigger:
        """Record an accepted trigger once; a redelivery returns the trigger as first recorded."""
        ...

    def acquire(self, model_name: str, run_id: str, ttl_seconds: int) -> bool:
        """Take the model's run lock for `run_id` (again, if it already holds it)."""
        ...

    def release(self, model_name: str, run_id: str) -> None:
        """Give the lock back if `run_id` holds it."""
        ...

    def pending(self, model_name: str) -> list[RecordedTrigger]:
        """Triggers not yet consumed by a run, oldest first."""
        ...

    def consume(self, model_name: str, trigger_ids: list[str], run_id: str) -> list[str]:
        """Mark pending triggers as consumed by `run_id`; returns those this call consumed."""
        ...

    def runs_started(self, model_name: str, day: str) -> int:
        """How many runs of the model started on `day` (YYYY-MM-DD, UTC)."""
        ...

    def count_run(self, model_name: str, day: str) -> None: ...

    def last_promotion(self, model_name: str) -> float | None:
        """When a run of the model last deployed a model (epoch seconds), if ever."""
        ...

    def record_promotion(self, model_name: str, when: float) -> None: ...

    def first_deferral(self, model_name: str, day: str, reason: str) -> bool:
        """Record that the model's triggers are deferred today; True only the first time (one notice)."""
        ...

    def models_with_pending(self) -> list[str]: ...


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


class ObjectWriter(Protocol):
    def put(self, bucket: str, key: str, body: bytes) -> None: ...


class CustomResourceResponder(Protocol):
    def send(self, response_url: str, body: dict[str, Any]) -> None: ...
