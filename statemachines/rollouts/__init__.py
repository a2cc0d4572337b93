"""Rollouts: how a challenger that passed the gate replaces the champion on the live endpoint.

Each strategy is one module of this package with one `RolloutStrategy` subclass; defining the class
registers it under its `name`, the value of `config.rollout.strategy` that selects it
(`retrainer.pipeline_config.RolloutStrategy` lists the names a model's configuration accepts).
The first deployment (no champion yet) needs no strategy: `first_deployment` creates the endpoint.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import ClassVar

from stepfunctions.steps import Choice, ChoiceRule, Pass, Task
from stepfunctions.steps.states import State

from statemachines.tasks import failing_to, retry


@dataclass(frozen=True)
class RolloutExits:
    """Where a rollout goes: on to promotion, or into the rollback (see `statemachines.restore`)."""

    promote: State
    problem: State  # a verification's verdict other than ready, in `$.endpoint_check`
    error: State  # a step failed: the champion is brought back first
    rollback: State  # `$.rollback` is set: bring the champion back

    def guard(self, step: Task, transient: list[str] | None = None) -> Task:
        """A step once the endpoint may carry the challenger: an error brings the champion back first."""
        if transient:
            step.add_retry(retry(transient, 10, 4, 120))
        failing_to(step, self.error)
        return step


class RolloutStrategy:
    """A rollout strategy: `build` returns its first state; every path ends in one of the exits."""

    registry: ClassVar[dict[str, type[RolloutStrategy]]] = {}
    name: ClassVar[str]
    default: ClassVar[bool] = False

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        RolloutStrategy.registry[cls.name] = cls

    def build(self, exits: RolloutExits) -> State:
        raise NotImplementedError


def strategies() -> dict[str, type[RolloutStrategy]]:
    """Every strategy of this package, by name (importing its modules registers them)."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    return dict(sorted(RolloutStrategy.registry.items()))


def choose_rollout(first_deployment: State, exits: RolloutExits) -> Pass:
    """PlanRollout -> ChooseRollout: the first deployment, the configured strategy, or the default one."""
    plan = Pass(
        "PlanRollout",
        result_path="$.rollout",
        parameters={
            "strategy.$": "$.config.rollout.strategy",
            "index": 0,
            "count.$": "States.ArrayLength($.rollout_plan.steps)",
            "current.$": "States.ArrayGetItem($.rollout_plan.steps, 0)",
        },
    )
    choose = Choice("ChooseRollout")
    choose.add_choice(ChoiceRule.BooleanEquals(variable="$.champion.exists", value=False), next_step=first_deployment)
    defaults = [cls for cls in strategies().values() if cls.default]
    if len(defaults) != 1:
        raise ValueError(f"exactly one rollout strategy is the default, not {[cls.name for cls in defaults]}")
    for name, cls in strategies().items():
        if not cls.default:
            choose.add_choice(
                ChoiceRule.StringEquals(variable="$.config.rollout.strategy", value=name),
                next_step=cls().build(exits),
            )
    choose.default_choice(defaults[0]().build(exits))
    plan.next(choose)
    return plan
