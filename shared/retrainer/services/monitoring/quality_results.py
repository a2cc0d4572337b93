"""`publish_quality`: what a model-quality run found, made visible.

The run's metrics (cloudwatch_metrics.json, namespace aws/sagemaker/Endpoints/model-metrics) go to CloudWatch,
stamped when they are published, where the model's quality alarm watches the gate metric; the alarm, not this
step, starts a retraining. A run with violations also puts a notice on the topic ("model quality dropped: auc
0.61 < 0.92 ..."), with the report and the feedback rows the window wrote. A window whose captures have too few
labels yet ends quietly as `no labels` (the job's "Job inputs had no data: K of N captured records have ground
truth ..."); any other failure of the job is an error.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from typing import Any, Literal

from aws_lambda_powertools import Logger
from pydantic import Field

from retrainer.errors import MonitoringJobFailed
from retrainer.services.monitoring import layout
from retrainer.services.monitoring.results import NO_DATA, stamped
from retrainer.services.monitoring.wiring import MonitoringAdapters, MonitoringRequest, MonitoringStack

logger = Logger(child=True)

LABELLED = re.compile(r"(?P<labelled>\d+) of (?P<captured>\d+) captured records have ground truth")
VIOLATION = re.compile(
    r"Metric (?P<metric>\S+) with (?P<value>\S+) was (?P<check>LessThanThreshold|GreaterThanThreshold) "
    r"(?P<bound>[^\s(]+)(?: \((?P<why>.*)\))?"
)
SIGNS = {"LessThanThreshold": "<", "GreaterThanThreshold": ">"}


class PublishQuality(MonitoringRequest):
    action: Literal["publish_quality"]
    endpoint_name: str
    schedule_name: str
    output_uri: str
    job_name: str
    metric: str = "auc"
    feedback_file: str = Field(default="", description="The window's feedback .json, when the job wrote one.")
    exit_message: str = ""
    failure: dict[str, Any] = Field(default_factory=dict, description="The quality job's Catch: Error, Cause.")


def publish_quality(
    request: PublishQuality, stack: MonitoringStack, adapters: MonitoringAdapters, now: datetime | None = None
) -> dict[str, Any]:
    if request.failure:
        return _no_labels(request, adapters)
    metrics = layout.read_json(adapters.objects, f"{request.output_uri}cloudwatch_metrics.json")
    published = adapters.alarms.put_metric_data(stamped(metrics if isinstance(metrics, list) else [], now or _now()))
    statistics = layout.read_json(adapters.objects, f"{request.output_uri}statistics.json")
    value = _metric(statistics, request.metric)
    feedback = _feedback(request, adapters)
    report = layout.read_json(adapters.objects, f"{request.output_uri}constraint_violations.json")
    violations = list(report.get("violations", [])) if isinstance(report, dict) else []
    result = {
        "outcome": "violations" if violations else "no violations",
        "job": request.job_name,
        "metrics": published,
        "metric": request.metric,
        "value": value,
        "feedback": feedback,
        "report": request.output_uri,
    }
    if not violations:
        return result
    headline = "model quality dropped: " + "; ".join(_dropped(v) for v in violations[:5])
    adapters.notifier.publish(
        f"retrainer: {request.model_name} model quality dropped",
        {
            "outcome": "quality violations",
            "headline": headline,
            "model_name": request.model_name,
            "endpoint": request.endpoint_name,
            "schedule": request.schedule_name,
            "metric": request.metric,
            "value": value,
            "violations": violations[:50],
            "report": request.output_uri,
            "feedback_rows_written": feedback["rows"],
            "feedback": feedback,
        },
        "model quality violations",
        request.model_name,
    )
    logger.info("model-quality run found violations", extra={"job": request.job_name, "headline": headline})
    return {**result, "headline": headline}


def _now() -> datetime:
    return datetime.now(UTC)


def _no_labels(request: PublishQuality, adapters: MonitoringAdapters) -> dict[str, Any]:
    cause = str(request.failure.get("Cause", ""))
    if NO_DATA not in cause:
        raise MonitoringJobFailed(f"model-quality job {request.job_name} failed: {cause[:600]}")
    match = LABELLED.search(cause)
    # The cause cut short: the job's merge_summary.json says it too, when it was uploaded.
    counts = {k: int(v) for k, v in match.groupdict().items()} if match else _summary_counts(request, adapters)
    labelled, captured = (counts["labelled"], counts["captured"]) if counts else (0, 0)
    logger.info("model-quality window had too few labels", extra={"job": request.job_name, "cause": cause[:300]})
    return {
        "outcome": "no labels" if captured else "no data",
        "job": request.job_name,
        "labelled_records": labelled,
        "captured_records": captured,
        "detail": f"{labelled} of {captured} captured records had ground truth" if captured else cause[:300],
    }


def _summary_counts(request: PublishQuality, adapters: MonitoringAdapters) -> dict[str, int] | None:
    bucket, key = layout.split_uri(f"{request.output_uri}merge_summary.json")
    if not adapters.objects.has_objects(bucket, key):
        return None
    summary = layout.read_json(adapters.objects, f"{request.output_uri}merge_summary.json")
    if not isinstance(summary, dict):
        return None
    return {"labelled": int(summary.get("merged_records", 0)), "captured": int(summary.get("captured_records", 0))}


def _metric(statistics: object, name: str) -> float | None:
    """The gate metric's value in statistics.json; None when it judges nothing ("NaN": one class only)."""
    metrics = statistics.get("binary_classification_metrics", {}) if isinstance(statistics, dict) else {}
    entry = metrics.get(name, {}) if isinstance(metrics, dict) else {}
    try:
        value = float(entry.get("value", math.nan)) if isinstance(entry, dict) else math.nan
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else value


def _feedback(request: PublishQuality, adapters: MonitoringAdapters) -> dict[str, Any]:
    """What the window added to the model's training data (nothing when every labelled request was written)."""
    if not request.feedback_file:
        return {"rows": 0, "records": 0, "file": ""}
    bucket, key = layout.split_uri(request.feedback_file)
    if not adapters.objects.has_objects(bucket, key):
        return {"rows": 0, "records": 0, "file": ""}
    written = json.loads("\n".join(adapters.objects.read_lines(bucket, key)))
    return {
        "rows": int(written.get("rows", 0)),
        "records": len(written.get("event_ids", [])),
        "file": request.feedback_file.removesuffix(".json") + ".csv",
    }


def _dropped(violation: dict[str, Any]) -> str:
    """`Metric auc with 0.61 was LessThanThreshold 0.92 (why)` -> `auc 0.61 < 0.92 (why)`."""
    text = str(violation.get("description", ""))
    match = VIOLATION.search(text)
    if match is None:
        return text
    why = f" ({match['why']})" if match["why"] else ""
    return f"{match['metric']} {_short(match['value'])} {SIGNS[match['check']]} {_short(match['bound'])}{why}"


def _short(number: str) -> str:
    """`0.7229495309129655` -> `0.7229` (a headline, not the report: that keeps every digit)."""
    try:
        return f"{float(number):.4g}"
    except ValueError:
        return number
