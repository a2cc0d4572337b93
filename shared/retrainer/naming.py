"""Names derived from events: models, endpoints, executions, job prefixes and alarms.

Everything here is deterministic, so a redelivered event maps to the same execution name and
Step Functions refuses to start it twice.
"""

from __future__ import annotations

import hashlib
import re

# A model's folder name under the data prefix. Lowercase, digits and single hyphens, so it is valid
# inside SageMaker names (endpoints, jobs, models) and the `--` alarm separator stays unambiguous.
MODEL_NAME_PATTERN = r"^[a-z0-9](?:-?[a-z0-9]){0,31}$"
_MODEL_NAME = re.compile(MODEL_NAME_PATTERN)

# Step Functions execution names: 1-80 characters, no whitespace, wildcards, brackets or controls.
EXECUTION_NAME_MAX = 80
_RUN_DIGEST_CHARS = 12

DRIFT_ALARM_INFIX = "-drift-"
QUALITY_ALARM_INFIX = "-quality-"
FEEDBACK_FOLDER = "feedback"  # <data prefix><model>/feedback/: labelled traffic written by model-quality runs
GROUND_TRUTH_PREFIX = "ground-truth/"  # s3://<DataBucket>/ground-truth/<model>/yyyy/mm/dd/hh/*.jsonl
ALARM_SUFFIX_SEPARATOR = "--"


def is_valid_model_name(name: str) -> bool:
    return bool(_MODEL_NAME.fullmatch(name))


def model_name_from_key(key: str, data_prefix: str) -> str | None:
    """`incoming/churn/2024/part-1.csv` with prefix `incoming/` gives `churn`; None if no folder."""
    if not key.startswith(data_prefix):
        return None
    folder, sep, _rest = key[len(data_prefix) :].partition("/")
    return folder if sep and folder else None


def model_data_prefix(data_prefix: str, model_name: str) -> str:
    return f"{data_prefix}{model_name}/"


def endpoint_name(stack_name: str, model_name: str) -> str:
    """Each model has its own endpoint, `<stack>-<model>`."""
    return f"{stack_name}-{model_name}"


def model_from_endpoint(stack_name: str, endpoint: str) -> str | None:
    prefix = f"{stack_name}-"
    if not endpoint.startswith(prefix):
        return None
    model = endpoint[len(prefix) :]
    return model if is_valid_model_name(model) else None


def drift_alarm_prefix(stack_name: str) -> str:
    return f"{stack_name}{DRIFT_ALARM_INFIX}"


def drift_alarm_name(stack_name: str, model_name: str, suffix: str = "") -> str:
    """The naming convention that maps an alarm to the model it guards.

    `<stack>-drift-<model>` or `<stack>-drift-<model>--<anything>`, e.g.
    `retrainer-drift-churn--feature-age`. Model names never contain `--`, so the split is exact.
    """
    base = f"{drift_alarm_prefix(stack_name)}{model_name}"
    return f"{base}{ALARM_SUFFIX_SEPARATOR}{suffix}" if suffix else base


def model_from_alarm(stack_name: str, alarm_name: str) -> str | None:
    prefix = drift_alarm_prefix(stack_name)
    if not alarm_name.startswith(prefix):
        return None
    model = alarm_name[len(prefix) :].split(ALARM_SUFFIX_SEPARATOR, 1)[0]
    return model if is_valid_model_name(model) else None


def quality_alarm_prefix(stack_name: str) -> str:
    return f"{stack_name}{QUALITY_ALARM_INFIX}"


def quality_alarm_name(stack_name: str, model_name: str, metric: str) -> str:
    """The model-quality alarm of a model: `<stack>-quality-<model>--<metric>` (e.g. `retrainer-quality-churn--auc`);
    the QualityAlarm rule starts a retraining (trigger kind `quality_alarm`) when it goes into ALARM."""
    return f"{quality_alarm_prefix(stack_name)}{model_name}{ALARM_SUFFIX_SEPARATOR}{metric}"


def model_from_quality_alarm(stack_name: str, alarm_name: str) -> str | None:
    prefix = quality_alarm_prefix(stack_name)
    if not alarm_name.startswith(prefix):
        return None
    model = alarm_name[len(prefix) :].split(ALARM_SUFFIX_SEPARATOR, 1)[0]
    return model if is_valid_model_name(model) else None


def feedback_prefix(data_prefix: str, model_name: str) -> str:
    """Where model-quality runs write a model's labelled traffic as training CSVs (never a retraining trigger)."""
    return f"{model_data_prefix(data_prefix, model_name)}{FEEDBACK_FOLDER}/"


def ground_truth_prefix(model_name: str) -> str:
    return f"{GROUND_TRUTH_PREFIX}{model_name}/"


def models_one_hyphen_off(model_part: str) -> list[str]:
    """Models an alarm named `<stack>-drift-<model_part>` may have meant with a single hyphen where the
    convention wants `--`: `churn-feature-age` may be `churn` (feature `feature-age`) or `churn-feature`."""
    cuts = [i for i, ch in enumerate(model_part) if ch == "-"]
    return [model_part[:i] for i in reversed(cuts) if is_valid_model_name(model_part[:i])]


def run_id(model_name: str, *identity: str) -> str:
    """A run id that is also the execution name: `<model>-<12 hex of the trigger's identity>`.

    The identity is what makes the trigger unique (bucket, key and version id or sequencer for an
    upload; alarm name and state-change time for an alarm), so a redelivery maps to the same run.
    """
    digest = hashlib.sha256("\x1f".join(identity).encode("utf-8")).hexdigest()[:_RUN_DIGEST_CHARS]
    name = f"{model_name}-{digest}"
    assert len(name) <= EXECUTION_NAME_MAX
    return name
