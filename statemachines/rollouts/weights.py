"""The weighted canary (the default): champion and challenger side by side on the live endpoint, the
challenger's share raised step by step (`config.rollout.canary_steps`), each step baked while its alarms
are watched, then the challenger alone.

    PrepareCanary (alarms) -> CreateCanaryConfig (both variants at step 1) -> StartCanary -> AwaitCanary
    -> StartBake -> Bake <-> CheckAlarms (every alarm_check_seconds, for bake_seconds) -> NextStep
    -> MoreSteps? -> PickStep -> ShiftWeights -> AwaitCanary ...
    -> ReleaseChampionScaling -> CreateLiveConfig (challenger alone) -> GoLive -> AwaitLive -> promote
"""

from __future__ import annotations

from stepfunctions.steps import Chain, Choice, ChoiceRule, Pass, Task, Wait
from stepfunctions.steps.states import State

from statemachines.endpoint_switch import (
    CANARY_CONFIG,
    CHALLENGER_ALONE,
    CHALLENGER_VARIANT,
    LIVE_CONFIG,
    Expectation,
    Outcomes,
    Verification,
    ensure_config,
    prepare_guards,
    release_champion_scaling,
    switch_and_verify,
    update_endpoint,
)
from statemachines.rollouts import RolloutExits, RolloutStrategy
from statemachines.tasks import SAGEMAKER_TRANSIENT, rollout_step, sdk_call

# The canary config: both variants (the champion as it serves now), weighted as the current step says.
CHAMPION_AND_CHALLENGER = [
    {
        "name.$": "$.champion.variant_name",
        "model_name.$": "$.champion.model_name",
        "instance_type.$": "$.champion.instance_type",
        "instance_count.$": "$.champion.instance_count",
        "weight.$": "$.rollout.current.champion",
    },
    {**CHALLENGER_VARIANT, "weight.$": "$.rollout.current.challenger"},
]
STEP_WEIGHTS = [
    {"name.$": "$.champion.variant_name", "weight.$": "$.rollout.current.champion"},
    {"name.$": "$.run_id", "weight.$": "$.rollout.current.challenger"},
]
ROLLOUT_STATE = {"strategy.$": "$.rollout.strategy", "count.$": "$.rollout.count"}


def _bake(exits: RolloutExits, then_step: State) -> Pass:
    """StartBake -> Bake <-> CheckAlarms until bake_seconds passed (-> `then_step`) or an alarm fired."""
    start = Pass("StartBake", result_path="$.bake", parameters={"baked": 0, "since.$": "$$.State.EnteredTime"})
    bake = Wait("Bake", seconds_path="$.config.rollout.alarm_check_seconds")
    check = exits.guard(
        rollout_step(
            "CheckAlarms",
            "check_alarms",
            {"alarm_names.$": "$.guards.alarm_names", "since.$": "$.bake.since", "step.$": "$.rollout.current"},
            "$.alarm_check",
        )
    )
    rollback = Pass(
        "AlarmRollback", result_path="$.rollback", parameters={"kind": "alarm", "reason.$": "$.alarm_check.reason"}
    )
    rollback.next(exits.rollback)
    fired = Choice("AlarmFired")
    fired.add_choice(ChoiceRule.BooleanEquals(variable="$.alarm_check.firing", value=True), rollback)
    count = Pass(
        "CountBake",
        result_path="$.bake",
        parameters={
            "since.$": "$.bake.since",
            "baked.$": "States.MathAdd($.bake.baked, $.config.rollout.alarm_check_seconds)",
        },
    )
    fired.default_choice(count)
    baked = Choice("Baked")
    baked.add_choice(
        ChoiceRule.NumericGreaterThanEqualsPath(variable="$.bake.baked", value="$.config.rollout.bake_seconds"),
        next_step=then_step,
    )
    baked.default_choice(bake)
    Chain([start, bake, check, fired])
    count.next(baked)
    return start


def _go_live(exits: RolloutExits) -> Task:
    """The last step: the champion's variant goes, the challenger serves alone."""
    go_live = update_endpoint("GoLive", LIVE_CONFIG)
    switch_and_verify("Live", go_live, Expectation(LIVE_CONFIG), Outcomes(exits.promote, exits.problem, exits.error))
    release = exits.guard(release_champion_scaling("ReleaseChampionScaling"))
    config = exits.guard(ensure_config("CreateLiveConfig", LIVE_CONFIG, CHALLENGER_ALONE))
    Chain([release, config, go_live])
    return release


def _next_step(canary: Verification, exits: RolloutExits) -> Pass:
    """NextStep -> MoreSteps? -> PickStep -> ShiftWeights -> AwaitCanary, or on to the challenger alone."""
    next_step = Pass(
        "NextStep",
        result_path="$.rollout",
        parameters={**ROLLOUT_STATE, "index.$": "States.MathAdd($.rollout.index, 1)", "current.$": "$.rollout.current"},
    )
    more = Choice("MoreSteps")
    pick = Pass(
        "PickStep",
        result_path="$.rollout",
        parameters={
            **ROLLOUT_STATE,
            "index.$": "$.rollout.index",
            "current.$": "States.ArrayGetItem($.rollout_plan.steps, $.rollout.index)",
        },
    )
    more.add_choice(ChoiceRule.NumericLessThanPath(variable="$.rollout.index", value="$.rollout.count"), next_step=pick)
    more.default_choice(_go_live(exits))
    shift = exits.guard(
        sdk_call(
            "ShiftWeights",
            "updateEndpointWeightsAndCapacities",
            {
                "EndpointName.$": "$.endpoint_name",
                "DesiredWeightsAndCapacities": [
                    {"VariantName.$": "$.champion.variant_name", "DesiredWeight.$": "$.rollout.current.champion"},
                    {"VariantName.$": "$.run_id", "DesiredWeight.$": "$.rollout.current.challenger"},
                ],
            },
            "$.switch",
        ),
        SAGEMAKER_TRANSIENT,
    )
    Chain([next_step, more])
    Chain([pick, shift, canary.entry])
    return next_step


class Weights(RolloutStrategy):
    """Canary by production-variant weights, driven by the state machine."""

    name = "weights"
    default = True

    def build(self, exits: RolloutExits) -> State:
        start = update_endpoint("StartCanary", CANARY_CONFIG)
        canary = switch_and_verify(
            "Canary",
            start,
            Expectation(CANARY_CONFIG, weights=STEP_WEIGHTS),
            Outcomes(None, exits.problem, exits.error),
        )
        # Each step bakes, then the next one shifts the weights and comes back to this loop.
        canary.on_ready(_bake(exits, _next_step(canary, exits)))
        prepare = exits.guard(prepare_guards("PrepareCanary"))
        config = exits.guard(ensure_config("CreateCanaryConfig", CANARY_CONFIG, CHAMPION_AND_CHALLENGER))
        Chain([prepare, config, start])
        return prepare
