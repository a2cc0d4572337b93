"""The settings of a model-quality run, read once from its arguments (and Model Monitor's environment names)."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from .capture_records import Window, parse_time
from .ground_truth import LabelValues
from .model_quality_checks import QualityGate
from .model_quality_feedback import FeedbackColumns

DEFAULT_LOOKBACK_HOURS = 24.0


def _optional_float(text: str | None) -> float | None:
    return float(text) if text not in (None, "") else None


@dataclass(frozen=True)
class ModelQualitySettings:
    capture_dir: Path
    ground_truth_dir: Path
    output_dir: Path
    window: Window
    lookback: timedelta
    threshold: float  # a score >= threshold is a positive prediction
    gate: QualityGate
    constraints_file: Path | None
    schema: dict[str, Any] | None
    feedback_dir: Path | None  # the model's feedback folder as it is (input): which event ids it holds
    feedback_output_dir: Path | None  # where this window's feedback file goes (uploaded to that folder)
    endpoint_name: str
    schedule_name: str
    publish_metrics: bool
    min_labels: int
    message_file: Path | None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ModelQualitySettings:
        if not args.start_time or not args.end_time:
            raise ValueError("a model-quality run needs --start-time and --end-time (or start_time/end_time)")
        schema = json.loads(args.schema.read_text(encoding="utf-8")) if args.schema and args.schema.exists() else None
        gate = QualityGate(
            args.gate_metric, _optional_float(args.gate_threshold), _optional_float(args.baseline_score), args.margin
        )
        return cls(
            capture_dir=args.capture_dir,
            ground_truth_dir=args.ground_truth_dir,
            output_dir=args.output_dir,
            window=Window(parse_time(args.start_time), parse_time(args.end_time)),
            lookback=timedelta(hours=float(args.lookback_hours)),
            threshold=float(args.probability_threshold),
            gate=gate,
            constraints_file=args.constraints,
            schema=schema,
            feedback_dir=args.feedback_dir,
            feedback_output_dir=args.feedback_output_dir,
            endpoint_name=args.endpoint_name,
            schedule_name=args.schedule_name,
            publish_metrics=str(args.publish_metrics).lower() in {"enabled", "true", "1"},
            min_labels=int(args.min_labels),
            message_file=args.message_file,
        )

    @property
    def end(self) -> datetime:
        """The window's end (from_args requires it): the metrics' timestamp and the evaluation time."""
        if self.window.end is None:
            raise ValueError("the window has no end")
        return self.window.end

    @property
    def label_values(self) -> LabelValues:
        if not self.schema:
            return LabelValues()
        columns = FeedbackColumns.from_schema(self.schema)
        return LabelValues(columns.positive, columns.negative)

    @property
    def feedback_columns(self) -> FeedbackColumns | None:
        return FeedbackColumns.from_schema(self.schema) if self.schema and self.schema.get("columns") else None


def parser(environ: dict[str, str]) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="Model-quality monitoring run in Model Monitor's formats")
    p.add_argument("--capture-dir", type=Path, required=True)
    p.add_argument("--ground-truth-dir", type=Path, required=True)
    p.add_argument("--output-dir", type=Path, required=True)
    p.add_argument("--start-time", default=environ.get("start_time"))
    p.add_argument("--end-time", default=environ.get("end_time"))
    p.add_argument("--lookback-hours", type=float, default=DEFAULT_LOOKBACK_HOURS)
    p.add_argument("--probability-threshold", default=environ.get("probability_threshold_attribute") or "0.5")
    p.add_argument("--gate-metric", default="auc")
    p.add_argument("--gate-threshold", default=None)
    p.add_argument("--baseline-score", default=None, help="the promoted model's score on its test split")
    p.add_argument("--margin", type=float, default=0.0)
    p.add_argument("--constraints", type=Path, default=None, help="a Model Monitor model-quality constraints.json")
    p.add_argument("--schema", type=Path, default=None, help="the model's schema.json (columns, target, labels)")
    p.add_argument("--feedback-dir", type=Path, default=None)
    p.add_argument("--feedback-output-dir", type=Path, default=None)
    p.add_argument("--endpoint-name", default=environ.get("sagemaker_endpoint_name", ""))
    p.add_argument("--schedule-name", default=environ.get("sagemaker_monitoring_schedule_name", ""))
    p.add_argument("--publish-metrics", default=environ.get("publish_cloudwatch_metrics", "Disabled"))
    p.add_argument("--min-labels", type=int, default=1)
    p.add_argument("--message-file", type=Path, default=None)
    return p
