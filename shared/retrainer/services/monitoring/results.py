"""`publish`: what a monitoring run found, made visible.

The run's metrics (cloudwatch_metrics.json, Model Monitor's names) go to CloudWatch, where the drift alarms
watch them; a run with violations also puts an event on the default bus that MonitorViolationFunction turns
into a retraining trigger (deduplicated like any trigger, by the job's name), and a notice on the topic says
which features drifted, by how much, and where the report is. A window without traffic ends quietly
("no data", as a Model Monitor execution does); any other failure of the job is an error.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Literal

from aws_lambda_powertools import Logger
from pydantic import Field

from retrainer.errors import MonitoringJobFailed
from retrainer.services.monitoring import layout
from retrainer.services.monitoring.wiring import MonitoringAdapters, MonitoringRequest, MonitoringStack

logger = Logger(child=True)

NO_DATA = "Job inputs had no data"
VIOLATIONS_PREFIX = "CompletedWithViolations"
DRIFT_TEXT = re.compile(r"distance: (?P<distance>[-+0-9.eE]+) exceeds threshold: (?P<threshold>[-+0-9.eE]+)")
EVENT_SOURCE = "retrainer.monitoring"
EVENT_DETAIL_TYPE = "SageMaker Processing Job State Change"  # the shape Model Monitor runs report in


class PublishResults(MonitoringRequest):
    action: Literal["publish"]
    endpoint_name: str
    schedule_name: str
    output_uri: str
    job_name: str
    exit_message: str = ""
    failure: dict[str, Any] = Field(default_factory=dict, description="The analysis job's Catch: Error, Cause.")


def publish(
    request: PublishResults, stack: MonitoringStack, adapters: MonitoringAdapters, now: datetime | None = None
) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    if request.failure:
        cause = str(request.failure.get("Cause", ""))
        if NO_DATA in cause:
            logger.info("monitoring window had no data", extra={"job": request.job_name})
            return {"outcome": "no data", "job": request.job_name}
        raise MonitoringJobFailed(f"monitoring job {request.job_name} failed: {cause[:600]}")
    metrics = layout.read_json(adapters.objects, f"{request.output_uri}cloudwatch_metrics.json")
    published = adapters.alarms.put_metric_data(stamped(metrics if isinstance(metrics, list) else [], now))
    report = layout.read_json(adapters.objects, f"{request.output_uri}constraint_violations.json")
    violations = list(report.get("violations", [])) if isinstance(report, dict) else []
    if not violations:
        return {"outcome": "no violations", "job": request.job_name, "metrics": published}
    drifted = drifted_features(violations)
    summary = _summary(violations, drifted, request.output_uri)
    detail = {
        "ProcessingJobName": request.job_name,
        "ProcessingJobStatus": "Completed",
        "ExitMessage": summary,
        "Environment": {
            "sagemaker_endpoint_name": request.endpoint_name,
            "sagemaker_monitoring_schedule_name": request.schedule_name,
        },
        "ReportUri": request.output_uri,
        "Violations": violations[:50],
    }
    adapters.bus.put(EVENT_SOURCE, EVENT_DETAIL_TYPE, detail)
    adapters.notifier.publish(
        f"retrainer: {request.model_name} data drift",
        {
            "outcome": "violations",
            "headline": summary,
            "model_name": request.model_name,
            "endpoint": request.endpoint_name,
            "schedule": request.schedule_name,
            "drifted": drifted,
            "violations": violations[:50],
            "report": request.output_uri,
        },
        "monitoring violations",
        request.model_name,
    )
    logger.info("monitoring run found violations", extra={"job": request.job_name, "violations": len(violations)})
    return {"outcome": "violations", "job": request.job_name, "metrics": published, "drifted": drifted}


def stamped(requests: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """The run's datapoints stamped when they are published (the job stamps its window's end): a drift alarm
    (period 1 h, 1 of 1) judges the run in its current period even when the run outlasted the period."""
    stamp = now.isoformat()
    return [
        {**request, "MetricData": [{**datum, "Timestamp": stamp} for datum in request.get("MetricData", [])]}
        for request in requests
    ]


def drifted_features(violations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each baseline_drift_check as {feature, distance, threshold} (peers' regex on the description)."""
    drifted = []
    for violation in violations:
        match = DRIFT_TEXT.search(str(violation.get("description", "")))
        if violation.get("constraint_check_type") == "baseline_drift_check" and match:
            drifted.append(
                {
                    "feature": violation.get("feature_name", ""),
                    "distance": float(match["distance"]),
                    "threshold": float(match["threshold"]),
                }
            )
    return sorted(drifted, key=lambda item: -item["distance"])


def _summary(violations: list[dict[str, Any]], drifted: list[dict[str, Any]], report: str) -> str:
    """The ExitMessage-style line a retraining's trigger keeps (its first 500 characters)."""
    parts = [f"{item['feature']} {item['distance']:.3f} > {item['threshold']:g}" for item in drifted[:8]]
    others = sorted({str(v.get("constraint_check_type")) for v in violations} - {"baseline_drift_check"})
    text = f"{VIOLATIONS_PREFIX}: Job completed successfully with {len(violations)} violations. Report: {report}"
    if parts:
        text += " Drifted: " + ", ".join(parts) + "."
    if others:
        text += " Also: " + ", ".join(others) + "."
    return text
