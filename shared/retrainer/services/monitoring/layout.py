"""Where monitoring lives: S3 layout, schedule and alarm names (README "Monitoring").

    s3://<artifacts>/monitoring/<model>/baseline/<run-id>/        statistics.json, constraints.json
    s3://<artifacts>/monitoring/<model>/<schedule>/yyyy/mm/dd/hh/ statistics.json, constraints.json,
                                                                   constraint_violations.json, cloudwatch_metrics.json
    s3://<artifacts>/monitoring/<model>/model-quality/<schedule>/yyyy/mm/dd/hh/
                                   statistics.json (binary_classification_metrics), variant_statistics.json,
                                   constraints.json, constraint_violations.json, cloudwatch_metrics.json,
                                   merge_summary.json  (a model-quality run; hh = the judged window's end hour)

A schedule monitors one promoted model version: it is named after the version's run id (its variant name),
in the stack's schedule group; the drift alarms are `<stack>-drift-<model>--<feature>`, the convention the
DriftAlarm rule starts retrainings on.
"""

from __future__ import annotations

import json
from datetime import datetime

from retrainer import naming
from retrainer.ports import MODEL_METRICS_NAMESPACE, ObjectReader

MONITORING_PREFIX = "monitoring"
MODEL_QUALITY_FOLDER = "model-quality"  # never a schedule name: those are run ids, `<model>-<12 hex>`
MODEL_QUALITY_NAMESPACE = MODEL_METRICS_NAMESPACE
DRIFT_METRIC_PREFIX = "feature_baseline_drift_"


def baseline_uri(bucket: str, model_name: str, run_id: str) -> str:
    return f"s3://{bucket}/{MONITORING_PREFIX}/{model_name}/baseline/{run_id}/"


def reports_uri(bucket: str, model_name: str, schedule_name: str) -> str:
    return f"s3://{bucket}/{MONITORING_PREFIX}/{model_name}/{schedule_name}/"


def report_uri(bucket: str, model_name: str, schedule_name: str, hour: datetime) -> str:
    return f"{reports_uri(bucket, model_name, schedule_name)}{hour:%Y/%m/%d/%H}/"


def quality_reports_uri(bucket: str, model_name: str, schedule_name: str) -> str:
    return f"s3://{bucket}/{MONITORING_PREFIX}/{model_name}/{MODEL_QUALITY_FOLDER}/{schedule_name}/"


def quality_report_uri(bucket: str, model_name: str, schedule_name: str, hour: datetime) -> str:
    return f"{quality_reports_uri(bucket, model_name, schedule_name)}{hour:%Y/%m/%d/%H}/"


def schedule_name(variant_name: str) -> str:
    """The monitoring schedule of a promoted version: its variant's name (the run id, <= 49 characters)."""
    return variant_name


def drift_alarm_name(stack_name: str, model_name: str, feature: str) -> str:
    return naming.drift_alarm_name(stack_name, model_name, feature)


def split_uri(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def read_json(objects: ObjectReader, uri: str) -> object:
    bucket, key = split_uri(uri)
    return json.loads("\n".join(objects.read_lines(bucket, key)))
