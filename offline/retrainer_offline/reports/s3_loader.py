"""Loading the report's JSON files from the artifacts bucket, through any boto3 S3 client.

Works against `retrainer serve` (a client with `endpoint_url`) and against a deployed stack alike: only
ListObjectsV2 and GetObject are used. The layout is described in report_data.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any, Protocol

from .report_data import (
    Baseline,
    MonitoringRun,
    QualityRun,
    ReportData,
    RunEvaluation,
    evaluation_from,
    quality_metrics,
    violations_from,
)

HOUR_FOLDER = re.compile(r"^(?P<schedule>.+)/(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/(?P<h>\d{2})$")
EVALUATION_REPORT = "evaluation-report.json"


class S3Reader(Protocol):
    """The two S3 calls the loader makes (a boto3 S3 client has both)."""

    def list_objects_v2(self, **request: Any) -> dict[str, Any]: ...

    def get_object(self, **request: Any) -> dict[str, Any]: ...


def list_objects(s3: S3Reader, bucket: str, prefix: str) -> list[dict[str, Any]]:
    """Every object under the prefix (Key, LastModified), page by page."""
    objects: list[dict[str, Any]] = []
    request: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
    while True:
        page = s3.list_objects_v2(**request)
        objects.extend(page.get("Contents", []))
        if not page.get("IsTruncated"):
            return objects
        request["ContinuationToken"] = page["NextContinuationToken"]


def read_json(s3: S3Reader, bucket: str, key: str) -> Any:
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def _hour(match: re.Match[str]) -> datetime:
    return datetime(int(match["y"]), int(match["m"]), int(match["d"]), int(match["h"]), tzinfo=UTC)


def _folders(objects: list[dict[str, Any]], prefix: str) -> dict[str, dict[str, str]]:
    """folder (relative to the prefix) -> file name -> key."""
    folders: dict[str, dict[str, str]] = defaultdict(dict)
    for item in objects:
        folder, _, name = item["Key"].removeprefix(prefix).rpartition("/")
        folders[folder][name] = item["Key"]
    return folders


class _MonitoringFolders:
    """Sorts the folders under monitoring/<model>/ into baselines, data-quality runs and model-quality runs."""

    def __init__(self, s3: S3Reader, bucket: str, data: ReportData) -> None:
        self.s3, self.bucket, self.data = s3, bucket, data

    def read(self, files: dict[str, str], name: str, default: Any = None) -> Any:
        return read_json(self.s3, self.bucket, files[name]) if name in files else default

    def add(self, folder: str, files: dict[str, str]) -> None:
        if folder.startswith("baseline/") and "statistics.json" in files:
            version = folder.removeprefix("baseline/")
            self.data.baselines.append(
                Baseline(version, self.read(files, "statistics.json"), self.read(files, "constraints.json", {}))
            )
            return
        match = HOUR_FOLDER.match(folder)
        if match is None or "statistics.json" not in files:
            return
        statistics = self.read(files, "statistics.json")
        if "binary_classification_metrics" in statistics:
            count = int(statistics.get("dataset", {}).get("item_count", 0))
            self.data.quality_runs.append(QualityRun(_hour(match), count, quality_metrics(statistics)))
            return
        violations = violations_from(self.read(files, "constraint_violations.json", {}))
        metrics = self.read(files, "cloudwatch_metrics.json", [])
        self.data.monitoring_runs.append(
            MonitoringRun(match["schedule"], _hour(match), statistics, violations, metrics)
        )


def load_report_data(s3: S3Reader, bucket: str, model: str) -> ReportData:
    """Everything the pages show about one model, from the artifacts bucket."""
    data = ReportData(model)
    monitoring_prefix = f"monitoring/{model}/"
    folders = _MonitoringFolders(s3, bucket, data)
    for folder, files in sorted(_folders(list_objects(s3, bucket, monitoring_prefix), monitoring_prefix).items()):
        folders.add(folder, files)
    data.evaluations = load_evaluations(s3, bucket, model)
    data.monitoring_runs.sort(key=lambda run: run.hour)
    data.quality_runs.sort(key=lambda run: run.hour)
    return data


def load_evaluations(s3: S3Reader, bucket: str, model: str) -> list[RunEvaluation]:
    """Each run's evaluation report, oldest first (by when it was written)."""
    prefix = f"runs/{model}/"
    evaluations = []
    for item in list_objects(s3, bucket, prefix):
        run_id, _, name = item["Key"].removeprefix(prefix).partition("/")
        if name == EVALUATION_REPORT:
            document = read_json(s3, bucket, item["Key"])
            evaluations.append(evaluation_from(document, run_id, item.get("LastModified")))
    return sorted(evaluations, key=lambda e: (e.time or datetime.min.replace(tzinfo=UTC), e.run_id))
