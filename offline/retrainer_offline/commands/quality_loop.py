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
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from retrainer_offline.runtime import ExecutionReport, OfflineRuntime
from retrainer_offline.sample_data import churn

LABELLED_REQUESTS = 800  # drifted requests whose outcomes are uploaded (late) as ground truth
EVALUATION_ROWS = 600  # drifted rows whose outcomes only the demo knows: both models score them
ROWS_PER_EVALUATION_REQUEST = 50
MIN_AUC_GAIN = 0.03  # "measurably better on the drifted rows"
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
    trigger: dict[str, Any] = field(default_factory=dict)
    auc_before: float | None = None  # the champion on the evaluation rows
    auc_after: float | None = None  # the promoted challenger on the same rows
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


def send_labelled_traffic(runtime: OfflineRuntime, frame: pd.DataFrame) -> list[str]:
    """One request per row, each with an InferenceId (`--inference-id` of `aws sagemaker-runtime invoke-endpoint`)."""
    client = runtime.client("sagemaker-runtime")
    endpoint = f"{runtime.stack_name}-{churn.MODEL}"
    ids = []
    lines = _features(frame).to_csv(index=False, header=False).splitlines()
    for row_id, line in zip(frame[churn.ID_COLUMN], lines, strict=True):
        inference_id = f"order-{row_id}"
        client.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Body=line, InferenceId=inference_id)
        ids.append(inference_id)
    return ids


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
    assert runtime.scheduler is not None
    group = _schedule_group(runtime, schedule)
    fired = runtime.scheduler.fire(schedule, group)
    return runtime.follow(fired["execution_arn"])


def _schedule_group(runtime: OfflineRuntime, schedule: str) -> str:
    for group in runtime.client("scheduler").list_schedule_groups()["ScheduleGroups"]:
        names = runtime.client("scheduler").list_schedules(GroupName=group["Name"])["Schedules"]
        if any(item["Name"] == schedule for item in names):
            return str(group["Name"])
    raise KeyError(f"no schedule {schedule}")


def quality_outcome(report: ExecutionReport) -> dict[str, Any]:
    """What the model-quality branch of a scheduled monitoring run published (PublishQuality's answer)."""
    found = report.final_state.get("quality") or (report.output or {}).get("quality") or {}
    return dict(found.get("published", found)) if isinstance(found, dict) else {}


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
    ids = send_labelled_traffic(runtime, labelled)
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
    arn = runtime.next_execution()
    started_with = runtime.client("stepfunctions").describe_execution(executionArn=arn)
    result.trigger = dict(json.loads(started_with["input"]).get("trigger", {}))
    say(f"   quality alarm {result.trigger.get('source', '?')} -> retraining ({result.trigger.get('kind')})")
    result.retraining = follow(runtime, arn)
    if result.retraining.status != "SUCCEEDED":
        ended = f"{result.retraining.status} {result.retraining.error or ''}"
        result.problems.append(f"the quality-alarm retraining ended {ended}")
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


def _outcome_text(outcome: dict[str, Any]) -> str:
    if not outcome:
        return "(no model-quality result)"
    parts = [str(outcome.get("outcome", "?"))]
    for key in ("headline", "message", "detail"):
        if outcome.get(key):
            parts.append(str(outcome[key]))
            break
    return ": ".join(parts)


def _say_gate(report: ExecutionReport, say: Callable[[str], None]) -> None:
    evaluation = report.final_state.get("evaluation", {})
    metric = evaluation.get("metric", "auc")
    champion = evaluation.get("champion_value")
    holdout = f"{metric} {evaluation.get('value', float('nan')):.3f}"
    if champion is not None:
        holdout += f" vs champion {champion:.3f}"
    say(f"   gate, holdout ({evaluation.get('rows', '?')} rows): {holdout}")
    recent = evaluation.get("recent") or {}
    if recent:
        challenger = recent.get("challenger", {}).get("metrics", {}).get(metric)
        versus = recent.get("champion", {}).get("metrics", {}).get(metric) if recent.get("champion") else None
        text = f"{metric} {challenger:.3f}" if challenger is not None else "n/a"
        if versus is not None:
            text += f" vs champion {versus:.3f}"
        say(f"   gate, recent window (labelled traffic, {recent.get('rows', '?')} rows): {text}")
