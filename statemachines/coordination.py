"""The run's hold on its model: a debounce and a claim of the pending triggers at the start, a release at
every end (CoordinateRunsFunction, `retrainer.services.coordination`)."""

from __future__ import annotations

from stepfunctions.steps import Catch, Chain, Choice, ChoiceRule, LambdaStep, Wait
from stepfunctions.steps.states import State

from retrainer.run_data import ClaimState
from statemachines.tasks import LAMBDA_TRANSIENT, coordinate, failing_to, retry, select

# What ClaimTriggers copies back: the debounce loop's state, field by field from its model.
CLAIM_RESULT = {f"{field}.$": f"$.Payload.{field}" for field in ClaimState.model_fields}


def debounce_then(first_step: State, on_error: State) -> Wait:
    """Wait for a quiet window, then claim every pending trigger of the model (or wait again)."""
    debounce = Wait("Debounce", seconds_path="$.config.quiet_window_seconds")
    claim = select(
        coordinate(
            "ClaimTriggers",
            {"action": "claim", "seen_seq.$": "$.claim.seen_seq", "round.$": "$.claim.round"},
            "$.claim",
        ),
        CLAIM_RESULT,
    )
    claim.add_retry(retry(LAMBDA_TRANSIENT, 2, 4, 120))
    failing_to(claim, on_error)
    settled = Choice("Settled")
    settled.add_choice(ChoiceRule.BooleanEquals(variable="$.claim.settled", value=True), next_step=first_step)
    settled.default_choice(debounce)
    Chain([debounce, claim, settled])
    return debounce


def release_then(state_id: str, outcome: str, end: State) -> LambdaStep:
    """Every end goes through here: give the model back and start the follow-up run if triggers wait."""
    step = select(
        coordinate(state_id, {"action": "release", "outcome": outcome}, "$.release"),
        {"follow_up.$": "$.Payload.follow_up"},
    )
    step.add_retry(retry(LAMBDA_TRANSIENT, 2, 4, 30))
    # The lock expires on its own; an end state must be reached even if the release cannot run.
    step.add_catch(Catch(error_equals=["States.ALL"], next_step=end, result_path="$.release_error"))
    step.next(end)
    return step
