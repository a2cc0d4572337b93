"""SageMaker's own blue/green deployment: one UpdateEndpoint with a DeploymentConfig (canary, linear or
all at once) whose AutoRollbackConfiguration lists the challenger's alarms; SageMaker shifts the traffic
and rolls back by itself, the verification tells which happened.

    PrepareBlueGreen (alarms, DeploymentConfig) -> CreateBlueGreenConfig -> ReleaseScalingForBlueGreen
    -> BlueGreenUpdate -> AwaitBlueGreen -> promote
"""

from __future__ import annotations

from stepfunctions.steps import Chain
from stepfunctions.steps.states import State

from statemachines.endpoint_switch import (
    CHALLENGER_ALONE,
    LIVE_CONFIG,
    UPDATE_TIMEOUT,
    Expectation,
    Outcomes,
    ensure_config,
    prepare_guards,
    release_champion_scaling,
    switch_and_verify,
    update_endpoint,
)
from statemachines.rollouts import RolloutExits, RolloutStrategy

# SageMaker may take its whole blue/green budget, the termination wait, then an ordinary update's time.
BLUE_GREEN_TIMEOUT = (
    "States.MathAdd(States.MathAdd($.config.rollout.blue_green.max_execution_timeout_seconds, "
    f"$.config.rollout.blue_green.termination_wait_seconds), {UPDATE_TIMEOUT})"
)


class BlueGreen(RolloutStrategy):
    """SageMaker's DeploymentConfig with auto-rollback on the challenger's alarms."""

    name = "blue_green"

    def build(self, exits: RolloutExits) -> State:
        update = update_endpoint("BlueGreenUpdate", LIVE_CONFIG, {"DeploymentConfig.$": "$.guards.deployment_config"})
        switch_and_verify(
            "BlueGreen",
            update,
            Expectation(LIVE_CONFIG, timeout_seconds=BLUE_GREEN_TIMEOUT),
            Outcomes(exits.promote, exits.problem, exits.error),
        )
        prepare = exits.guard(prepare_guards("PrepareBlueGreen"))
        config = exits.guard(ensure_config("CreateBlueGreenConfig", LIVE_CONFIG, CHALLENGER_ALONE))
        scaling = exits.guard(release_champion_scaling("ReleaseScalingForBlueGreen"))
        Chain([prepare, config, scaling, update])
        return prepare
