"""`plan_quality_window`: which captured predictions one model-quality run judges, and the job's inputs.

Labels arrive late, so the run at T judges the `window_minutes` ending at `T - lookback_hours` (to the minute),
with every label uploaded up to T (the cut-off: the job counts later ones as late). Inputs (S3Prefix, File mode),
only prefixes that hold objects (SageMaker fails a job whose input prefix matches nothing):

- the job code;
- the captures of every variant of the endpoint, the hour folders the window touches and the next one
  (`<capture>/<endpoint>/<variant>/yyyy/mm/dd/hh/` -> `<capture dir>/<variant>/yyyy/mm/dd/hh`: the job reads the
  variant from the path);
- the ground truth, `s3://<DataBucket>/ground-truth/<model>/yyyy/mm/dd/hh/`, from the window's start hour to the
  cut-off's hour (the job reads the upload hour from the path: the folders keep their layout);
- the promoted run's schema.json (feedback columns, label values) and the model's feedback folder (which requests
  earlier windows already wrote).

A window without any capture, or without any label uploaded, ends without a job (nothing to judge). SageMaker
takes at most 10 inputs: when the hour folders are more, neighbouring hours are read as their day (then month,
year) folder; the job skips hours before the window and counts labels after the cut-off as late, so the result
is the same.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from retrainer.pipeline_config import Metric
from retrainer.services.monitoring import layout
from retrainer.services.monitoring.window import hours_touched, iso, parse_time, s3_input
from retrainer.services.monitoring.wiring import MonitoringAdapters, MonitoringRequest, MonitoringStack

ENTRYPOINT = "/opt/ml/processing/input/code/monitoring/model_quality_job.py"
CAPTURE_DIR = "/opt/ml/processing/input/endpoint"
GROUND_TRUTH_DIR = "/opt/ml/processing/input/ground_truth"
SCHEMA_DIR = "/opt/ml/processing/input/schema"
FEEDBACK_DIR = "/opt/ml/processing/input/feedback"
FEEDBACK_OUTPUT_DIR = "/opt/ml/processing/feedback"
MAX_INPUTS = 10  # CreateProcessingJob's ProcessingInputs limit
HOUR_FOLDER = "%Y/%m/%d/%H/"


class QualityRun(BaseModel):
    """The model-quality part of a schedule's Input (set at promotion by `setup.start`): the gate and where the
    labels, the schema and the feedback data live."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    lookback_hours: float = 24.0
    margin: float = 0.02
    min_labels: int = 50
    metric: Metric = "auc"
    threshold: float
    baseline_score: float | None = Field(default=None, description="The promoted model's test value of `metric`.")
    schema_uri: str = ""
    ground_truth_uri: str = Field(description="s3://<DataBucket>/ground-truth/<model>/")
    feedback_uri: str = Field(description="s3://<DataBucket>/<data prefix><model>/feedback/")


class PlanQualityWindow(MonitoringRequest):
    action: Literal["plan_quality_window"]
    endpoint_name: str
    schedule_name: str
    capture_uri: str
    scheduled_time: str
    window_minutes: int = 60
    instance_type: str = "ml.m5.xlarge"
    quality: QualityRun


def feedback_name(start: datetime, end: datetime) -> str:
    """The feedback files' name of a window (model_quality_feedback.window_name, the job's side of the contract)."""
    if end - start == timedelta(hours=1) and start.minute == 0:
        return start.strftime("%Y-%m-%d-%H")
    return f"{start:%Y-%m-%d-%H%M}--{end:%Y-%m-%d-%H%M}"


