"""Ground truth closes the loop (issue 15), offline: the demo's run 6.

The churn model is live (run 5). The world changes under it: a competitor's online offer lures long-standing
paperless customers away (`churn.shifted_concept`): the inputs look as before (no data drift to see), the outcomes
do not. Then:

1. a client sends the model drifted rows, each request with an `InferenceId` (`order-<n>`);
2. the model's schedule fires: the data-quality run sees nothing wrong; the model-quality run finds no ground truth
   yet (the outcomes are not known when the requests are served);
3. the outcomes arrive late: a JSON-lines file in Model Monitor's ground-truth format under
   `s3://<DataBucket>/ground-truth/churn/yyyy/mm/dd/hh/`;
4. the schedule fires again: the model-quality run joins the captures with their labels, finds the AUC below the
   promoted model's test score minus the margin, writes the labelled rows as training data under
   `incoming/churn/feedback/` and the quality alarm goes to ALARM;
5. the alarm starts a retraining (trigger `quality_alarm`) that trains on the uploads and the feedback, scores both
   models on the holdout and on the newest labelled rows side by side, and promotes the challenger;
6. a second set of drifted rows, whose outcomes only this demo knows (never uploaded, never trained on), was sent
   to the endpoint before the retraining and is sent again after it: both models' AUC on those same rows.

`run_quality_loop` is what the demo and tests/offline/test_quality_loop.py call.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from retrainer_offline.runtime import ExecutionReport, OfflineRuntime
from retrainer_offline.sample_data import churn

LABELLED_REQUESTS = 800  # drifted requests whose outcomes are uploaded (late) as ground truth
EVALUATION_ROWS = 600  # drifted rows whose outcomes only the demo knows: both models score them
ROWS_PER_EVALUATION_REQUEST = 50
MIN_AUC_GAIN = 0.03
MAX_RUNS_FOLLOWED = 3  # "measurably better on the drifted rows"
# The demo's hour lasts seconds: labels count when uploaded before the run (on AWS: lookback_hours 24, the default).
QUALITY = {"lookback_hours": 0, "margin": 0.02, "min_labels": 50}


@dataclass
class QualityLoopResult:
    schedule: str = ""
    before_labels: dict[str, Any] = field(default_factory=dict)  # the model-quality outcome before labels arrived
    judged: dict[str, Any] = field(default_factory=dict)  # the model-quality outcome once they did
    labels_key: str = ""
    alarm_state: str = ""
    retraining: ExecutionReport | None = None
    trigger: dict[str, Any] = field(default_factory=dict)  # what started the run that trained
    triggers: list[dict[str, Any]] = field(default_factory=list)  # every retraining followed, in order
    auc_before: float | None = None  # the champion on the evaluation rows
    auc_after: float | None = None  # the promoted challenger on the same rows
    labelled: pd.DataFrame | None = None  # the drifted requests whose outcomes were uploaded
    labelled_scores: np.ndarray | None = None  # what the champion answered them
    problems: list[str] = field(default_factory=list)

    @property
    def closed(self) -> bool:
        return (
            not self.problems
            and self.auc_before is not None
            and self.auc_after is not None
            and self.auc_after >= self.auc_before + MIN_AUC_GAIN
        )


def quality_config() -> dict[str, Any]:
    return {**churn.MODEL_CONFIG, "monitoring": {"quality": QUALITY}}


def drifted_rows(rows: int, seed: int, id_start: int) -> pd.DataFrame:
    return churn.shifted_concept(churn.table(rows, seed=seed, id_start=id_start), seed=seed + 1000)


def _features(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=[churn.TARGET, churn.ID_COLUMN])


def score_rows(runtime: OfflineRuntime, frame: pd.DataFrame) -> np.ndarray:
    """The live endpoint's scores for `frame`'s rows, several rows per request (raw CSV rows, no InferenceId)."""
    client = runtime.client("sagemaker-runtime")
    endpoint = f"{runtime.stack_name}-{churn.MODEL}"
    features = _features(frame)
    scores: list[float] = []
    for start in range(0, len(features), ROWS_PER_EVALUATION_REQUEST):
        body = features.iloc[start : start + ROWS_PER_EVALUATION_REQUEST].to_csv(index=False, header=False)
        answer = client.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Body=body)
        scores += [float(line) for line in answer["Body"].read().decode().split()]
    return np.asarray(scores)


def auc_of(frame: pd.DataFrame, scores: np.ndarray) -> float:
    return float(roc_auc_score((frame[churn.TARGET] == churn.MODEL_CONFIG["positive_label"]).astype(int), scores))


def send_labelled_traffic(runtime: OfflineRuntime, frame: pd.DataFrame) -> tuple[list[str], np.ndarray]:
    """One request per row, each with an InferenceId (`--inference-id` of `aws sagemaker-runtime invoke-endpoint`);
    the ids and the scores the endpoint answered."""
    client = runtime.client("sagemaker-runtime")
    endpoint = f"{runtime.stack_name}-{churn.MODEL}"
    ids, scores = [], []
    lines = _features(frame).to_csv(index=False, header=False).splitlines()
    for row_id, line in zip(frame[churn.ID_COLUMN], lines, strict=True):
        inference_id = f"order-{row_id}"
        answer = client.invoke_endpoint(
            EndpointName=endpoint, ContentType="text/csv", Body=line, InferenceId=inference_id
        )
        ids.append(inference_id)
        scores.append(float(answer["Body"].read().decode().strip()))
    return ids, np.asarray(scores)


def upload_ground_truth(runtime: OfflineRuntime, frame: pd.DataFrame, ids: list[str]) -> str:
    """The outcomes, in Model Monitor's ground-truth format, under the hour they were uploaded."""
    now = datetime.now(UTC)
    lines = [
        json.dumps(
            {
                "groundTruthData": {"data": label, "encoding": "CSV"},
                "eventMetadata": {"eventId": inference_id},
                "eventVersion": "0",
            }
        )
        for inference_id, label in zip(ids, frame[churn.TARGET], strict=True)
    ]
    key = f"ground-truth/{churn.MODEL}/{now:%Y/%m/%d/%H}/outcomes-{now:%H%M%S}.jsonl"
    runtime.client("s3").put_object(Bucket=runtime.buckets.data, Key=key, Body="\n".join(lines).encode())
    return key


