"""The rendered ASL is the Python definition, and job names cannot collide across retries."""

from __future__ import annotations

import json

from statemachines import retraining_workflow
from tests.unit.conftest import ROOT

ASL = ROOT / "statemachines" / "retraining.asl.json"


def test_committed_asl_is_the_current_render() -> None:
    assert ASL.read_text() == retraining_workflow.render(), "run `make render` and commit the result"


def test_check_mode_fails_on_a_stale_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    stale = tmp_path / "stale.json"
    stale.write_text("{}")
    assert retraining_workflow.main(["--check", str(stale)]) == 1
    assert retraining_workflow.main(["--check", str(ASL)]) == 0


def test_job_names_take_a_fresh_suffix_on_every_attempt() -> None:
    states = json.loads(ASL.read_text())["States"]
    for state, field in (
        ("Preprocess", "ProcessingJobName.$"),
        ("Train", "TrainingJobName.$"),
        ("Validate", "TransformJobName.$"),
    ):
        expression = states[state]["Parameters"][field]
        assert "$.run_id" in expression and "States.UUID()" in expression


def test_flow_ends_in_notification_for_success_gate_failure_and_errors() -> None:
    states = json.loads(ASL.read_text())["States"]
    assert states["QualityGate"]["Default"] == "NotifyGateFailed"
    assert states["NotifyGateFailed"]["Next"] == "QualityGateFailed"
    assert states["NotifyFailure"]["Next"] == "RetrainingFailed"
    assert states["NotifyDeployed"]["Next"] == "Deployed"
    for name, body in states.items():
        for catch in body.get("Catch", []):
            assert catch["Next"] in {"NotifyFailure", "RetrainingFailed", "QualityGateFailed", "Deployed"}, name
