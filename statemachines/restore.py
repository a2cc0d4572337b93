"""Bringing the champion back: every way a rollout is undone, and the restore loop.

The reason is recorded in `$.rollback` (an alarm, a config mismatch - SageMaker rolled the update back -,
a failed update, a timeout, an error), then the loop restores the champion: ManageRolloutFunction's
`plan_restore` looks at the endpoint and says which change comes next (traffic off the challenger first,
then the champion's own config), the state machine makes that change itself, waits, and asks again,
until the champion serves alone (RejectChallenger) or the patience runs out (an urgent notice).
"""

from __future__ import annotations

from dataclasses import dataclass

from stepfunctions.steps import Catch, Chain, Choice, ChoiceRule, Pass, Task, Wait
from stepfunctions.steps.states import State

from retrainer.run_data import ENDPOINT_POLL_SECONDS
from statemachines.endings import Endings, notify, reject, then
from statemachines.endpoint_switch import CANARY_CONFIG, LIVE_CONFIG, UPDATE_TIMEOUT, update_endpoint
from statemachines.tasks import SAGEMAKER_TRANSIENT, failing_to, retry, rollout_step, sdk_call


@dataclass(frozen=True)
class Undo:
    """The entries into the rollback: each records why in `$.rollback`, then restores the champion."""

    restore: Pass  # StartRestore (`$.rollback` already set)
    problem: Pass  # RolloutProblem: a verification's verdict in `$.endpoint_check`
    error: Pass  # RolloutError: a step failed, `$.failure` says which


def _reject_challenger(then_step: State) -> Task:
    return reject(
        "RejectChallenger",
        {
            "model_package_arn.$": "$.registry.model_package_arn",
            "reason.$": "$.rollback.reason",
            "endpoint_name.$": "$.endpoint_name",
            "champion.$": "$.champion",
            "challenger_variant.$": "$.run_id",
            "configs.$": f"States.Array({CANARY_CONFIG}, {LIVE_CONFIG})",
            "alarm_names.$": "$.guards.alarm_names",
            "autoscaling.$": "$.config.rollout.autoscaling",
        },
        then_step,
    )


def _not_restored(endings: Endings) -> tuple[Pass, Pass]:
    """The champion is not back in time: an urgent notice, then the failure's release."""
    notice, publish = notify(
        "RollbackFailed",
        "rollback failed",
        {
            "headline.$": "States.Format('ACTION NEEDED: {} could not bring {} back on {}: {}', "
            "$.run_id, $.champion.variant_name, $.endpoint_name, $.restore.action)",
            "rollback.$": "$.rollback",
            "restore.$": "$.restore",
            "champion.$": "$.champion",
            "failure.$": "$.failure",
        },
    )
    then(publish, endings.released_after_failure)
    unrestored = Pass(
        "RollbackFailed",
        result_path="$.restore",
        parameters={"state": "failed", "action.$": "$.restore.action", "polls.$": "$.restore.polls"},
    )
    unrestored.next(notice)
    return unrestored, notice


def _restore_changes(wait: Wait) -> tuple[Task, Task]:
    """The two changes a restore makes: the champion's weight back to 100%, or the champion's config."""
    weights = sdk_call(
        "RestoreWeights",
        "updateEndpointWeightsAndCapacities",
        {"EndpointName.$": "$.endpoint_name", "DesiredWeightsAndCapacities.$": "$.restore.weights"},
        "$.switch",
    )
    config = update_endpoint("RestoreConfig", "$.champion.endpoint_config_name")
    for change in (weights, config):
        # An update racing ours (the endpoint turned Updating between a look and a call): the plan looks again.
        change.add_retry(retry(SAGEMAKER_TRANSIENT, 10, 4, 120))
        change.add_catch(Catch(error_equals=["States.ALL"], next_step=wait, result_path="$.switch"))
        change.next(wait)
    return weights, config


def restore_loop(endings: Endings) -> Pass:
    """StartRestore -> PlanRestore -> Restored? (change the endpoint, wait, plan again) -> RejectChallenger."""
    unrestored, notice_unrestored = _not_restored(endings)
    start = Pass("StartRestore", result_path="$.restore", parameters={"state": "waiting", "action": "", "polls": 0})
    plan = rollout_step(
        "PlanRestore",
        "plan_restore",
        {
            "endpoint_name.$": "$.endpoint_name",
            "champion.$": "$.champion",
            "challenger_variant.$": "$.run_id",
            "polls.$": "$.restore.polls",
            "update_timeout_seconds.$": UPDATE_TIMEOUT,
            "poll_seconds": ENDPOINT_POLL_SECONDS,
        },
        "$.restore",
    )
    failing_to(plan, notice_unrestored)
    wait = Wait("WaitRestore", seconds=ENDPOINT_POLL_SECONDS)
    weights, config = _restore_changes(wait)
    restored = Choice("Restored")
    restored.add_choice(
        ChoiceRule.StringEquals(variable="$.restore.state", value="restored"), _reject_challenger(endings.rolled_back)
    )
    restored.add_choice(ChoiceRule.StringEquals(variable="$.restore.state", value="waiting"), wait)
    restored.add_choice(ChoiceRule.StringEquals(variable="$.restore.state", value="shift_weights"), weights)
    restored.add_choice(ChoiceRule.StringEquals(variable="$.restore.state", value="switch_config"), config)
    restored.default_choice(unrestored)
    wait.next(plan)
    Chain([start, plan, restored])
    return start


def undo(endings: Endings) -> Undo:
    """The reasons a rollout is undone, each recorded in `$.rollback` before the champion is restored."""
    start_restore = restore_loop(endings)
    notice_mismatch, notify_mismatch = notify(
        "ConfigMismatch",
        "endpoint config mismatch",
        {
            "headline.$": "States.Format('{}: {}', $.run_id, $.endpoint_check.reason)",
            "check.$": "$.endpoint_check",
        },
    )
    then(notify_mismatch, start_restore)
    problem = Pass(
        "RolloutProblem",
        result_path="$.rollback",
        parameters={"kind.$": "$.endpoint_check.state", "reason.$": "$.endpoint_check.reason"},
    )
    is_mismatch = Choice("WasRolledBackBySageMaker")
    is_mismatch.add_choice(
        ChoiceRule.StringEquals(variable="$.endpoint_check.state", value="mismatch"), next_step=notice_mismatch
    )
    is_mismatch.default_choice(start_restore)
    problem.next(is_mismatch)
    error = Pass(
        "RolloutError",
        result_path="$.rollback",
        parameters={"kind": "error", "reason.$": "States.JsonToString($.failure)"},
    )
    error.next(start_restore)
    return Undo(restore=start_restore, problem=problem, error=error)
