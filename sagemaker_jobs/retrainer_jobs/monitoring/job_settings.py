"""The settings of each monitoring job, read once from its arguments (and Model Monitor's environment names)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .capture_records import Window, parse_time


@dataclass(frozen=True)
class BaselineSettings:
    input_dir: Path
    output_dir: Path
    schema: Path | None
    drop_columns: frozenset[str]
    message_file: Path | None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> BaselineSettings:
        drop = frozenset(c.strip() for c in str(args.drop_columns).split(",") if c.strip())
        return cls(args.input_dir, args.output_dir, args.schema, drop, args.message_file)


@dataclass(frozen=True)
class AnalysisSettings:
    capture_dir: Path
    baseline_dir: Path
    output_dir: Path
    window: Window
    endpoint_name: str
    schedule_name: str
    publish_metrics: bool
    message_file: Path | None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> AnalysisSettings:
        window = Window(
            parse_time(args.start_time) if args.start_time else None,
            parse_time(args.end_time) if args.end_time else None,
        )
        return cls(
            args.capture_dir,
            args.baseline_dir,
            args.output_dir,
            window,
            args.endpoint_name,
            args.schedule_name,
            str(args.publish_metrics).lower() in {"enabled", "true", "1"},
            args.message_file,
        )

    @property
    def metrics_time(self) -> datetime:
        return self.window.end or datetime.now().astimezone()
