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
    assert states["NotifyGateFailed"]["Next"] == "ReleaseAfterGate"
    assert states["ReleaseAfterGate"]["Next"] == "QualityGateFailed"
    assert states["NotifyFailure"]["Next"] == "ReleaseAfterFailure"
    assert states["ReleaseAfterFailure"]["Next"] == "RetrainingFailed"
    assert states["NotifyDeployed"]["Next"] == "ReleaseAfterDeploy"
    assert states["ReleaseAfterDeploy"]["Next"] == "Deployed"
    releases = {"ReleaseAfterGate", "ReleaseAfterFailure", "ReleaseAfterDeploy"}
    for name, body in states.items():
        for catch in body.get("Catch", []):
            allowed = releases | {"NotifyFailure", "RetrainingFailed", "QualityGateFailed", "Deployed"}
            assert catch["Next"] in allowed, name


def test_every_end_passes_through_a_release_of_the_model() -> None:
    states = json.loads(ASL.read_text())["States"]
    ends = {name for name, body in states.items() if body["Type"] in {"Succeed", "Fail"}}
    into_ends = {name for name, body in states.items() if body.get("Next") in ends}
    assert into_ends == {"ReleaseAfterGate", "ReleaseAfterFailure", "ReleaseAfterDeploy"}


def test_a_run_starts_by_waiting_for_a_quiet_window_and_claiming_its_triggers() -> None:
    definition = json.loads(ASL.read_text())
    states = definition["States"]
    assert definition["StartAt"] == "Debounce"
    assert states["Debounce"]["SecondsPath"] == "$.config.quiet_window_seconds"
    assert states["Debounce"]["Next"] == "ClaimTriggers" and states["ClaimTriggers"]["Next"] == "Settled"
    assert states["Settled"]["Choices"][0]["Next"] == "Preprocess" and states["Settled"]["Default"] == "Debounce"
