"""The canary's bake: an alarm that fired during the bake stops the rollout, even if it recovered before the check.

Runs the rollout service on the fakes of tests/fakes.py (the alarm fake honours `since`, as CloudWatch's
alarm history does: tests/contract/test_variant_alarms.py holds both to it).
"""

from __future__ import annotations

from typing import Any

import pytest

from retrainer.services.rollout import RolloutAdapters, handle, parse_request
from tests.fakes import FakeAlarms, FakeEndpoints, FakeRegistry, FakeScaling
from tests.samples import load_event

CHECK = load_event("manage_rollout_check_alarms.json")  # the bake began at 2026-11-22T10:00:00.000Z
ERRORS, LATENCY = CHECK["alarm_names"]


@pytest.fixture
def alarms() -> FakeAlarms:
    """Given the challenger's two alarms, put when the canary was prepared."""
    return FakeAlarms()


def check(alarms: FakeAlarms) -> dict[str, Any]:
    adapters = RolloutAdapters(FakeEndpoints(), FakeRegistry(), alarms, FakeScaling())
    return handle(parse_request(CHECK), adapters)


def test_a_quiet_bake_lets_the_canary_go_on(alarms: FakeAlarms) -> None:
    # When the bake checks and no alarm ever fired
    result = check(alarms)
    # Then the canary goes on
    assert result == {"firing": False, "alarms": [], "reason": ""}


def test_an_alarm_that_fired_and_recovered_during_the_bake_stops_the_canary(alarms: FakeAlarms) -> None:
    # Given the 5XX alarm fired three minutes into the bake and recovered a minute later, before the check
    alarms.fire(ERRORS, "Threshold Crossed: 1 datapoint [2.0]", when="2026-11-22T10:03:00Z")
    alarms.recover(ERRORS, when="2026-11-22T10:04:00Z")
    # When the bake checks
    result = check(alarms)
    # Then the canary stops, and the reason names the alarm, that it recovered, and the step it fired at
    assert result["firing"] is True
    assert [(a["name"], a["state"]) for a in result["alarms"]] == [(ERRORS, "ALARM (recovered since)")]
    assert "at the 10% step" in result["reason"] and "Threshold Crossed" in result["reason"]


def test_an_alarm_in_alarm_now_stops_the_canary(alarms: FakeAlarms) -> None:
    # Given the latency alarm went to ALARM during the bake and is still there
    alarms.fire(LATENCY, "Threshold Crossed: latency", when="2026-11-22T10:05:00Z")
    # When the bake checks
    result = check(alarms)
    # Then the canary stops on the latency alarm
    assert result["firing"] is True and [a["name"] for a in result["alarms"]] == [LATENCY]


def test_an_alarm_that_recovered_before_the_bake_began_does_not_stop_it(alarms: FakeAlarms) -> None:
    # Given the 5XX alarm fired and recovered at the previous step, before this bake began at 10:00
    alarms.fire(ERRORS, "Threshold Crossed: earlier step", when="2026-11-22T09:52:00Z")
    alarms.recover(ERRORS, when="2026-11-22T09:53:00Z")
    # When the bake checks
    result = check(alarms)
    # Then this step goes on
    assert result["firing"] is False
