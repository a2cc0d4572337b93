"""In-memory fakes of the ports in `retrainer.ports`, for unit tests (no moto, no network).

Each fake honours every argument its boto3 adapter honours, and `tests/contract/` runs the same
expectations against the fake and the real adapter (on moto), so a fake cannot quietly drift from AWS.
Fakes record what they were asked (`calls`, `sent`, ...) so a test can assert what a user would notice.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from retrainer.errors import EndpointConfigExists, InvalidModelConfig, ProcessingJobNotFound, WorkflowStartFailed
from retrainer.ports import (
    AlarmEvent,
    AlarmSpec,
    DriftAlarmSpec,
    EndpointState,
    ModelArtifact,
    ModelMonitorSpec,
    ModelState,
    ModelVersion,
    ObjectVersion,
    ProcessingJobSummary,
    RecordedTrigger,
    ScheduleSpec,
    StartedExecution,
    VariantSpec,
)

ACCOUNT = "123456789012"
REGION = "us-east-1"


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def _moment(iso: str) -> datetime:
    parsed = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# ---------------------------------------------------------------- the rollout's ports
@dataclass
class FakeEndpoints:
    """SageMaker endpoints as the rollout sees them; every change is recorded in `calls`."""

    endpoints: dict[str, EndpointState] = field(default_factory=dict)
    configs: dict[str, list[VariantSpec]] = field(default_factory=dict)
    models: dict[str, ModelArtifact] = field(default_factory=dict)
    calls: list[tuple[str, Any]] = field(default_factory=list)

    def describe(self, endpoint_name: str) -> EndpointState | None:
        return self.endpoints.get(endpoint_name)

    def model_artifact(self, model_name: str) -> ModelArtifact | None:
        return self.models.get(model_name)

    def config_variants(self, config_name: str) -> list[VariantSpec] | None:
        return self.configs.get(config_name)

    def create_config(self, config_name: str, variants: list[VariantSpec], data_capture: dict[str, Any]) -> None:
        if config_name in self.configs:
            raise EndpointConfigExists(config_name)
        self.configs[config_name] = list(variants)
        self.calls.append(("create_config", config_name))

    def delete_config(self, config_name: str) -> bool:
        self.calls.append(("delete_config", config_name))
        return self.configs.pop(config_name, None) is not None

    def delete_model(self, model_name: str) -> None:
        self.models.pop(model_name, None)
        self.calls.append(("delete_model", model_name))


@dataclass
class FakeRegistry:
    """The Model Registry: `versions_by_group` oldest first (as created); `statuses` what was decided for each."""

    versions_by_group: dict[str, list[ModelVersion]] = field(default_factory=dict)
    statuses: dict[str, tuple[str, str]] = field(default_factory=dict)
    artifacts: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, dict[str, str]] = field(default_factory=dict)
    looked_up: list[str] = field(default_factory=list)

    def artifact_url(self, arn: str) -> str:
        self.looked_up.append(arn)
        return self.artifacts.get(arn, "")

    def ensure_group(self, group: str, description: str) -> None:
        self.versions_by_group.setdefault(group, [])

    def versions(self, group: str) -> list[ModelVersion]:
        return list(reversed(self.versions_by_group.get(group, [])))

    def register(
        self,
        group: str,
        description: str,
        artifact: ModelArtifact,
        report_uri: str,
        metadata: dict[str, str],
        instance_types: tuple[str, str],
    ) -> ModelVersion:
        versions = self.versions_by_group.setdefault(group, [])
        number = len(versions) + 1
        version = ModelVersion(
            f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{group}/{number}",
            number,
            "PendingManualApproval",
            description[:1024],
        )
        self.artifacts[version.arn] = artifact.model_data_url
        self.metadata[version.arn] = dict(metadata)
        versions.append(version)
        return version

    def set_status(self, arn: str, status: str, description: str, metadata: dict[str, str]) -> None:
        self.statuses[arn] = (status, description)
        self.metadata.setdefault(arn, {}).update(metadata)
        for group, versions in self.versions_by_group.items():  # the listing shows the new status, as on AWS
            self.versions_by_group[group] = [replace(v, status=status) if v.arn == arn else v for v in versions]

    def annotate(self, arn: str, metadata: dict[str, str]) -> None:
        self.statuses.setdefault(arn, ("Approved", ""))
        self.metadata.setdefault(arn, {}).update(metadata)


@dataclass
class FakeAlarms:
    """CloudWatch alarms of a variant. `firing` are in ALARM now; `history` holds every state change with
    its time, so an alarm that fired and recovered is still found, but only when it fired since `since`."""

    put_specs: list[AlarmSpec] = field(default_factory=list)
    firing: list[AlarmEvent] = field(default_factory=list)
    history: list[AlarmEvent] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    def put(self, alarms: list[AlarmSpec]) -> None:
        self.put_specs += alarms

    def fire(self, name: str, reason: str = "Threshold Crossed", when: str | None = None) -> None:
        """The alarm goes to ALARM (now, or at `when`)."""
        event = AlarmEvent(name, "ALARM", when or now_iso(), reason)
        self.firing = [a for a in self.firing if a.name != name] + [event]
        self.history.append(event)

    def recover(self, name: str, when: str | None = None) -> None:
        """The alarm goes back to OK (now, or at `when`)."""
        self.firing = [a for a in self.firing if a.name != name]
        self.history.append(AlarmEvent(name, "OK", when or now_iso(), "recovered"))

    def in_alarm(self, names: list[str], since: str) -> list[AlarmEvent]:
        start = _moment(since)
        found = {a.name: a for a in self.firing if a.name in names}
        for event in sorted(self.history, key=lambda e: _moment(e.when), reverse=True):  # newest first
            fired_since = event.state == "ALARM" and _moment(event.when) >= start
            if event.name in names and event.name not in found and fired_since:
                found[event.name] = replace(event, state="ALARM (recovered since)")
        return [found[name] for name in names if name in found]

    def delete(self, names: list[str]) -> None:
        self.deleted += names
        self.firing = [a for a in self.firing if a.name not in names]
        self.history = [a for a in self.history if a.name not in names]


@dataclass
class FakeScaling:
    """Application Auto Scaling: the variants that have a scalable target (and its policy)."""

    registered: set[str] = field(default_factory=set)
    targets: dict[str, tuple[int, int, float]] = field(default_factory=dict)

    def register(
        self, endpoint_name: str, variant: str, minimum: int, maximum: int, target: float, cooldowns: tuple[int, int]
    ) -> None:
        self.registered.add(variant)
        self.targets[variant] = (minimum, maximum, target)

    def deregister(self, endpoint_name: str, variant: str) -> bool:
        had = variant in self.registered
        self.registered.discard(variant)
        self.targets.pop(variant, None)
        return had


# ---------------------------------------------------------------- the trigger side's ports
@dataclass
class FakeStarter:
    """Step Functions StartExecution: a name already used returns that execution, it is not an error."""

    state_machine_arn: str = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:retrainer"
    executions: dict[str, str] = field(default_factory=dict)
    fail_with: str = ""  # an AWS error code to fail every start with (throttling, access denied)

    @property
    def started(self) -> list[str]:
        return list(self.executions)

    def start(self, name: str, payload: str) -> StartedExecution:
        if self.fail_with:
            raise WorkflowStartFailed(f"StartExecution failed: {self.fail_with}")
        arn = self.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{name}"
        if name in self.executions:
            return StartedExecution(execution_arn=arn, already_existed=True)
        self.executions[name] = payload
        return StartedExecution(execution_arn=arn, already_existed=False)


@dataclass
class FakeObjects:
    """S3 objects by (bucket, key): the config store, the data catalog, the object reader and writer."""

    objects: dict[tuple[str, str], bytes] = field(default_factory=dict)
    config_bucket: str = "artifacts"

    def put(self, bucket: str, key: str, body: bytes) -> None:
        self.objects[(bucket, key)] = body

    def list_keys(self, bucket: str, prefix: str) -> list[str]:
        return sorted(key for (b, key) in self.objects if b == bucket and key.startswith(prefix))

    def read_lines(self, bucket: str, key: str) -> list[str]:
        return self.objects[(bucket, key)].decode("utf-8").splitlines()

    def list_folders(self, bucket: str, prefix: str) -> list[str]:
        return sorted(
            {
                f"{prefix}{key[len(prefix) :].split('/')[0]}/"
                for key in self.list_keys(bucket, prefix)
                if "/" in key[len(prefix) :]
            }
        )

    def has_objects(self, bucket: str, prefix: str) -> bool:
        return bool(self.list_keys(bucket, prefix))

    def has_csv(self, bucket: str, prefix: str) -> bool:
        return any(
            key.lower().endswith(".csv") and body
            for (b, key), body in self.objects.items()
            if b == bucket and key.startswith(prefix)
        )

    def model_overrides(self, model_name: str) -> dict[str, Any] | None:
        location = (self.config_bucket, f"config/{model_name}.json")
        if location not in self.objects:
            return None
        try:
            document = json.loads(self.objects[location])
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidModelConfig(f"s3://{location[0]}/{location[1]} is not valid JSON: {exc}") from exc
        if not isinstance(document, dict):
            raise InvalidModelConfig(f"s3://{location[0]}/{location[1]} must hold a JSON object")
        return document


@dataclass
class FakeNotifier:
    """SNS Publish on the notification topic; no topic configured means no notice (as the adapter does)."""

    topic_arn: str = f"arn:aws:sns:{REGION}:{ACCOUNT}:retrainer-notifications"
    sent: list[dict[str, Any]] = field(default_factory=list)

    def publish(self, subject: str, message: dict[str, Any], outcome: str, model_name: str) -> None:
        if not self.topic_arn:
            return
        self.sent.append({"subject": subject[:100], "message": message, "outcome": outcome, "model_name": model_name})


@dataclass
class FakeProcessingJobs:
    """DescribeProcessingJob: a summary per job name (a job nobody created is ProcessingJobNotFound, as the adapter)."""

    jobs: dict[str, ProcessingJobSummary] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)

    def summary(self, job_name: str) -> ProcessingJobSummary:
        self.asked.append(job_name)
        if job_name not in self.jobs:
            raise ProcessingJobNotFound(f"DescribeProcessingJob: no processing job named {job_name!r}")
        return self.jobs[job_name]


@dataclass
class FakeExecutionHistory:
    """Where each execution last was; None for one whose history does not tell."""

    last_states: dict[str, str] = field(default_factory=dict)

    def last_state(self, execution_arn: str) -> str | None:
        return self.last_states.get(execution_arn)


@dataclass
class FakeResponder:
    """The answers sent to CloudFormation's ResponseURL."""

    sent: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def send(self, response_url: str, body: dict[str, Any]) -> None:
        if not response_url.startswith(("https://", "http://")):
            raise ValueError("ResponseURL must be an http(s) URL")
        self.sent.append((response_url, body))


