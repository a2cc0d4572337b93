"""start_retraining: an uploaded CSV under `<prefix><model>/` retrains that model on its whole folder."""

from __future__ import annotations

import hashlib

from retrainer import naming
from retrainer.errors import EventRejected
from retrainer.events import S3ObjectCreatedEvent
from retrainer.ports import ObjectVersion
from retrainer.run_data import TriggerInfo
from retrainer.services.runs import Adapters, RunOutcome, StackDefaults, prepare_and_start

MAX_KEY_BYTES = 1024


def start_from_upload(event: S3ObjectCreatedEvent, defaults: StackDefaults, adapters: Adapters) -> RunOutcome:
    detail = event.detail
    bucket = detail.bucket.name
    key = detail.object.key
    context = {"bucket": bucket, "key": key}
    if bucket != defaults.data_bucket:
        raise EventRejected("object is not in the stack's data bucket", expected=defaults.data_bucket, **context)
    _check_key(key, defaults.data_prefix, context)
    if not detail.object.size:
        raise EventRejected("object is empty (size 0)", **context)
    model_name = naming.model_name_from_key(key, defaults.data_prefix)
    if model_name is None:
        raise EventRejected("object is not inside a model folder: upload to <prefix><model-name>/<file>.csv", **context)
    version = detail.object.version_id or detail.object.sequencer or detail.object.etag
    ordering = None
    if detail.object.sequencer:
        object_id = hashlib.sha256(f"{bucket}/{key}".encode()).hexdigest()[:32]
        ordering = ObjectVersion(object_id=object_id, sequencer=detail.object.sequencer)
    trigger = TriggerInfo(kind="s3_upload", event_id=event.id, source=f"s3://{bucket}/{key}")
    # The event itself proves a non-empty CSV in the model's folder (checked above): no listing.
    return prepare_and_start(
        model_name=model_name,
        trigger=trigger,
        identity=(bucket, key, version or ""),
        defaults=defaults,
        adapters=adapters,
        version=ordering,
    )


def _check_key(key: str, prefix: str, context: dict[str, str]) -> None:
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise EventRejected("object key is longer than S3's 1,024-byte limit", **context)
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in key):
        raise EventRejected("object key contains control characters", **context)
    if ".." in key.split("/"):
        raise EventRejected("object key contains a '..' path segment", **context)
    if not key.startswith(prefix):
        raise EventRejected("object key is outside the data prefix", prefix=prefix, **context)
    if not key.lower().endswith(".csv"):
        raise EventRejected("object is not a CSV file (suffix must be .csv)", **context)
