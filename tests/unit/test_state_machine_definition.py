"""The rendered ASL is the Python definition; its paths keep the promises the README makes.

Structural tests read EVERY state, those inside Parallel branches included: each Task's Retry and Catch,
each Choice's conditions (variable, operator, value), and each Lambda payload and copied-back result
against the pydantic model on the other side.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, get_args

import pytest
from pydantic import BaseModel

from retrainer import errors
from retrainer.pipeline_config import LONGEST_ROLLOUT, RolloutStrategy
from retrainer.run_data import ClaimState, RolloutProgress
from retrainer.services.coordination import ClaimRequest, ReleaseRequest
from retrainer.services.evaluation import EvaluationRequest, EvaluationResult
from retrainer.services.rollout import ACTIONS
from statemachines import retraining_workflow
from statemachines.rollouts import strategies
from statemachines.tasks import MANAGE_ROLLOUT_ARN
from tests.samples import ROOT

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


def test_committed_asl_is_the_current_render(rendered_asl: str) -> None:
    # Given the Python definition, rendered once for the session
    # When it is compared with the committed file
    # Then the committed ASL is its render
    assert ASL.read_text() == rendered_asl, "run `make render` and commit the result"


def test_check_mode_fails_on_a_stale_file(
    tmp_path: Path, rendered_asl: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a stale file and the committed one (the session's render stands in for a fresh one)
    monkeypatch.setattr(retraining_workflow, "render", lambda: rendered_asl)
    stale = tmp_path / "stale.json"
    stale.write_text("{}")
    # When each is checked
    # Then the check fails on the stale file, naming the fix, and passes on the committed one
    assert retraining_workflow.main(["--check", str(stale)]) == 1
    assert "run `make render`" in capsys.readouterr().err
    assert retraining_workflow.main(["--check", str(ASL)]) == 0


def test_job_names_take_a_fresh_suffix_on_every_attempt() -> None:
    # Given every SageMaker job; Then its name is the run's id with a suffix drawn at each attempt
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
        assert score["Parameters"]["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri.$"] == "$.paths.test_raw"
    assert challenger["Parameters"]["ModelName.$"] == "$.training.TrainingJobName"
    assert champion["Parameters"]["ModelName.$"] == "$.champion.model_name"
    # And a champion that cannot score does not fail the run
    assert [c["Next"] for c in champion["Catch"]] == ["ChampionNotScored"]
    assert STATES["Evaluate"]["Parameters"]["Payload"]["champion.$"] == "$.transform.champion"


def test_flow_ends_in_notification_for_each_outcome() -> None:
    # Given the four ends; Then each is notified, then releases the model, then ends
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
    # Given every end state; Then only the five release steps lead there
    ends = {name for name, body in STATES.items() if body["Type"] in {"Succeed", "Fail"}}
    into_ends = {name for name in STATES if successors(name) & ends}
    assert into_ends == {
        "ReleaseAfterGate",
        "ReleaseAfterFailure",
        "ReleaseAfterDeploy",
        "ReleaseAfterRollback",
        "ReleaseAfterNoNewData",
    }


def test_a_run_without_new_data_ends_no_new_data_before_training() -> None:
    # Given the states after Preprocess
    # Then the champion is found and the data compared before any training
    assert STATES["Preprocess"]["Next"] == "FindChampion"
    assert STATES["FindChampion"]["Next"] == "CheckNewData"
    assert STATES["CheckNewData"]["Parameters"]["Payload"]["action"] == "check_new_data"
    assert STATES["CheckNewData"]["Next"] == "HasNewData"
    choice = STATES["HasNewData"]
    assert choice["Default"] == "Train"
    assert choice["Choices"] == [
        {"Variable": "$.data_check.new_data", "BooleanEquals": False, "Next": "NoticeNoNewData"}
    ]
    # And that end is a success of its own: notified with what triggered it and where to upload, released
    notice = STATES["NoticeNoNewData"]["Parameters"]
    assert notice["outcome"] == "no new data"
    assert {"trigger.$", "upload_to.$", "what_to_do", "data_check.$"} <= set(notice)
    assert STATES["NotifyNoNewData"]["Next"] == "ReleaseAfterNoNewData"
    assert STATES["ReleaseAfterNoNewData"]["Next"] == "NoNewData"
    assert STATES["NoNewData"]["Type"] == "Succeed"


def test_the_model_is_a_serial_pipeline_of_the_feature_model_and_xgboost() -> None:
    # Given CreateModel
    parameters = STATES["CreateModel"]["Parameters"]
    # Then it runs Preprocess's feature model in the scikit-learn image, then XGBoost, serially
    features, xgboost = parameters["Containers"]
    assert features["Image"] == "${SklearnImageUri}" and features["ModelDataUrl.$"] == "$.paths.encoder_model"
    assert features["Environment"]["SAGEMAKER_PROGRAM"] == "inference.py"
    assert features["Environment"]["SAGEMAKER_SUBMIT_DIRECTORY"] == "/opt/ml/model/code"
    assert xgboost["Image"] == "${XGBoostImageUri}" and xgboost["ModelDataUrl.$"] == "$.training.ModelArtifacts"
    assert parameters["InferenceExecutionConfig"] == {"Mode": "Serial"}
    assert "PrimaryContainer" not in parameters
    # And Preprocess uploads the folders the model and the gate read
    outputs = {
        o["OutputName"]: o["S3Output"]["S3Uri.$"]
        for o in STATES["Preprocess"]["Parameters"]["ProcessingOutputConfig"]["Outputs"]
    }
    assert outputs["test-raw"] == "$.paths.test_raw" and outputs["encoder"] == "$.paths.encoder"
    assert outputs["schema"] == "$.paths.schema_folder"
    # And the registry version carries the data's fingerprint, schema and row splits
    registered = STATES["RegisterModel"]["Parameters"]
    assert registered["fingerprint.$"] == "$.data_check.fingerprint"
    assert registered["schema_uri.$"] == "$.paths.schema_document"
    assert registered["row_splits_uri.$"] == "$.paths.row_splits"


def test_a_run_starts_by_waiting_for_a_quiet_window_and_claiming_its_triggers() -> None:
    # Given the start; Then the run waits for quiet, claims its triggers, and waits again until settled
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
    # Given the weighted canary; Then each step bakes with alarm checks before the weights shift
    assert STATES["Bake"]["SecondsPath"] == "$.config.rollout.alarm_check_seconds"
    assert STATES["Bake"]["Next"] == "CheckAlarms" and STATES["CheckAlarms"]["Next"] == "AlarmFired"
    assert STATES["AlarmFired"]["Choices"][0]["Next"] == "AlarmRollback"
    assert STATES["PickStep"]["Next"] == "ShiftWeights" and STATES["ShiftWeights"]["Next"] == "AwaitCanary"
    # The champion's variant loses its auto scaling before the update that removes it (AWS refuses otherwise)
    assert STATES["MoreSteps"]["Default"] == "ReleaseChampionScaling"
    assert STATES["ReleaseChampionScaling"]["Next"] == "CreateLiveConfig"
    assert STATES["ReleaseScalingForBlueGreen"]["Next"] == "BlueGreenUpdate"
    assert STATES["BlueGreenUpdate"]["Parameters"]["DeploymentConfig.$"] == "$.guards.deployment_config"


# ---------------------------------------------------------------- every state, structurally
TASKS = {name: body for name, body in STATES.items() if body["Type"] in {"Task", "Parallel"}}
# States without a Retry or a Catch of their own, and why (anything else must have both).
NO_RETRY = {"Validate": "a Parallel: its branches retry their own jobs"}
NO_CATCH = {"ScoreChallenger": "inside Validate's branch: the Parallel's Catch takes its error"}
# Error names a Retry or Catch may match besides States.*: what Step Functions' integrations name.
SERVICE_ERRORS = {
    "SageMaker.AmazonSageMakerException",
    "SageMaker.SageMakerException",
    "SageMaker.ThrottlingException",
    "ThrottlingException",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "Sandbox.Timedout",
    "SNS.ThrottledException",
    "SNS.InternalErrorException",
}
DOMAIN_ERRORS = {
    name for name, value in vars(errors).items() if isinstance(value, type) and issubclass(value, errors.RetrainerError)
}


@pytest.mark.parametrize("name", sorted(TASKS))
def test_every_task_retries_and_catches_unless_exempt_with_a_reason(name: str) -> None:
    # Given a Task or Parallel state anywhere in the definition
    body = TASKS[name]
    # Then it retries transient errors and catches the rest, or is on an exemption list that says why
    assert ("Retry" in body) != (name in NO_RETRY), f"{name}: Retry {'missing' if name not in NO_RETRY else 'exempt'}"
    assert ("Catch" in body) != (name in NO_CATCH), f"{name}: Catch {'missing' if name not in NO_CATCH else 'exempt'}"


def test_retry_and_catch_match_domain_and_step_functions_names_only() -> None:
    # Given every Retry and Catch of every state
    matched = {
        error
        for body in STATES.values()
        for rule in body.get("Retry", []) + body.get("Catch", [])
        for error in rule["ErrorEquals"]
    }
    # Then each name is Step Functions' own, an integration's, or a domain error (never e.g. botocore's ClientError)
    unknown = {e for e in matched if not e.startswith("States.") and e not in SERVICE_ERRORS | DOMAIN_ERRORS}
    assert unknown == set()
    assert "ClientError" not in matched


def test_retry_policies_of_the_jobs_and_rollout_steps() -> None:
    # Given the SageMaker jobs and the rollout's Lambda steps
    def retried(name: str) -> set[str]:
        return {e for rule in STATES[name].get("Retry", []) for e in rule["ErrorEquals"]}

    # Then jobs retry SageMaker's transient errors (a Failed job, States.TaskFailed, is never retried)
    for job in ("Preprocess", "Train", "CreateModel", "ScoreChallenger", "ScoreChampion"):
        assert "SageMaker.AmazonSageMakerException" in retried(job) and "States.TaskFailed" not in retried(job)
    # And rollout steps retry Lambda's transient errors, FindChampion also a busy endpoint
    assert "Sandbox.Timedout" in retried("CheckAlarms") and "EndpointBusy" in retried("FindChampion")
    assert "SageMaker.AmazonSageMakerException" in retried("RestoreWeights") | retried("RestoreConfig")


# Every Choice: its rules as (variable, operator, value, next), and its default. A changed condition fails here.
CHOICES = {
    "Settled": ([("$.claim.settled", "BooleanEquals", True, "Preprocess")], "Debounce"),
    "HasNewData": ([("$.data_check.new_data", "BooleanEquals", False, "NoticeNoNewData")], "Train"),
    "HasChampion": ([("$.champion.exists", "BooleanEquals", True, "ScoreChampion")], "NoChampionToScore"),
    "QualityGate": ([("$.evaluation.passed", "BooleanEquals", True, "PlanRollout")], "RejectAtGate"),
    "MonitoringOn": ([("$.monitoring.enabled", "BooleanEquals", True, "Baseline")], "NoticeDeployed"),
    "ChooseRollout": (
        [
            ("$.champion.exists", "BooleanEquals", False, "CreateFirstConfig"),
            ("$.config.rollout.strategy", "StringEquals", "blue_green", "PrepareBlueGreen"),
        ],
        "PrepareCanary",
    ),
    "AlarmFired": ([("$.alarm_check.firing", "BooleanEquals", True, "AlarmRollback")], "CountBake"),
    "Baked": ([("$.bake.baked", "NumericGreaterThanEqualsPath", "$.config.rollout.bake_seconds", "NextStep")], "Bake"),
    "MoreSteps": (
        [("$.rollout.index", "NumericLessThanPath", "$.rollout.count", "PickStep")],
        "ReleaseChampionScaling",
    ),
    "WasRolledBackBySageMaker": (
        [("$.endpoint_check.state", "StringEquals", "mismatch", "NoticeConfigMismatch")],
        "StartRestore",
    ),
    "Restored": (
        [
            ("$.restore.state", "StringEquals", "restored", "RejectChallenger"),
            ("$.restore.state", "StringEquals", "waiting", "WaitRestore"),
            ("$.restore.state", "StringEquals", "shift_weights", "RestoreWeights"),
            ("$.restore.state", "StringEquals", "switch_config", "RestoreConfig"),
        ],
        "RollbackFailed",
    ),
    **{
        f"{loop}Ready": (
            [
                ("$.endpoint_check.state", "StringEquals", "waiting", f"Wait{loop}"),
                ("$.endpoint_check.state", "StringEquals", "ready", then),
            ],
            problem,
        )
        for loop, then, problem in (
            ("Canary", "StartBake", "RolloutProblem"),
            ("Live", "Promote", "RolloutProblem"),
            ("BlueGreen", "Promote", "RolloutProblem"),
            ("FirstDeployment", "Promote", "FirstDeploymentFailed"),
        )
    },
}


def _rules(body: dict[str, Any]) -> list[tuple[str, str, Any, str]]:
    rules = []
    for rule in body["Choices"]:
        (operator,) = [key for key in rule if key not in {"Variable", "Next"}]
        rules.append((rule["Variable"], operator, rule[operator], rule["Next"]))
    return rules


def test_every_choice_tests_the_documented_condition() -> None:
    # Given every Choice state anywhere in the definition
    choices = {name: body for name, body in STATES.items() if body["Type"] == "Choice"}
    # Then each is listed above, with its variable, operator, value, next state and default
    assert set(choices) == set(CHOICES)
    for name, body in choices.items():
        assert (_rules(body), body.get("Default")) == CHOICES[name], name


def _fields(payload: dict[str, Any]) -> set[str]:
    return {key.removesuffix(".$") for key in payload}


def _required(model: type[BaseModel]) -> set[str]:
    return {name for name, info in model.model_fields.items() if info.is_required()}


ROLLOUT_MODELS = {model.model_fields["action"].annotation.__args__[0]: model for model in ACTIONS}  # type: ignore[union-attr]


@pytest.mark.parametrize("name", sorted(n for n, b in STATES.items() if b.get("Resource") == MANAGE_ROLLOUT_ARN))
def test_each_rollout_payload_is_what_its_action_model_reads(name: str) -> None:
    # Given a ManageRolloutFunction step and the pydantic model of the action it names
    payload = STATES[name]["Parameters"]
    model = ROLLOUT_MODELS[payload["action"]]
    # Then it sends every field the model requires, and nothing the model does not know
    assert _required(model) <= _fields(payload), (name, _required(model) - _fields(payload))
    assert _fields(payload) <= set(model.model_fields), (name, _fields(payload) - set(model.model_fields))


def test_coordination_and_evaluation_payloads_and_results_match_their_models() -> None:
    # Given the Lambda steps that answer through an envelope (LambdaStep)
    def payload(name: str) -> set[str]:
        return _fields(STATES[name]["Parameters"]["Payload"])

    # Then each payload holds the fields its request model requires, and only fields it knows
    # (or the correlation id, which the handler's logger reads)
    logged = {"correlation_id"}
    for name, model in (("ClaimTriggers", ClaimRequest), ("Evaluate", EvaluationRequest)):
        assert _required(model) <= payload(name) <= set(model.model_fields) | logged, name
    for name in ("ReleaseAfterGate", "ReleaseAfterFailure", "ReleaseAfterDeploy", "ReleaseAfterRollback"):
        assert _required(ReleaseRequest) <= payload(name) <= set(ReleaseRequest.model_fields) | logged, name
    # And the results copied back are exactly their models' fields
    assert _fields(STATES["Evaluate"]["ResultSelector"]) == set(EvaluationResult.model_fields)
    assert _fields(STATES["ClaimTriggers"]["ResultSelector"]) == set(ClaimState.model_fields)
    # And the canary's loop state is the run-state model's
    for name in ("PlanRollout", "NextStep", "PickStep"):
        assert _fields(STATES[name]["Parameters"]) == set(RolloutProgress.model_fields), name


def test_each_configurable_strategy_has_one_module_and_a_branch() -> None:
    # Given the strategies a model's configuration accepts
    accepted = set(get_args(RolloutStrategy))
    # Then each is a registered RolloutStrategy, exactly one is the default, and ChooseRollout reaches them
    assert set(strategies()) == accepted == set(LONGEST_ROLLOUT)
    assert [name for name, cls in strategies().items() if cls.default] == ["weights"]
    assert {rule[2] for rule in CHOICES["ChooseRollout"][0][1:]} | {"weights"} == accepted


def test_the_restore_changes_the_endpoint_through_the_state_machine_and_looks_again() -> None:
    # Given the restore loop
    plan = STATES["PlanRestore"]
    # Then the function only plans; the changes are SageMaker calls that go back to waiting and planning
    assert plan["Parameters"]["action"] == "plan_restore"
    assert STATES["RestoreWeights"]["Resource"].endswith("aws-sdk:sagemaker:updateEndpointWeightsAndCapacities")
    assert STATES["RestoreConfig"]["Resource"].endswith("sagemaker:updateEndpoint")
    for change in ("RestoreWeights", "RestoreConfig"):
        assert STATES[change]["Next"] == "WaitRestore"
        assert [c["Next"] for c in STATES[change]["Catch"]] == ["WaitRestore"]
    assert STATES["WaitRestore"]["Next"] == "PlanRestore"