class FreeLedger:
    """A trigger ledger with no run in progress: every trigger is new and the lock is free."""

    def record(self, model_name: str, trigger_id: str, item: dict[str, str], version: Any = None) -> RecordedTrigger:
        return RecordedTrigger(trigger_id=trigger_id, status="pending", attributes=item)

    def model_state(self, model_name: str, day: str) -> ModelState:
        return ModelState(lock_holder=None, lock_expires_at=0.0, runs_today=0, last_promotion=None)

    def acquire(self, model_name: str, run_id: str, ttl_seconds: int, day: str, max_runs: int) -> bool:
        return True


@dataclass
class _Trigger:
    attributes: dict[str, str]
    received_at: float
    status: str = "pending"


@dataclass
class _ModelItem:
    run_id: str | None = None
    lock_expires_at: float = 0.0
    runs_day: str | None = None
    runs: int = 0
    promoted_at: float | None = None


def _sequencer(value: str) -> str:
    return value.upper().ljust(40, "0")  # S3: right-pad the shorter sequencer with zeros before comparing


@dataclass
class FakeTriggerLedger:
    """The trigger ledger in memory, with the DynamoDB ledger's rules: a trigger is recorded once, an S3 event
    older than one seen for the same object records nothing, one run holds a model's lock, a day's runs are
    counted against the budget, and a promotion is recorded even when the lock had gone."""

    clock: Callable[[], float] = time.time
    triggers: dict[tuple[str, str], _Trigger] = field(default_factory=dict)
    sequencers: dict[tuple[str, str], str] = field(default_factory=dict)
    state: dict[str, _ModelItem] = field(default_factory=dict)
    deferrals: dict[tuple[str, str], str] = field(default_factory=dict)

    def record(
        self, model_name: str, trigger_id: str, item: dict[str, str], version: ObjectVersion | None = None
    ) -> RecordedTrigger:
        if version is not None:
            seen = self.sequencers.get((model_name, version.object_id))
            if seen is not None and seen > _sequencer(version.sequencer):
                return RecordedTrigger(trigger_id=trigger_id, status="late", attributes=dict(item), late=True)
            self.sequencers[(model_name, version.object_id)] = _sequencer(version.sequencer)
        existing = self.triggers.get((model_name, trigger_id))
        if existing is not None:
            return self._recorded(trigger_id, existing, redelivered=True)
        recorded = self.triggers[(model_name, trigger_id)] = _Trigger(dict(item), self.clock())
        return self._recorded(trigger_id, recorded, redelivered=False)

    @staticmethod
    def _recorded(trigger_id: str, trigger: _Trigger, redelivered: bool) -> RecordedTrigger:
        return RecordedTrigger(
            trigger_id=trigger_id,
            status=trigger.status,
            attributes=dict(trigger.attributes),
            received_at=trigger.received_at,
            redelivered=redelivered,
        )

    def model_state(self, model_name: str, day: str) -> ModelState:
        item = self.state.get(model_name, _ModelItem())
        return ModelState(
            lock_holder=item.run_id,
            lock_expires_at=item.lock_expires_at if item.run_id else 0.0,
            runs_today=item.runs if item.runs_day == day else 0,
            last_promotion=item.promoted_at,
        )

    def acquire(self, model_name: str, run_id: str, ttl_seconds: int, day: str, max_runs: int) -> bool:
        now = self.clock()
        item = self.state.setdefault(model_name, _ModelItem())
        free = item.run_id is None or item.run_id == run_id or item.lock_expires_at < int(now)
        same_day = item.runs_day == day
        if max_runs < 1 or not free or (same_day and item.runs >= max_runs):
            return False
        item.run_id, item.lock_expires_at = run_id, float(int(now + ttl_seconds))
        item.runs, item.runs_day = (item.runs + 1 if same_day else 1), day
        return True

    def release(self, model_name: str, run_id: str, promoted_at: float | None = None) -> bool:
        item = self.state.setdefault(model_name, _ModelItem())
        if promoted_at is not None:  # recorded even when the lock had already gone
            item.promoted_at = promoted_at
        if item.run_id != run_id:
            return False
        item.run_id, item.lock_expires_at = None, 0.0
        return True

    def pending(self, model_name: str) -> list[RecordedTrigger]:
        found = [
            self._recorded(trigger_id, trigger, redelivered=False)
            for (model, trigger_id), trigger in self.triggers.items()
            if model == model_name and trigger.status == "pending"
        ]
        return sorted(found, key=lambda trigger: (trigger.received_at, trigger.trigger_id))

    def consume(self, model_name: str, triggers: list[RecordedTrigger], run_id: str) -> list[RecordedTrigger]:
        consumed: list[RecordedTrigger] = []
        for trigger in triggers:
            stored = self.triggers.get((model_name, trigger.trigger_id))
            if stored is None or stored.status != "pending":
                continue
            stored.status = "consumed"
            stored.attributes["consumed_by"] = run_id
            consumed.append(trigger)
        return consumed

    def first_deferral(self, model_name: str, day: str, reason: str) -> bool:
        if (model_name, day) in self.deferrals:
            return False
        self.deferrals[(model_name, day)] = reason
        return True

    def models_with_pending(self) -> list[str]:
        return sorted({model for (model, _), trigger in self.triggers.items() if trigger.status == "pending"})


