"""Running a monitoring job: its outcome as an exit code, a JSON log line and SageMaker's ExitMessage.

Exit 0 with `Completed: ...` / `CompletedWithViolations: ...`; exit 1 with `Job inputs had no data` (empty window)
or `<ErrorName>: <problem>` for data the job cannot read. SageMaker turns the first 1 KB of the message file into
the processing job's ExitMessage (FailureReason `AlgorithmError: <message>` when the exit code is not 0).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, cast

from .analyze_window import NO_DATA, Baseline, NoDataInWindow, analyze, write_report
from .capture_records import CaptureFormatError
from .cloudwatch_metrics import MetricsClient, publish
from .job_settings import AnalysisSettings, BaselineSettings
from .suggest_baseline import BaselineDataError, suggest_baseline

BASELINE_DONE = "Completed: Job completed successfully with no violations."


def _finish(message_file: Path | None, message: str, code: int, **log: Any) -> int:
    print(json.dumps({"message": message, **log}), file=sys.stdout if code == 0 else sys.stderr)
    if message_file is not None:
        message_file.parent.mkdir(parents=True, exist_ok=True)
        message_file.write_text(message[:1024], encoding="utf-8")
    return code


def run_baseline(settings: BaselineSettings) -> int:
    try:
        summary = suggest_baseline(settings.input_dir, settings.output_dir, settings.schema, set(settings.drop_columns))
    except BaselineDataError as problem:
        return _finish(settings.message_file, f"BaselineDataError: {problem}", 1)
    return _finish(settings.message_file, BASELINE_DONE, 0, **summary)


def _cloudwatch() -> MetricsClient:
    import boto3  # in the processing image; only needed when the run publishes its own metrics

    return cast(MetricsClient, boto3.client("cloudwatch"))


def run_analysis(settings: AnalysisSettings, metrics_client: MetricsClient | None = None) -> int:
    baseline_dir = settings.baseline_dir
    try:
        baseline = Baseline.load(baseline_dir / "statistics.json", baseline_dir / "constraints.json")
        report = analyze(settings.capture_dir, baseline, settings.window)
    except NoDataInWindow:
        return _finish(settings.message_file, NO_DATA, 1)
    except (CaptureFormatError, FileNotFoundError, ValueError) as problem:
        return _finish(settings.message_file, f"{type(problem).__name__}: {problem}", 1)
    requests = write_report(
        report,
        baseline,
        settings.output_dir,
        endpoint=settings.endpoint_name,
        schedule=settings.schedule_name,
        end=settings.metrics_time,
    )
    published = publish(requests, metrics_client or _cloudwatch()) if settings.publish_metrics and requests else 0
    return _finish(
        settings.message_file,
        report.exit_message,
        0,
        records=report.records,
        rows=report.statistics.item_count,
        violations=[v.to_json() for v in report.violations],
        metrics_published=published,
    )
