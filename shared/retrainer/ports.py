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


class TriggerLedger(Protocol):
    def record(self, run_id: str, model_name: str, item: dict[str, str]) -> bool:
        """Record an accepted trigger; False when the same run was recorded before."""
        ...


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