# ---------------------------------------------------------------- data-quality monitoring


@dataclass
class FakeSchedules:
    """EventBridge Scheduler schedules of the stack's group, by name (put replaces, as create-or-update does)."""

    schedules: dict[str, ScheduleSpec] = field(default_factory=dict)

    def put(self, schedule: ScheduleSpec) -> None:
        self.schedules[schedule.name] = schedule

    def delete(self, name: str) -> bool:
        return self.schedules.pop(name, None) is not None


@dataclass
class FakeDriftAlarms:
    """Drift alarms by name, and every PutMetricData request put."""

    alarms: dict[str, DriftAlarmSpec] = field(default_factory=dict)
    metric_requests: list[dict[str, Any]] = field(default_factory=list)

    def put(self, alarms: list[DriftAlarmSpec]) -> None:
        self.alarms.update({alarm.name: alarm for alarm in alarms})

    def of_schedule(self, prefix: str, schedule_name: str) -> list[str]:
        return sorted(
            name
            for name, alarm in self.alarms.items()
            if name.startswith(prefix) and alarm.schedule_name == schedule_name
        )

    def delete(self, names: list[str]) -> None:
        for name in names:
            self.alarms.pop(name, None)

    def put_metric_data(self, requests: list[dict[str, Any]]) -> int:
        self.metric_requests.extend(requests)
        return sum(len(request["MetricData"]) for request in requests)


@dataclass
class FakeEventBus:
    events: list[dict[str, Any]] = field(default_factory=list)

    def put(self, source: str, detail_type: str, detail: dict[str, Any]) -> None:
        self.events.append({"source": source, "detail-type": detail_type, "detail": detail})


@dataclass
class FakeModelMonitor:
    """Model Monitor schedules: each keeps the two requests the adapter would send (moto has no schedules)."""

    created: dict[str, tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=dict)

    def create(self, spec: ModelMonitorSpec) -> None:
        from retrainer.adapters.sagemaker_monitoring import job_definition_request, schedule_request

        self.created[spec.name] = (job_definition_request(spec), schedule_request(spec))

    def delete(self, name: str) -> bool:
        return self.created.pop(name, None) is not None