def fire_and_follow(runtime: OfflineRuntime, schedule: str) -> ExecutionReport:
    """The schedule's invocation at the next whole minute (as a cron schedule's scheduled time is: windows end on
    a minute), fired now, so the window holds the requests just sent."""
    assert runtime.scheduler is not None
    group = f"{runtime.stack_name}-monitoring"  # the stack's schedule group (template.yaml MonitoringScheduleGroup)
    next_minute = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    fired = runtime.scheduler.fire(schedule, group, scheduled_time=next_minute)
    return runtime.follow(fired["execution_arn"])


def quality_outcome(report: ExecutionReport) -> dict[str, Any]:
    """What the model-quality part of a scheduled monitoring run found: PublishQuality's answer, or the plan's
    outcome when there was nothing to judge (no capture or no label for the window: no job ran)."""
    state = report.final_state
    published = state.get("quality_published")
    if isinstance(published, dict) and published:
        return dict(published)
    window = state.get("quality_window") or {}
    if isinstance(window, dict) and window.get("outcome"):
        text = str(window["outcome"])
        return {"outcome": "no labels" if text.startswith("no labels") else text.split(":", 1)[0], "detail": text}
    return {}


def run_quality_loop(
    runtime: OfflineRuntime,
    promoted: ExecutionReport,
    say: Callable[[str], None],
    follow: Callable[[OfflineRuntime, str], ExecutionReport],
) -> QualityLoopResult:
    """From a promoted churn model to a promoted challenger trained on its labelled traffic (module docstring)."""
    started = promoted.final_state.get("monitoring", {}).get("started", {})
    result = QualityLoopResult(schedule=str(started.get("schedule", "")))
    if not result.schedule:
        result.problems.append(f"{promoted.name} started no monitoring schedule")
        return result
    evaluation = drifted_rows(EVALUATION_ROWS, seed=24, id_start=90_000)
    before = score_rows(runtime, evaluation)
    result.auc_before = auc_of(evaluation, before)
    labelled = drifted_rows(LABELLED_REQUESTS, seed=23, id_start=50_000)
    ids, result.labelled_scores = send_labelled_traffic(runtime, labelled)
    result.labelled = labelled
    say(f"   {len(ids)} drifted requests sent with an InferenceId each (order-C050000 ...): outcomes not known yet")

    first = fire_and_follow(runtime, result.schedule)
    result.before_labels = quality_outcome(first)
    say(f"   scheduled run {first.name}: {first.status}; model quality: {_outcome_text(result.before_labels)}")

    result.labels_key = upload_ground_truth(runtime, labelled, ids)
    say(f"   outcomes arrive late: s3://{runtime.buckets.data}/{result.labels_key} ({len(ids)} labels)")
    second = fire_and_follow(runtime, result.schedule)
    result.judged = quality_outcome(second)
    say(f"   scheduled run {second.name}: {second.status}; model quality: {_outcome_text(result.judged)}")
    if result.judged.get("outcome") != "violations":
        result.problems.append(f"the model-quality run found no quality drop: {result.judged}")
        return result

    runtime.alarms.evaluate_now()  # the metrics just put; CloudWatch judges them on its own period
    result.retraining = _follow_until_trained(runtime, result, say, follow)
    if result.retraining is None or result.retraining.status != "SUCCEEDED":
        ended = f"{result.retraining.status} {result.retraining.error or ''}" if result.retraining else "not started"
        result.problems.append(f"the retraining on the labelled traffic ended {ended}")
        return result
    _say_gate(result.retraining, say)
    after = score_rows(runtime, evaluation)
    result.auc_after = auc_of(evaluation, after)
    say(
        f"   AUC on {EVALUATION_ROWS} drifted rows whose outcomes were never uploaded: "
        f"champion {result.auc_before:.3f} -> promoted challenger {result.auc_after:.3f}"
    )
    if not result.closed:
        result.problems.append(
            f"the challenger is not measurably better on the drifted rows: {result.auc_before:.3f} -> "
            f"{result.auc_after:.3f} (needs +{MIN_AUC_GAIN})"
        )
    return result