def plan_quality_window(
    request: PlanQualityWindow, stack: MonitoringStack, adapters: MonitoringAdapters
) -> dict[str, Any]:
    quality = request.quality
    cutoff = parse_time(request.scheduled_time).replace(second=0, microsecond=0)
    end = (cutoff - timedelta(hours=quality.lookback_hours)).replace(second=0, microsecond=0)
    start = end - timedelta(minutes=request.window_minutes)
    plan: dict[str, Any] = {
        "has_data": False,
        "start": iso(start),
        "end": iso(end),
        "cutoff": iso(cutoff),
        "output_uri": layout.quality_report_uri(stack.artifacts_bucket, request.model_name, request.schedule_name, end),
        "feedback_uri": quality.feedback_uri,
        "feedback_file": f"{quality.feedback_uri}{feedback_name(start, end)}.json",
        "metric": quality.metric,
        "job_name": f"{request.schedule_name[:36]}-q{end:%m%d%H%M}-{uuid.uuid4().hex[:6]}",
    }
    captures = _captures(request, adapters, hours_touched(start, end))
    if not captures:
        plan["outcome"] = f"no data: nothing captured on {request.endpoint_name} in [{plan['start']}, {plan['end']})"
        return plan
    labels = _present(adapters, quality.ground_truth_uri, hours_touched(start, cutoff))
    if not labels:
        plan["outcome"] = (
            f"no labels: no ground truth under {quality.ground_truth_uri} from {start:%Y-%m-%dT%H}h to {plan['cutoff']}"
        )
        return plan
    fixed = [s3_input("code", stack.job_code_prefix, "/opt/ml/processing/input/code")]
    if quality.schema_uri:
        fixed.append(s3_input("schema", quality.schema_uri, SCHEMA_DIR))
    if adapters.objects.has_objects(*layout.split_uri(quality.feedback_uri)):
        fixed.append(s3_input("feedback", quality.feedback_uri, FEEDBACK_DIR))
    room = MAX_INPUTS - len(fixed)
    capture_inputs = _fit(captures, room - 1, lambda i, uri, rel: s3_input(f"capture-{i}", uri, f"{CAPTURE_DIR}/{rel}"))
    label_inputs = _fit(
        [(quality.ground_truth_uri, folder) for folder in labels],
        room - len(capture_inputs),
        lambda i, uri, rel: s3_input(f"ground-truth-{i}", uri, f"{GROUND_TRUTH_DIR}/{rel}"),
    )
    plan.update(has_data=True, inputs=[*fixed, *capture_inputs, *label_inputs], arguments=_arguments(request, plan))
    return plan


def _captures(request: PlanQualityWindow, adapters: MonitoringAdapters, hours: list[datetime]) -> list[tuple[str, str]]:
    """(prefix of the variant's captures, `<variant>/yyyy/mm/dd/hh/`) of every hour folder that holds captures."""
    endpoint_uri = f"{request.capture_uri.rstrip('/')}/{request.endpoint_name}/"
    bucket, endpoint_prefix = layout.split_uri(endpoint_uri)
    found = []
    for variant_prefix in adapters.objects.list_folders(bucket, endpoint_prefix):
        variant = variant_prefix[len(endpoint_prefix) :]
        base = f"s3://{bucket}/{endpoint_prefix}"
        found += [(base, f"{variant}{folder}") for folder in _present(adapters, f"{base}{variant}", hours)]
    return found


def _present(adapters: MonitoringAdapters, uri: str, hours: list[datetime]) -> list[str]:
    """The `yyyy/mm/dd/hh/` folders under `uri` that hold objects."""
    bucket, prefix = layout.split_uri(uri)
    folders = [f"{hour:{HOUR_FOLDER}}" for hour in hours]
    return [folder for folder in folders if adapters.objects.has_objects(bucket, f"{prefix}{folder}")]


def _fit(
    folders: list[tuple[str, str]], room: int, make: Callable[[int, str, str], dict[str, Any]]
) -> list[dict[str, Any]]:
    """One input per (base, relative folder); coarser folders (the hour's day, month, year) when they do not fit."""
    relative = [rel for _, rel in folders]
    depth = 0
    while len(set(relative)) > max(room, 1) and depth < 3:
        depth += 1
        relative = [_up(rel, depth) for _, rel in folders]
    unique = list(dict.fromkeys(zip([base for base, _ in folders], relative, strict=True)))
    return [make(index, f"{base}{rel}", rel.rstrip("/")) for index, (base, rel) in enumerate(unique)]


def _up(relative: str, levels: int) -> str:
    """`v/2026/12/01/10/` one level up is `v/2026/12/01/` (the hour's day), two levels its month."""
    parts = relative.rstrip("/").split("/")
    return "/".join(parts[: len(parts) - levels]) + "/"


def _arguments(request: PlanQualityWindow, plan: dict[str, Any]) -> list[str]:
    quality = request.quality
    arguments = [
        "--capture-dir",
        CAPTURE_DIR,
        "--ground-truth-dir",
        GROUND_TRUTH_DIR,
        "--output-dir",
        "/opt/ml/processing/output",
        "--start-time",
        plan["start"],
        "--end-time",
        plan["end"],
        "--lookback-hours",
        f"{quality.lookback_hours:g}",
        "--gate-metric",
        quality.metric,
        "--gate-threshold",
        repr(quality.threshold),
        "--margin",
        repr(quality.margin),
        "--min-labels",
        str(quality.min_labels),
    ]
    if quality.baseline_score is not None:
        arguments += ["--baseline-score", repr(quality.baseline_score)]
    if quality.schema_uri:
        arguments += ["--schema", f"{SCHEMA_DIR}/{quality.schema_uri.rstrip('/').rsplit('/', 1)[-1]}"]
    return [
        *arguments,
        "--feedback-dir",
        FEEDBACK_DIR,
        "--feedback-output-dir",
        FEEDBACK_OUTPUT_DIR,
        "--endpoint-name",
        request.endpoint_name,
        "--schedule-name",
        request.schedule_name,
        "--message-file",
        "/opt/ml/output/message",
    ]
