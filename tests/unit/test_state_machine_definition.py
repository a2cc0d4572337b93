"""The rendered ASL is the Python definition; its paths keep the promises the README makes."""

from __future__ import annotations

import json
from typing import Any

from statemachines import retraining_workflow
from tests.unit.conftest import ROOT

ASL = ROOT / "statemachines" / "retraining.asl.json"
DEFINITION: dict[str, Any] = json.loads(ASL.read_text())


def all_states(states: dict[str, Any] = DEFINITION["States"]) -> dict[str, Any]:
    """Every state, those inside Parallel branches included."""
    found = dict(states)
    for body in states.values():
        for branch in body.get("Branches", []):
            found.update(all_states(branch["States"]))
    return found


STATES = all_states()


def successors(name: str) -> set[str]:
    body = STATES[name]
    nexts = {body.get("Next"), body.get("Default")}
    nexts |= {choice["Next"] for choice in body.get("Choices", [])}
    nexts |= {catch["Next"] for catch in body.get("Catch", [])}
    return {n for n in nexts if n}


def reachable(start: str, stop: set[str] = frozenset()) -> set[str]:  # type: ignore[assignment]
    seen: set[str] = set()
    todo = [start]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if name not in stop:
            todo += successors(name)
    return seen


def test_committed_asl_is_the_current_render() -> None:
    assert ASL.read_text() == retraining_workflow.render(), "run `make render` and commit the result"


def test_check_mode_fails_on_a_stale_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    stale = tmp_path / "stale.json"
    stale.write_text("{}")
    assert retraining_workflow.main(["--check", str(stale)]) == 1
    assert retraining_workflow.main(["--check", str(ASL)]) == 0


def test_job_names_take_a_fresh_suffix_on_every_attempt() -> None:
    for state, field in (
        ("Preprocess", "ProcessingJobName.$"),
        ("Train", "TrainingJobName.$"),
        ("ScoreChallenger", "TransformJobName.$"),
        ("ScoreChampion", "TransformJobName.$"),
    ):
        expression = STATES[state]["Parameters"][field]
        assert "$.run_id" in expression and "States.UUID()" in expression


def test_challenger_and_champion_score_the_same_split_side_by_side() -> None:
    # Given the Validate state
    validate = STATES["Validate"]
    # Then it is a Parallel whose two branches transform the same test split with the two models
    assert validate["Type"] == "Parallel" and len(validate["Branches"]) == 2
    challenger, champion = STATES["ScoreChallenger"], STATES["ScoreChampion"]
    for score in (challenger, champion):
        assert score["Parameters"]["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri.$"] == "$.paths.test"
    assert challenger["Parameters"]["ModelName.$"] == "$.training.TrainingJobName"
    assert champion["Parameters"]["ModelName.$"] == "$.champion.model_name"
    # And a champion that cannot score does not fail the run
    assert [c["Next"] for c in champion["Catch"]] == ["ChampionNotScored"]
    assert STATES["Evaluate"]["Parameters"]["Payload"]["champion.$"] == "$.transform.champion"


def test_flow_ends_in_notification_for_each_outcome() -> None:
    states = STATES
    assert states["QualityGate"]["Default"] == "RejectAtGate"
    assert states["NotifyGateFailed"]["Next"] == "ReleaseAfterGate"
    assert states["ReleaseAfterGate"]["Next"] == "QualityGateFailed"
    assert states["NotifyFailure"]["Next"] == "ReleaseAfterFailure"
    assert states["ReleaseAfterFailure"]["Next"] == "RetrainingFailed"
    assert states["NotifyDeployed"]["Next"] == "ReleaseAfterDeploy"
    assert states["ReleaseAfterDeploy"]["Next"] == "Deployed"
    assert states["NotifyRolledBack"]["Next"] == "ReleaseAfterRollback"
    assert states["ReleaseAfterRollback"]["Next"] == "RolledBack"
    for name in ("NotifyGateFailed", "NotifyFailure", "NotifyDeployed", "NotifyRolledBack", "NotifyRollbackFailed"):
        message = states[name]["Parameters"]
        assert message["Message.$"] == "States.JsonToString($.notice)"
        assert set(message["MessageAttributes"]) == {"outcome", "model_name", "run_id"}


