"""A retraining run on a folder with labelled traffic (feedback/) scores the challenger and the champion on
those rows beside the holdout, in the offline runtime (real Preprocess, XGBoost and batch transforms)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from retrainer_offline.runtime import OfflineRuntime
from retrainer_offline.sample_data.alarm_events import drift_alarm_event
from tests.offline.conftest import Notifications

pytestmark = pytest.mark.e2e

FEEDBACK = "feedback/2026-12-01-10.csv"  # the name a model-quality run gives an hour's labelled traffic
GATE_ENDS = {"deployed", "rejected by the quality gate"}


def _gate_notice(notifications: Notifications) -> dict[str, Any]:
    [message] = [m for m in notifications.drain() if m["MessageAttributes"]["outcome"]["Value"] in GATE_ENDS]
    notice: dict[str, Any] = json.loads(message["Message"])
    return notice


def test_a_run_with_labelled_traffic_in_the_folder_scores_both_models_on_it_side_by_side(
    runtime: OfflineRuntime, notifications: Notifications, dataset: Any, model_config: dict[str, Any]
) -> None:
    # Given a champion trained on the first upload, whose evaluation had no recent window (no feedback yet)
    runtime.put_model_config("cancer", model_config)
    runtime.upload("cancer", "part-1.csv", dataset.parts[0])
    first = runtime.follow(runtime.next_execution(model="cancer"))
    assert first.status == "SUCCEEDED", first
    assert first.output["evaluation"]["recent"] is None
    assert _gate_notice(notifications)["headline"].count("recent (labelled traffic") == 0

    # When labelled traffic lands in the model's feedback folder and a retraining runs (the drift alarm here:
    # feedback objects themselves start no run once StartRetraining ignores them)
    runtime.upload("cancer", FEEDBACK, dataset.parts[1])
    runtime.put_event(drift_alarm_event("retrainer", "cancer"))
    report = runtime.follow(runtime.next_execution(model="cancer"))

    # Then its evaluation scored both models on the traffic's test rows, beside the holdout
    assert "Evaluate" in [state.name for state in report.states], report
    notice = _gate_notice(notifications)
    evaluation = notice["evaluation"]
    recent = evaluation["recent"]
    traffic_rows = dataset.parts[1].count(b"\n") - 1
    assert 0 < recent["rows"] < 0.25 * traffic_rows  # the test split's share of the traffic (about 10%)
    assert recent["challenger"]["rows"] == recent["champion"]["rows"] == recent["rows"]
    assert 0.5 < recent["challenger"]["metrics"]["auc"] <= 1.0 and 0.5 < recent["champion"]["metrics"]["auc"] <= 1.0
    assert recent["gain"] == pytest.approx(
        recent["challenger"]["metrics"]["auc"] - recent["champion"]["metrics"]["auc"], abs=1e-5
    )
    # ... under 30 rows of traffic in the test split: reported, not gated
    assert recent["gated"] is False and "fewer than 30 recent rows" in recent["note"]
    # ... and the notice's headline shows both side by side: holdout, then the labelled traffic
    challenger, champion = recent["challenger"]["metrics"]["auc"], recent["champion"]["metrics"]["auc"]
    side_by_side = f"recent (labelled traffic, {recent['rows']} rows) auc {challenger:.4f} vs {champion:.4f}"
    assert evaluation["side_by_side"].startswith("holdout auc ") and side_by_side in evaluation["side_by_side"]
    assert evaluation["side_by_side"] in notice["headline"]
