"""EventBridge delivery as on AWS (sagemaker-contracts.md §8; offline-runtime-notes "EventBridge and S3").

moto's divergences fixed here:
- S3 "Object Created" events carry a unique `id` and `request-id` per event, `etag` (not `eTag`),
  `reason` as S3 names it (`PutObject`, `CopyObject`, `CompleteMultipartUpload`, `POST Object`),
  an ISO `time`, and a `sequencer` that increases with every write; no "Object Tags Added" event
  follows a PutObject that set no tags.
- Rule targets that are Lambda functions are invoked asynchronously in-process (with Lambda's retry
  and dead-letter behaviour), Step Functions targets start an execution with the event as input;
  other targets go to moto as before.
- A DISABLED rule delivers nothing.
- Scheduled rules (`rate(N minutes|hours|days)`) fire on the scaled clock with a "Scheduled Event"
  (or the target's constant Input), which moto never does.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import boto3
from moto.events import models as events_models
from moto.s3 import notifications as s3_notifications

from retrainer_offline.awslambda.functions import LambdaRegistry
from retrainer_offline.core import clock

S3_REASONS = {
    "Put": "PutObject",
    "Post": "POST Object",
    "Copy": "CopyObject",
    "CompleteMultipartUpload": "CompleteMultipartUpload",
}
_sequence = itertools.count(int(time.time() * 1_000_000))
_sequence_lock = threading.Lock()


def next_sequencer() -> str:
    """S3 sequencers grow with each write to a key; compare after right-padding with zeros."""
    with _sequence_lock:
        return f"{next(_sequence):018X}"


def s3_object_event(account_id: str, bucket: Any, event_name: str, key: Any) -> dict[str, Any] | None:
    """The AWS shape of an S3 event delivered to EventBridge, or None for events S3 would not send."""
    category, _, action = event_name.partition(":")[2].partition(":")
    if category != "ObjectCreated":
        return None  # tag and other events: only sent when they happen, which this project never does
    obj: dict[str, Any] = {
        "key": key.name,
        "size": key.size,
        "etag": key.etag.replace('"', ""),
        "sequencer": next_sequencer(),
    }
    if key.version_id and key.version_id != "null":
        obj["version-id"] = key.version_id
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": account_id,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": bucket.region_name,
        "resources": [bucket.arn],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket.name},
            "object": obj,
            "request-id": uuid.uuid4().hex[:16].upper(),
            "requester": account_id,
            "source-ip-address": "127.0.0.1",
            "reason": S3_REASONS.get(action, "PutObject"),
        },
    }


class EventBridgePatch:
    def __init__(self, registry: LambdaRegistry) -> None:
        self.registry = registry
        self._send_s3 = s3_notifications._send_event_bridge_message
        self._send_to_targets = events_models.Rule.send_to_targets
        patch = self

        def send_s3(account_id: str, bucket: Any, event_name: str, key: Any) -> None:
            event = s3_object_event(account_id, bucket, event_name, key)
            if event is None:
                return
            backend = events_models.events_backends[account_id][bucket.region_name]
            for bus in backend.event_buses.values():
                for rule in list(bus.rules.values()):
                    rule.send_to_targets(event, transform_input=False)

        def send_to_targets(rule: Any, event: dict[str, Any], transform_input: bool = True) -> None:
            patch.deliver(rule, event, transform_input)

        s3_notifications._send_event_bridge_message = send_s3
        self._stop = threading.Event()
        self._scheduler = threading.Thread(target=self._schedule_loop, daemon=True, name="eventbridge-scheduler")
        self._scheduler.start()
        events_models.Rule.send_to_targets = send_to_targets

    def deliver(self, rule: Any, event: dict[str, Any], transform_input: bool) -> None:
        """One rule's delivery: nothing when disabled or not matching; Lambda and Step Functions here."""
        if rule.state == "DISABLED" or not rule.event_pattern.matches_event(event):
            return
        others = []
        delivered = _with_iso_time(event)
        for target in rule.targets:
            arn = target["Arn"]
            if ":lambda:" in arn:
                self.registry.invoke_async(arn.split(":function:")[1].split(":")[0], _target_input(target, delivered))
            elif ":states:" in arn and ":stateMachine:" in arn:
                boto3.client("stepfunctions", region_name=rule.region_name).start_execution(
                    stateMachineArn=arn, input=json.dumps(_target_input(target, delivered))
                )
            else:
                others.append(target)
        if others:
            saved = rule.targets
            rule.targets = others
            try:
                # moto's own targets format `time` from epoch seconds, as moto stores it
                self._send_to_targets(rule, _with_epoch_time(event), transform_input)
            finally:
                rule.targets = saved

    def _schedule_loop(self) -> None:
        """Every emulated minute, fire the enabled scheduled rules that are due."""
        elapsed = 0.0
        next_fire: dict[str, float] = {}
        while not self._stop.is_set():
            clock.current().wait_event(self._stop, SCHEDULER_TICK_SECONDS)
            elapsed += SCHEDULER_TICK_SECONDS
            for rule in _scheduled_rules():
                period = rate_seconds(rule.scheduled_expression)
                if period is None or rule.state == "DISABLED":
                    continue
                due = next_fire.setdefault(rule.arn, period)
                if elapsed >= due and not self._stop.is_set():
                    next_fire[rule.arn] = due + period
                    self._fire(rule)

    def _fire(self, rule: Any) -> None:
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": rule.account_id,
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": rule.region_name,
            "resources": [rule.arn],
            "detail": {},
        }
        for target in rule.targets:
            if ":lambda:" in target["Arn"]:
                name = target["Arn"].split(":function:")[1].split(":")[0]
                self.registry.invoke_async(name, _target_input(target, event))

    def uninstall(self) -> None:
        self._stop.set()
        self._scheduler.join(timeout=5)
        s3_notifications._send_event_bridge_message = self._send_s3
        events_models.Rule.send_to_targets = self._send_to_targets


SCHEDULER_TICK_SECONDS = 60.0
_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def rate_seconds(expression: str | None) -> float | None:
    """`rate(15 minutes)` -> 900; cron expressions are not emulated (None)."""
    match = _RATE.match(expression or "")
    if match is None:
        return None
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2).rstrip("s")]


def _scheduled_rules(region: str = "us-east-1") -> list[Any]:
    rules = []
    for account_id in list(events_models.events_backends.keys()):
        backend = events_models.events_backends[account_id][region]
        for bus in list(backend.event_buses.values()):
            rules += [rule for rule in list(bus.rules.values()) if rule.scheduled_expression]
    return rules


def _with_iso_time(event: dict[str, Any]) -> dict[str, Any]:
    """Events reach targets with `time` as an ISO-8601 UTC string (moto keeps epoch seconds)."""
    if isinstance(event.get("time"), int | float):
        return {**event, "time": datetime.fromtimestamp(float(event["time"]), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    return event


def _with_epoch_time(event: dict[str, Any]) -> dict[str, Any]:
    if isinstance(event.get("time"), str):
        parsed = datetime.strptime(event["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        return {**event, "time": parsed.timestamp()}
    return dict(event)


def _target_input(target: dict[str, Any], event: dict[str, Any]) -> Any:
    if "Input" in target:
        return json.loads(target["Input"])
    if "InputPath" in target:
        value: Any = event
        for part in target["InputPath"].removeprefix("$").strip(".").split("."):
            if part:
                value = value[part]
        return value
    return event


def install(registry: LambdaRegistry) -> EventBridgePatch:
    return EventBridgePatch(registry)
