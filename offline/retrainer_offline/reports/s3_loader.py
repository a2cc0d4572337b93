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

from pydantic import ValidationError

from retrainer.services.monitoring import layout

from .report_data import (
    Baseline,
    MonitoringRun,
    QualityRun,
    ReportData,
    alarm_bounds,
    evaluation_from,
    quality_metrics,
    violations_from,
)

HOUR_FOLDER = re.compile(r"^(?P<schedule>.+)/(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/(?P<h>\d{2})$")
EVALUATION_REPORT = "evaluation-report.json"
MERGE_SUMMARY = "merge_summary.json"
# Model-quality runs, relative to monitoring/<model>/: layout.quality_reports_uri's folder, then <schedule>/yyyy/...
QUALITY_FOLDER = layout.MODEL_QUALITY_FOLDER + "/"
DATA_METRICS = "aws/sagemaker/Endpoints/data-metrics"  # a data-quality run's metrics (model quality: model-metrics)


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


def _time(iso: str) -> datetime:
    """An ISO time as the job writes it (`2026-12-01T11:00:00+00:00`, or with Z); UTC when it names no zone."""
    time = datetime.fromisoformat(str(iso).replace("Z", "+00:00"))
    return time if time.tzinfo else time.replace(tzinfo=UTC)


def _folders(objects: list[dict[str, Any]], prefix: str) -> dict[str, dict[str, str]]:
    """folder (relative to the prefix) -> file name -> key."""
    folders: dict[str, dict[str, str]] = defaultdict(dict)
    for item in objects:
        folder, _, name = item["Key"].removeprefix(prefix).rpartition("/")
        folders[folder][name] = item["Key"]
    return folders


class UnreadableFile(Exception):
    """A file of the layout that is not the JSON document it should be (reported on the page, then skipped)."""


class _Loader:
    """Reads one model's folders into ReportData; a malformed file is noted in `data.problems`, not fatal."""

    def __init__(self, s3: S3Reader, bucket: str, data: ReportData) -> None:
        self.s3, self.bucket, self.data = s3, bucket, data
        self.statistics_read: set[str] = set()  # schedules whose newest data-quality run was read in full

    def read(self, files: dict[str, str], name: str, default: Any = None) -> Any:
        if name not in files:
            return default
        try:
            return read_json(self.s3, self.bucket, files[name])
        except ValueError as problem:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            raise UnreadableFile(f"s3://{self.bucket}/{files[name]}: not JSON ({problem})") from problem

    def add_folder(self, folder: str, files: dict[str, str]) -> None:
        try:
            self._add(folder, files)
        except UnreadableFile as problem:
            self.data.problems.append(str(problem))
        except (AttributeError, KeyError, TypeError, ValueError) as problem:
            where = f"s3://{self.bucket}/{next(iter(files.values()))}".rpartition("/")[0]
            self.data.problems.append(f"{where}/: unexpected content ({type(problem).__name__}: {problem})")

    def _add(self, folder: str, files: dict[str, str]) -> None:
        if folder.startswith(QUALITY_FOLDER):
            self._add_quality(folder.removeprefix(QUALITY_FOLDER), files)
            return
        if folder.startswith("baseline/") and "statistics.json" in files:
            version = folder.removeprefix("baseline/")
            self.data.baselines.append(
                Baseline(version, self.read(files, "statistics.json"), self.read(files, "constraints.json", {}))
            )
            return
        match = HOUR_FOLDER.match(folder)
        if match is None or "statistics.json" not in files:
            return
        metrics = self.read(files, "cloudwatch_metrics.json", [])
        data_quality = {request.get("Namespace") for request in metrics} == {DATA_METRICS}
        # A data-quality run's statistics (with its sketches, the largest file) are read only for the newest run of
        # its schedule, the one the monitoring page shows; older runs contribute their metrics and violations.
        newest = match["schedule"] not in self.statistics_read
        statistics = self.read(files, "statistics.json") if newest or not data_quality else {}
        if statistics:
            self.statistics_read.add(match["schedule"])
        violations = violations_from(self.read(files, "constraint_violations.json", {}))
        self.data.monitoring_runs.append(
            MonitoringRun(match["schedule"], _hour(match), statistics, violations, metrics)
        )

    def _add_quality(self, folder: str, files: dict[str, str]) -> None:
        """A model-quality run: metrics, bound and violations when it judged the window; the merge counts always
        (a window with too few labels leaves only merge_summary.json)."""
        match = HOUR_FOLDER.match(folder)
        if match is None or not {"statistics.json", MERGE_SUMMARY} & files.keys():
            return
        statistics = self.read(files, "statistics.json", {})
        evaluated = statistics.get("dataset", {}).get("evaluation_time")
        count = statistics.get("dataset", {}).get("item_count")
        self.data.quality_runs.append(
            QualityRun(
                schedule=match["schedule"],
                time=_time(evaluated) if evaluated else _hour(match),
                metrics=quality_metrics(statistics),
                item_count=None if count is None else int(count),
                merge={str(k): int(v) for k, v in self.read(files, MERGE_SUMMARY, {}).items()},
                bounds=alarm_bounds(self.read(files, "constraints.json", {})),
                violations=violations_from(self.read(files, "constraint_violations.json", {})),
            )
        )

    def add_evaluation(self, key: str, run_id: str, written: datetime | None) -> None:
        try:
            document = self.read({EVALUATION_REPORT: key}, EVALUATION_REPORT)
            self.data.evaluations.append(evaluation_from(document, run_id, written))
        except UnreadableFile as problem:
            self.data.problems.append(str(problem))
        except ValidationError as problem:
            error = problem.errors()[0]
            field = ".".join(str(part) for part in error["loc"])
            self.data.problems.append(f"s3://{self.bucket}/{key}: not an evaluation report ({field}: {error['msg']})")


def load_report_data(s3: S3Reader, bucket: str, model: str) -> ReportData:
    """Everything the pages show about one model, from the artifacts bucket."""
    data = ReportData(model)
    loader = _Loader(s3, bucket, data)
    monitoring_prefix = f"{layout.MONITORING_PREFIX}/{model}/"  # data-quality runs, baselines, model-quality runs
    folders = _folders(list_objects(s3, bucket, monitoring_prefix), monitoring_prefix)
    for folder in sorted(folders, reverse=True):  # newest hour first within each schedule (yyyy/mm/dd/hh sorts)
        loader.add_folder(folder, folders[folder])
    runs_prefix = f"runs/{model}/"
    for item in list_objects(s3, bucket, runs_prefix):
        run_id, _, name = item["Key"].removeprefix(runs_prefix).partition("/")
        if name == EVALUATION_REPORT:
            loader.add_evaluation(item["Key"], run_id, item.get("LastModified"))
    data.monitoring_runs.sort(key=lambda run: run.hour)
    data.quality_runs.sort(key=lambda run: (run.time, run.schedule))
    # Oldest first, by when each report was written.
    data.evaluations.sort(key=lambda e: (e.time or datetime.min.replace(tzinfo=UTC), e.run_id))
    return data
