"""Entry point of the monitoring jobs in SageMaker's scikit-learn processing image.

    python3 /opt/ml/processing/input/code/monitoring/__main__.py baseline \
        --input-dir /opt/ml/processing/input/baseline_dataset_input --output-dir /opt/ml/processing/output \
        [--schema /opt/ml/processing/input/schema/schema.json] [--drop-columns y] \
        [--message-file /opt/ml/output/message]

    python3 /opt/ml/processing/input/code/monitoring/__main__.py analysis \
        --capture-dir /opt/ml/processing/input/endpoint --baseline-dir /opt/ml/processing/baseline \
        --output-dir /opt/ml/processing/output [--start-time ISO --end-time ISO] \
        [--endpoint-name E --schedule-name S] [--message-file /opt/ml/output/message]

Paths are arguments (the offline runtime maps /opt/ml in arguments, not in the environment). The rest may also come
from the environment variables Model Monitor's analyzer reads (`start_time`, `end_time`, `sagemaker_endpoint_name`,
`sagemaker_monitoring_schedule_name`, `publish_cloudwatch_metrics`), so one job definition fits both engines.
Run as a file, the package's folder is put on sys.path (the job code is published as plain files).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

if not __package__:  # run as a file: import the package by its folder name
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    __package__ = Path(__file__).resolve().parent.name
    importlib.import_module(__package__)

from .job_settings import AnalysisSettings, BaselineSettings
from .run_jobs import run_analysis, run_baseline


def parse(argv: list[str] | None, environ: dict[str, str]) -> BaselineSettings | AnalysisSettings:
    parser = argparse.ArgumentParser(description="Data-quality monitoring jobs in Model Monitor's formats")
    commands = parser.add_subparsers(dest="command", required=True)
    baseline = commands.add_parser("baseline", help="statistics.json + constraints.json from a header CSV")
    baseline.add_argument("--input-dir", type=Path, required=True)
    baseline.add_argument("--output-dir", type=Path, required=True)
    baseline.add_argument("--schema", type=Path, default=None)
    baseline.add_argument("--drop-columns", default="")
    baseline.add_argument("--message-file", type=Path, default=None)
    analysis = commands.add_parser("analysis", help="one window of captured requests against the baseline")
    analysis.add_argument("--capture-dir", type=Path, required=True)
    analysis.add_argument("--baseline-dir", type=Path, required=True)
    analysis.add_argument("--output-dir", type=Path, required=True)
    analysis.add_argument("--start-time", default=environ.get("start_time"))
    analysis.add_argument("--end-time", default=environ.get("end_time"))
    analysis.add_argument("--endpoint-name", default=environ.get("sagemaker_endpoint_name", ""))
    analysis.add_argument("--schedule-name", default=environ.get("sagemaker_monitoring_schedule_name", ""))
    analysis.add_argument("--publish-metrics", default=environ.get("publish_cloudwatch_metrics", "Disabled"))
    analysis.add_argument("--message-file", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.command == "baseline":
        return BaselineSettings.from_args(args)
    return AnalysisSettings.from_args(args)


def main(argv: list[str] | None = None) -> int:
    settings = parse(argv, dict(os.environ))
    if isinstance(settings, BaselineSettings):
        return run_baseline(settings)
    return run_analysis(settings)


if __name__ == "__main__":
    sys.exit(main())
