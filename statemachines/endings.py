"""How a run ends: a notice in the run's own words, its SNS message, the release of the model, an end state.

Four ends - deployed, rejected by the gate, rolled back, failed - and the registry bookkeeping before
them (a registered challenger that does not go live is Rejected, with the reason).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stepfunctions.steps import Catch, Fail, Pass, Succeed, Task
from stepfunctions.steps.states import State

from statemachines.coordination import release_then
from statemachines.tasks import API_TIMEOUT_SECONDS, SNS_TRANSIENT, retry, rollout_step

# Every notice carries these; each outcome adds what a reader needs to act on it.
NOTICE_COMMON = {
    "model_name.$": "$.model_name",
    "run_id.$": "$.run_id",
    "execution.$": "$$.Execution.Id",
    "endpoint.$": "$.endpoint_name",
    "triggers.$": "$.claim.triggers",
    "triggers_consumed.$": "$.claim.consumed",
    "registry.$": "$.registry",
}


def notify(name: str, outcome: str, notice: dict[str, Any]) -> tuple[Pass, Task]:
    """A notice (what happened, in the run's words) and its SNS message, outcome as a message attribute.

    Returns the Pass that composes `$.notice` (the entry) and the publishing Task.
    """
    compose = Pass(f"Notice{name}", result_path="$.notice", parameters={"outcome": outcome, **NOTICE_COMMON, **notice})
    publish = Task(
        f"Notify{name}",
        resource="arn:aws:states:::sns:publish",
        timeout_seconds=API_TIMEOUT_SECONDS,
        result_path="$.notification",
        parameters={
            "TopicArn": "${NotificationTopicArn}",
            # SNS subjects are at most 100 characters: model (<= 32) and outcome fit; the run id is in the body.
            "Subject.$": f"States.Format('retrainer: {{}} {outcome}', $.model_name)",
            "Message.$": "States.JsonToString($.notice)",
            "MessageAttributes": {
                "outcome": {"DataType": "String", "StringValue": outcome},
                "model_name": {"DataType": "String", "StringValue.$": "$.model_name"},
                "run_id": {"DataType": "String", "StringValue.$": "$.run_id"},
            },
        },
    )
    publish.add_retry(retry(SNS_TRANSIENT, 2, 3, 20))
    compose.next(publish)
    return compose, publish


def then(publish: Task, release: State) -> None:
    """A lost notification must not change how the run ends."""
    publish.add_catch(Catch(error_equals=["States.ALL"], next_step=release, result_path="$.notify_error"))
    publish.next(release)


def reject(state_id: str, payload: dict[str, Any], then_step: State) -> Task:
    """The challenger's version is Rejected (a failed rejection is noted; the run still ends as it would)."""
    step = rollout_step(state_id, "reject", payload, "$.rejection")
    step.add_catch(Catch(error_equals=["States.ALL"], next_step=then_step, result_path="$.reject_error"))
    step.next(then_step)
    return step


@dataclass(frozen=True)
class Endings:
    """The entries into each end, for the phases that lead there."""

    failed: Task  # RejectAfterFailure: any error before the endpoint carries the challenger
    failed_notice: Pass  # NoticeFailure
    released_after_failure: State
    gate_failed: Task  # RejectAtGate
    deployed: Pass  # NoticeDeployed
    rolled_back: Pass  # NoticeRolledBack


def failure_end() -> tuple[Task, Pass, State]:
    failed = Fail("RetrainingFailed", error="RetrainingFailed", cause="A step failed; see the notification.")
    release = release_then("ReleaseAfterFailure", "failed", failed)
    notice, publish = notify(
        "Failure",
        "failed",
        {"headline.$": "States.Format('{} failed; see failure', $.run_id)", "failure.$": "$.failure"},
    )
    then(publish, release)
    # A run that fails after registering its model leaves that version Rejected, with the error.
    rejected = reject(
        "RejectAfterFailure",
        {"model_package_arn.$": "$.registry.model_package_arn", "reason.$": "States.JsonToString($.failure)"},
        notice,
    )
    return rejected, notice, release


def deployed_end() -> Pass:
    deployed = Succeed("Deployed")
    release = release_then("ReleaseAfterDeploy", "deployed", deployed)
    notice, publish = notify(
        "Deployed",
        "deployed",
        {
            # Both models side by side (holdout; recent labelled traffic when there is some), then the gate's words.
            "headline.$": "States.Format('{} is live on {}: {}; {}', "
            "$.run_id, $.endpoint_name, $.evaluation.side_by_side, $.evaluation.verdict)",
            "evaluation.$": "$.evaluation",
            "replaced.$": "$.champion",
            "rollout": {"strategy.$": "$.config.rollout.strategy", "steps.$": "$.rollout_plan.steps"},
            "failure.$": "$.failure",
        },
    )
    then(publish, release)
    return notice


def gate_end() -> Task:
    gate_failed = Fail("QualityGateFailed", error="QualityGateFailed", cause="The model did not pass the gate.")
    release = release_then("ReleaseAfterGate", "rejected", gate_failed)
    notice, publish = notify(
        "GateFailed",
        "rejected by the quality gate",
        {
            "headline.$": "States.Format('{} rejected by the quality gate: {}; {}', "
            "$.run_id, $.evaluation.side_by_side, $.evaluation.verdict)",
            "evaluation.$": "$.evaluation",
            "champion.$": "$.champion",
        },
    )
    then(publish, release)
    return reject(
        "RejectAtGate",
        {"model_package_arn.$": "$.registry.model_package_arn", "reason.$": "$.evaluation.verdict"},
        notice,
    )


def rolled_back_end() -> Pass:
    rolled_back = Fail(
        "RolledBack", error="RolledBack", cause="The challenger was rolled back; the champion serves the endpoint."
    )
    release = release_then("ReleaseAfterRollback", "rolled back", rolled_back)
    notice, publish = notify(
        "RolledBack",
        "rolled back",
        {
            "headline.$": "States.Format('{} rolled back; {} serves {} again: {}', "
            "$.run_id, $.endpoint_name, $.champion.variant_name, $.rollback.reason)",
            "rollback.$": "$.rollback",
            "evaluation.$": "$.evaluation",
            "champion.$": "$.champion",
            "rollout": {
                "strategy.$": "$.config.rollout.strategy",
                "reached.$": "$.rollout.current",
                "steps.$": "$.rollout_plan.steps",
            },
            "restore.$": "$.restore",
        },
    )
    then(publish, release)
    return notice


def endings() -> Endings:
    failed, failed_notice, released = failure_end()
    return Endings(
        failed=failed,
        failed_notice=failed_notice,
        released_after_failure=released,
        gate_failed=gate_end(),
        deployed=deployed_end(),
        rolled_back=rolled_back_end(),
    )


def promote(deployed: State, then_step: State | None = None) -> Task:
    """The challenger is live and healthy: Approved, auto-scaled, the old champion's leftovers deleted.
    A failed clean-up is reported in the deployed notice, never rolled back."""
    step = rollout_step(
        "Promote",
        "promote",
        {
            "model_package_arn.$": "$.registry.model_package_arn",
            "endpoint_name.$": "$.endpoint_name",
            "variant_name.$": "$.run_id",
            "champion.$": "$.champion",
            "configs.$": "States.Array(States.Format('{}-canary', $.run_id), $.champion.endpoint_config_name)",
            "champion_alarm_prefix": "${AlarmPrefix}",
            "autoscaling.$": "$.config.rollout.autoscaling",
            "metrics.$": "$.evaluation.metrics",
        },
        "$.promotion",
    )
    step.add_catch(Catch(error_equals=["States.ALL"], next_step=deployed, result_path="$.failure.Promote"))
    step.next(then_step or deployed)  # then: the monitoring phase (statemachines/monitoring_setup.py)
    return step
