"""Model-quality run: merge a window's predictions with their ground truth, judge them, feed them back.

    python3 /opt/ml/processing/input/code/monitoring/model_quality_job.py \
        --capture-dir /opt/ml/processing/input/endpoint --ground-truth-dir /opt/ml/processing/input/ground_truth \
        --output-dir /opt/ml/processing/output --start-time ISO --end-time ISO [--lookback-hours 24] \
        [--gate-metric auc --gate-threshold 0.8 --baseline-score 0.97 --margin 0.02] \
        [--schema /opt/ml/processing/input/schema/schema.json --feedback-dir /opt/ml/processing/input/feedback \
         --feedback-output-dir /opt/ml/processing/feedback] [--endpoint-name E --schedule-name S] \
        [--message-file /opt/ml/output/message]

Writes into the output folder `statistics.json` (all traffic), `variant_statistics.json` (the same per variant),
`constraints.json` (the gate as Model Monitor's model-quality constraints), `constraint_violations.json`,
`cloudwatch_metrics.json` and `merge_summary.json` (every merge count); and the window's feedback CSV into the
feedback output folder. Outcomes, as the data-quality run's (run_jobs): exit 0 `Completed: ...` /
`CompletedWithViolations: ...`; exit 1 `Job inputs had no data` when no captured record is in the window, or
`Job inputs had no data: ...` when fewer than `--min-labels` rows have ground truth (nothing to judge yet: not a
quality drop); exit 1 `<ErrorName>: <problem>` for files the run cannot read.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path
from typing import Any, cast

if not __package__:  # run as a file: import the package by its folder name
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    __package__ = Path(__file__).resolve().parent.name
    importlib.import_module(__package__)

import numpy as np

from .analyze_window import NO_DATA
from .capture_records import CaptureFormatError
from .cloudwatch_metrics import MetricsClient, publish
from .ground_truth import GroundTruthFormatError, read_ground_truth
from .model_quality_checks import check, constraints_document, constraints_from_file, metric_requests
from .model_quality_feedback import FeedbackSummary, write_feedback
from .model_quality_merge import MergedWindow, merge_window
from .model_quality_metrics import statistics_document
from .model_quality_settings import ModelQualitySettings, parser
from .run_jobs import _finish as finish


def _cloudwatch() -> MetricsClient:
    import boto3  # in the processing image; only needed when the run publishes its own metrics

    return cast(MetricsClient, boto3.client("cloudwatch"))


def _write(folder: Path, name: str, document: Any) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(json.dumps(document, indent=2), encoding="utf-8")


def judge(merged: MergedWindow, settings: ModelQualitySettings) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """Writes the statistics, constraints, violations and metrics files; returns (metric requests, violations)."""
    evaluated = settings.end.isoformat()
    labels, scores = np.asarray(merged.labels, dtype=int), np.asarray(merged.scores, dtype=float)
    variants = np.asarray(merged.variants)
    statistics = statistics_document(labels, scores, settings.threshold, evaluated)
    by_variant = {
        name: statistics_document(labels[variants == name], scores[variants == name], settings.threshold, evaluated)
        for name in sorted(set(merged.variants))
    }
    constraints = [c for c in [settings.gate.constraint()] if c is not None]
    if settings.constraints_file is not None:
        constraints += constraints_from_file(json.loads(settings.constraints_file.read_text(encoding="utf-8")))
    violations = check(statistics, constraints)
    requests = metric_requests(
        statistics,
        by_variant,
        endpoint=settings.endpoint_name,
        schedule=settings.schedule_name,
        timestamp=settings.end,
    )
    out = settings.output_dir
    _write(out, "statistics.json", statistics)
    _write(out, "variant_statistics.json", by_variant)
    _write(out, "constraints.json", constraints_document(constraints))
    _write(out, "constraint_violations.json", {"violations": violations})
    _write(out, "cloudwatch_metrics.json", requests)
    return requests, violations


def _feedback(merged: MergedWindow, settings: ModelQualitySettings) -> dict[str, Any]:
    columns = settings.feedback_columns
    if columns is None or settings.feedback_output_dir is None:
        return {"written": False, "reason": "no --schema with columns, or no --feedback-output-dir"}
    summary: FeedbackSummary = write_feedback(
        merged.records, columns, settings.window, settings.feedback_output_dir, settings.feedback_dir
    )
    return {"written": bool(summary.rows), **summary.to_json()}


def run_model_quality(settings: ModelQualitySettings, metrics_client: MetricsClient | None = None) -> int:
    try:
        truth = read_ground_truth(settings.ground_truth_dir, settings.window, settings.lookback)
        merged = merge_window(settings.capture_dir, truth, settings.window, settings.label_values)
    except (CaptureFormatError, GroundTruthFormatError, FileNotFoundError, ValueError) as problem:
        return finish(settings.message_file, f"{type(problem).__name__}: {problem}", 1)
    counts = merged.counts
    _write(settings.output_dir, "merge_summary.json", counts.to_json())
    if counts.captured_records == 0:
        return finish(settings.message_file, NO_DATA, 1, merge=counts.to_json())
    if counts.merged_rows < max(settings.min_labels, 1):
        message = (
            f"{NO_DATA}: {counts.merged_records} of {counts.captured_records} captured records have ground truth "
            f"({counts.missing} missing, {counts.late} late; at least {settings.min_labels} labelled rows needed)"
        )
        return finish(settings.message_file, message, 1, merge=counts.to_json())
    try:
        requests, violations = judge(merged, settings)
    except (FileNotFoundError, ValueError, KeyError) as problem:  # an unreadable --constraints file
        return finish(settings.message_file, f"ConstraintsError: {type(problem).__name__}: {problem}", 1)
    feedback = _feedback(merged, settings)
    published = publish(requests, metrics_client or _cloudwatch()) if settings.publish_metrics and requests else 0
    message = "Completed: Job completed successfully with no violations."
    if violations:
        message = f"CompletedWithViolations: Job completed successfully with {len(violations)} violations."
    return finish(
        settings.message_file,
        message,
        0,
        merge=counts.to_json(),
        violations=violations,
        feedback=feedback,
        metrics_published=published,
    )


def main(argv: list[str] | None = None) -> int:
    args = parser(dict(os.environ)).parse_args(argv)
    try:
        settings = ModelQualitySettings.from_args(args)
    except (ValueError, OSError) as problem:
        return finish(args.message_file, f"{type(problem).__name__}: {problem}", 1)
    return run_model_quality(settings)


if __name__ == "__main__":
    sys.exit(main())
