"""start_retraining: an uploaded CSV under `<prefix><model>/` retrains that model on its whole folder.

Two kinds of objects in the data bucket are never a trigger: the feedback data model-quality runs write under
`<prefix><model>/feedback/` every window (the quality alarm starts that retraining), and the ground truth users
upload under `ground-truth/<model>/` (labels that model-quality runs read)."""

from __future__ import annotations

import hashlib
import re
import unicodedata

from retrainer import naming
from retrainer.errors import ActionNeeded, EventRejected
from retrainer.events import S3ObjectCreatedEvent
from retrainer.ports import ObjectVersion
from retrainer.run_data import TriggerInfo
from retrainer.services.runs import Adapters, RunOutcome, StackDefaults, prepare_and_start

MAX_KEY_BYTES = 1024
# Unicode categories no object key of ours contains: controls (C0, DEL, C1 such as U+0085), format
# characters (bidi overrides such as U+202E, zero-width spaces), unassigned, private use, surrogates,
# line and paragraph separators.
HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cn", "Co", "Cs", "Zl", "Zp"})
NULL_VERSION_ID = "null"
_HEX = re.compile(r"[0-9A-Fa-f]{1,64}")


def start_from_upload(event: S3ObjectCreatedEvent, defaults: StackDefaults, adapters: Adapters) -> RunOutcome:
    detail = event.detail
    bucket = detail.bucket.name
    key = detail.object.key
    context = {"bucket": bucket, "key": key}
    if bucket != defaults.data_bucket:
        raise EventRejected("object is not in the stack's data bucket", expected=defaults.data_bucket, **context)
    _check_not_generated_or_labels(key, defaults.data_prefix, context)
    _check_key(key, defaults.data_prefix, context)
    if not detail.object.size:
        raise EventRejected("object is empty (size 0)", **context)
    model_name = naming.model_name_from_key(key, defaults.data_prefix)
    if model_name is None:
        raise EventRejected("object is not inside a model folder: upload to <prefix><model-name>/<file>.csv", **context)
    if not naming.is_valid_model_name(model_name):
        # The upload was meant for a model: tell the user the folder name is the problem (once).
        raise ActionNeeded(
            "model folder name is not a valid model name "
            "(lowercase letters, digits and single hyphens, at most 32 characters)",
            model_name=model_name,
            **context,
        )
    sequencer = _sequencer(detail.object.sequencer, context)
    version_id = detail.object.version_id
    # "null" is S3's version id of an object written while versioning was off: no version, not an identity.
    version = (version_id if version_id and version_id != NULL_VERSION_ID else None) or sequencer or detail.object.etag
    ordering = None
    if sequencer:
        object_id = hashlib.sha256(f"{bucket}/{key}".encode()).hexdigest()[:32]
        ordering = ObjectVersion(object_id=object_id, sequencer=sequencer)
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


def _check_not_generated_or_labels(key: str, prefix: str, context: dict[str, str]) -> None:
    """Feedback CSVs land every model-quality window and ground truth every hour: neither starts a run."""
    model_name = naming.model_name_from_key(key, prefix)
    if model_name is not None and key.startswith(naming.feedback_prefix(prefix, model_name)):
        raise EventRejected(
            "feedback data: a quality alarm starts the retraining "
            f"(objects under <prefix><model>/{naming.FEEDBACK_FOLDER}/ are written by model-quality runs)",
            model_name=model_name,
            **context,
        )
    if key.startswith(naming.GROUND_TRUTH_PREFIX):
        raise EventRejected(
            "ground truth: labels for model-quality runs, never training data or a retraining trigger", **context
        )


def _sequencer(raw: str | None, context: dict[str, str]) -> str | None:
    """S3's sequencer is a hex number: compared (and part of the trigger's identity) in upper case."""
    if not raw:
        return None
    if not _HEX.fullmatch(raw):
        raise EventRejected("object sequencer is not a hexadecimal string", sequencer=raw, **context)
    return raw.upper()


def _check_key(key: str, prefix: str, context: dict[str, str]) -> None:
    hidden = next((ch for ch in key if unicodedata.category(ch) in HIDDEN_CATEGORIES), None)
    if hidden is not None:
        raise EventRejected(
            "object key contains control characters or other invisible or unassigned code points "
            f"(U+{ord(hidden):04X}, category {unicodedata.category(hidden)})",
            **context,
        )
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise EventRejected("object key is longer than S3's 1,024-byte limit", **context)
    if {".", ".."} & set(key.split("/")):
        raise EventRejected("object key contains a '.' or '..' path segment", **context)
    if not key.startswith(prefix):
        raise EventRejected("object key is outside the data prefix", prefix=prefix, **context)
    file_name = key.rsplit("/", 1)[-1]
    if not file_name.lower().endswith(".csv"):
        raise EventRejected("object is not a CSV file (suffix must be .csv)", **context)
    if not file_name[: -len(".csv")].strip(" ."):
        raise EventRejected("object file name is only an extension ('.csv'): name the file, e.g. part-1.csv", **context)
