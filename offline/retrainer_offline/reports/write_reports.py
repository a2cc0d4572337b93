"""`retrainer report`'s work: load one model's files, write its two pages, return their paths."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .history_page import render_history_page
from .monitoring_page import render_monitoring_page
from .rollout_history import ExecutionHistories, load_weight_records, weight_records
from .s3_loader import S3Reader, load_report_data


def write_reports(
    s3_client: S3Reader,
    bucket: str,
    model: str,
    out_dir: Path,
    stepfunctions_client: ExecutionHistories | None = None,
    state_machine_arn: str | None = None,
    *,
    weights: list[dict[str, Any]] | None = None,
    data_bucket: str | None = None,
) -> list[Path]:
    """`<out_dir>/<model>-monitoring.html` and `<out_dir>/<model>-history.html`.

    Canary weights come from the executions' histories when a Step Functions client and the state machine are
    given, else from `weights` (`{time, weights: {variant: percent}}` records), else the section says none.
    `data_bucket` (the stack's DataBucketName) completes the ground-truth upload path the page shows before any
    labelled traffic.
    """
    data = load_report_data(s3_client, bucket, model)
    if stepfunctions_client is not None and state_machine_arn:
        data.weights = load_weight_records(stepfunctions_client, state_machine_arn, model)
    elif weights:
        data.weights = weight_records(weights)
    out_dir.mkdir(parents=True, exist_ok=True)
    pages = {
        out_dir / f"{model}-monitoring.html": render_monitoring_page(data),
        out_dir / f"{model}-history.html": render_history_page(data, data_bucket),
    }
    for path, html in pages.items():
        path.write_text(html, encoding="utf-8")
    return list(pages)