def _follow_until_trained(
    runtime: OfflineRuntime,
    result: QualityLoopResult,
    say: Callable[[str], None],
    follow: Callable[[OfflineRuntime, str], ExecutionReport],
) -> ExecutionReport | None:
    """The model's next retrainings, followed until one trains (a run another trigger started in the same hour may
    come first and end NoNewData; the quality alarm's trigger then waits for it and starts the next one)."""
    for _ in range(MAX_RUNS_FOLLOWED):
        arn = runtime.next_execution()
        started_with = runtime.client("stepfunctions").describe_execution(executionArn=arn)
        trigger = dict(json.loads(started_with["input"]).get("trigger", {}))
        say(f"   {trigger.get('source', '?')} -> retraining ({trigger.get('kind')})")
        report = follow(runtime, arn)
        result.triggers.append(trigger)
        if "evaluation" in report.final_state or report.status != "SUCCEEDED":
            result.trigger = trigger
            return report
    return None


def _outcome_text(outcome: dict[str, Any]) -> str:
    if not outcome:
        return "(no model-quality result)"
    label = str(outcome.get("outcome", "?"))
    detail = str(outcome.get("headline") or outcome.get("detail") or "")
    return detail if detail.startswith(label) else f"{label}: {detail}" if detail else label


def _say_gate(report: ExecutionReport, say: Callable[[str], None]) -> None:
    """The gate's two views, new model first: the hash-split holdout and the newest labelled rows."""
    evaluation = report.final_state.get("evaluation", {})
    say(f"   gate: {evaluation.get('side_by_side') or evaluation.get('verdict', '')}")