def test_every_end_passes_through_a_release_of_the_model() -> None:
    ends = {name for name, body in STATES.items() if body["Type"] in {"Succeed", "Fail"}}
    into_ends = {name for name in STATES if successors(name) & ends}
    assert into_ends == {"ReleaseAfterGate", "ReleaseAfterFailure", "ReleaseAfterDeploy", "ReleaseAfterRollback"}


def test_a_run_starts_by_waiting_for_a_quiet_window_and_claiming_its_triggers() -> None:
    states = DEFINITION["States"]
    assert DEFINITION["StartAt"] == "Debounce"
    assert states["Debounce"]["SecondsPath"] == "$.config.quiet_window_seconds"
    assert states["Debounce"]["Next"] == "ClaimTriggers" and states["ClaimTriggers"]["Next"] == "Settled"
    assert states["Settled"]["Choices"][0]["Next"] == "Preprocess" and states["Settled"]["Default"] == "Debounce"


def test_every_endpoint_change_is_verified_before_the_rollout_goes_on() -> None:
    # Given every state that changes the live endpoint
    changes = {
        name
        for name, body in STATES.items()
        if body.get("Resource", "").endswith(
            ("sagemaker:updateEndpoint", "sagemaker:createEndpoint", "sagemaker:updateEndpointWeightsAndCapacities")
        )
    }
    assert changes == {
        "CreateEndpoint",
        "StartCanary",
        "ShiftWeights",
        "GoLive",
        "BlueGreenUpdate",
        "RestoreWeights",
        "RestoreConfig",
    }
    for name in changes - {"RestoreWeights", "RestoreConfig"}:
        # Then it goes to a verification loop (even when its call failed: the update may have happened)
        follow = {STATES[name]["Next"]} | {c["Next"] for c in STATES[name].get("Catch", [])}
        assert all(n.startswith("Await") or n == "RolloutError" for n in follow), (name, follow)
    for name in (n for n in STATES if n.startswith("Verify")):
        assert STATES[name]["Parameters"]["action"] == "verify_endpoint"


def test_once_a_rollout_touches_the_endpoint_every_failure_restores_the_champion() -> None:
    # Given the states of the canary and blue/green rollouts, up to promotion
    rollout = reachable("PrepareCanary", stop={"Promote", "StartRestore"}) | reachable(
        "PrepareBlueGreen", stop={"Promote", "StartRestore"}
    )
    rollout -= {"Promote", "StartRestore"}
    # Then no path from them reaches the generic failure path without restoring the champion first
    for name in rollout:
        for target in successors(name):
            assert target not in {"RejectAfterFailure", "NoticeFailure"}, (name, target)
    assert "PlanRestore" in reachable("RolloutError")
    assert "PlanRestore" in reachable("AlarmRollback")
    assert "PlanRestore" in reachable("RolloutProblem")
    # And restoring leads to the rejected challenger and a rolled-back notice, or to an urgent notice
    assert {"RejectChallenger", "NotifyRolledBack", "NotifyRollbackFailed"} <= reachable("StartRestore")


def test_canary_bakes_checks_alarms_then_shifts() -> None:
    assert STATES["Bake"]["SecondsPath"] == "$.config.rollout.alarm_check_seconds"
    assert STATES["Bake"]["Next"] == "CheckAlarms" and STATES["CheckAlarms"]["Next"] == "AlarmFired"
    assert STATES["AlarmFired"]["Choices"][0]["Next"] == "AlarmRollback"
    assert STATES["PickStep"]["Next"] == "ShiftWeights" and STATES["ShiftWeights"]["Next"] == "AwaitCanary"
    # The champion's variant loses its auto scaling before the update that removes it (AWS refuses otherwise)
    assert STATES["MoreSteps"]["Default"] == "ReleaseChampionScaling"
    assert STATES["ReleaseChampionScaling"]["Next"] == "CreateLiveConfig"
    assert STATES["ReleaseScalingForBlueGreen"]["Next"] == "BlueGreenUpdate"
    assert STATES["BlueGreenUpdate"]["Parameters"]["DeploymentConfig.$"] == "$.guards.deployment_config"
