"""manage_rollout's handler on the deployed stack's settings in moto (the decisions: tests/unit/test_manage_rollout.py)."""

from __future__ import annotations

from functions.manage_rollout import app
from tests.aws_stack import Stack
from tests.samples import FakeContext, load_event


def test_handler_finds_no_champion_on_a_fresh_account(stack: Stack, context: FakeContext) -> None:
    # Given the deployed stack's settings and no endpoint yet (moto)
    # When the handler looks for the champion with the sample payload
    result = app.lambda_handler(load_event("manage_rollout_find_champion.json"), context)
    # Then the run is a first deployment
    assert result["exists"] is False
