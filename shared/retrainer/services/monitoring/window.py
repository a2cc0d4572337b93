"""`plan_window`: which captured requests one monitoring run analyses, and the analysis job's inputs.

The window is the `window_minutes` before the scheduled time (to the minute). Captures are foldered by the
hour they were written (`<capture>/<endpoint>/<variant>/yyyy/mm/dd/hh/`); the job filters records by their
inferenceTime, so every hour folder the window touches (and the next one, where a file opened just before
the hour may have landed) is an input. Folders that hold nothing are left out: SageMaker fails a job whose
S3 input prefix matches no object, and a window without any capture ends as "no data" without a job.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from retrainer.services.monitoring import layout
from retrainer.services.monitoring.wiring import MonitoringAdapters, MonitoringRequest, MonitoringStack

CAPTURE_DIR = "/opt/ml/processing/input/endpoint"
BASELINE_DIR = "/opt/ml/processing/baseline"


class PlanWindow(MonitoringRequest):
    action: Literal["plan_window"]
    endpoint_name: str
    variant_name: str
    schedule_name: str
    baseline_uri: str
    capture_uri: str
    scheduled_time: str
    window_minutes: int = 60
    instance_type: str = "ml.m5.xlarge"


def plan_window(request: PlanWindow, stack: MonitoringStack, adapters: MonitoringAdapters) -> dict[str, Any]:
    end = parse_time(request.scheduled_time).replace(second=0, microsecond=0)
    start = end - timedelta(minutes=request.window_minutes)
    variant_prefix = f"{request.capture_uri.rstrip('/')}/{request.endpoint_name}/{request.variant_name}/"
    bucket, key_prefix = layout.split_uri(variant_prefix)
    hours = hours_touched(start, end)
    captured = [hour for hour in hours if adapters.objects.list_keys(bucket, f"{key_prefix}{hour:%Y/%m/%d/%H}/")]
    output_uri = layout.report_uri(stack.artifacts_bucket, request.model_name, request.schedule_name, end)
    plan: dict[str, Any] = {
        "has_data": bool(captured),
        "start": iso(start),
        "end": iso(end),
        "output_uri": output_uri,
        "job_name": f"{request.schedule_name[:40]}-{end:%m%d%H%M}-{uuid.uuid4().hex[:6]}",
    }
    if not captured:
        plan["outcome"] = (
            f"no data: nothing captured for {request.variant_name} between {plan['start']} and {plan['end']}"
        )
        return plan
    plan["inputs"] = [
        s3_input("code", stack.job_code_prefix, "/opt/ml/processing/input/code"),
        s3_input("baseline", request.baseline_uri, BASELINE_DIR),
        *[
            s3_input(
                f"capture-{hour:%Y%m%d%H}", f"{variant_prefix}{hour:%Y/%m/%d/%H}/", f"{CAPTURE_DIR}/{hour:%Y%m%d%H}"
            )
            for hour in captured
        ],
    ]
    plan["arguments"] = [
        "analysis",
        "--capture-dir",
        CAPTURE_DIR,
        "--baseline-dir",
        BASELINE_DIR,
        "--output-dir",
        "/opt/ml/processing/output",
        "--start-time",
        plan["start"],
        "--end-time",
        plan["end"],
        "--endpoint-name",
        request.endpoint_name,
        "--schedule-name",
        request.schedule_name,
        "--message-file",
        "/opt/ml/output/message",
    ]
    return plan


def parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def hours_touched(start: datetime, end: datetime) -> list[datetime]:
    """Every hour folder from the window's first hour to the hour after its end (late-written files)."""
    hour = start.replace(minute=0)
    hours = []
    while hour <= end:
        hours.append(hour)
        hour += timedelta(hours=1)
    return hours


def s3_input(name: str, uri: str, local_path: str) -> dict[str, Any]:
    return {
        "InputName": name,
        "S3Input": {
            "S3Uri": uri,
            "LocalPath": local_path,
            "S3DataType": "S3Prefix",
            "S3InputMode": "File",
            "S3DataDistributionType": "FullyReplicated",
        },
    }
