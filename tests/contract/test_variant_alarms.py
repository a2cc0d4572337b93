"""VariantAlarms: alarms in ALARM now, or that went to ALARM since the bake began and came back, are reported."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import boto3
import pytest

from retrainer.adapters.cloudwatch_alarms import CloudWatchVariantAlarms
from retrainer.ports import AlarmSpec, VariantAlarms
from tests.contract.conftest import IMPLEMENTATIONS
from tests.fakes import FakeAlarms, now_iso

ERRORS = "retrainer-rollout-churn-5d41402abc4b-5xx"
LATENCY = "retrainer-rollout-churn-5d41402abc4b-latency"


@dataclass
class Alarms:
    port: VariantAlarms
    fire: Callable[[str, str], None]  # the alarm goes to ALARM with a reason (CloudWatch: SetAlarmState)
    recover: Callable[[str], None]  # and back to OK


def _spec(name: str, metric: str) -> AlarmSpec:
    dimensions = {"EndpointName": "retrainer-churn", "VariantName": "churn-5d41402abc4b"}
    return AlarmSpec(
        name, f"{metric} of the challenger", metric, "Sum", dimensions, 1.0, "GreaterThanOrEqualToThreshold", 1
    )


def _set_state(state: str) -> Callable[..., None]:
    def change(name: str, reason: str = "recovered") -> None:
        boto3.client("cloudwatch").set_alarm_state(AlarmName=name, StateValue=state, StateReason=reason)

    return change


@pytest.fixture(params=IMPLEMENTATIONS)
def alarms(request: pytest.FixtureRequest) -> Iterator[Alarms]:
    """Given the challenger's two alarms, put and never fired."""
    if request.param == "fake":
        fake = FakeAlarms()
        subject = Alarms(fake, fake.fire, fake.recover)
    else:
        request.getfixturevalue("alarm_history")
        subject = Alarms(CloudWatchVariantAlarms(boto3.client("cloudwatch")), _set_state("ALARM"), _set_state("OK"))
    subject.port.put([_spec(ERRORS, "Invocation5XXErrors"), _spec(LATENCY, "ModelLatency")])
    yield subject


def _a_moment_later() -> str:
    time.sleep(0.01)  # CloudWatch stamps state changes in milliseconds: `since` must come strictly after
    return now_iso()


def test_alarms_that_never_fired_are_not_reported(alarms: Alarms) -> None:
    # When the bake asks which alarms fired since it began
    fired = alarms.port.in_alarm([ERRORS, LATENCY], since=now_iso())
    # Then none did
    assert fired == []


def test_an_alarm_in_alarm_now_is_reported_with_its_reason(alarms: Alarms) -> None:
    # Given the bake began, then the 5XX alarm fired
    since = now_iso()
    alarms.fire(ERRORS, "Threshold Crossed: 1 datapoint [3.0]")
    # When the bake checks
    fired = alarms.port.in_alarm([ERRORS, LATENCY], since=since)
    # Then the 5XX alarm is reported, in ALARM, with CloudWatch's reason
    assert [(a.name, a.state, a.reason) for a in fired] == [(ERRORS, "ALARM", "Threshold Crossed: 1 datapoint [3.0]")]


def test_an_alarm_that_fired_and_recovered_since_the_bake_began_is_still_reported(alarms: Alarms) -> None:
    # Given the bake began, then the latency alarm fired and recovered before the next check
    since = now_iso()
    alarms.fire(LATENCY, "Threshold Crossed: latency")
    alarms.recover(LATENCY)
    # When the bake checks
    fired = alarms.port.in_alarm([ERRORS, LATENCY], since=since)
    # Then the latency alarm is reported as having fired, with the reason it fired for
    assert [(a.name, a.state, a.reason) for a in fired] == [
        (LATENCY, "ALARM (recovered since)", "Threshold Crossed: latency")
    ]


def test_an_alarm_that_fired_and_recovered_before_the_bake_began_is_not_reported(alarms: Alarms) -> None:
    # Given the latency alarm fired and recovered, and only then the bake began
    alarms.fire(LATENCY, "Threshold Crossed: latency")
    alarms.recover(LATENCY)
    since = _a_moment_later()
    # When the bake checks
    fired = alarms.port.in_alarm([ERRORS, LATENCY], since=since)
    # Then nothing fired during this bake
    assert fired == []


def test_alarms_are_reported_in_the_order_asked_and_only_those_asked(alarms: Alarms) -> None:
    # Given both alarms fired during the bake
    since = now_iso()
    alarms.fire(LATENCY, "latency")
    alarms.fire(ERRORS, "errors")
    # When the bake asks for both, and then for the 5XX alarm alone
    both = alarms.port.in_alarm([ERRORS, LATENCY], since=since)
    errors_only = alarms.port.in_alarm([ERRORS], since=since)
    # Then both come in the order asked, and a question about one alarm is answered about that one only
    assert [a.name for a in both] == [ERRORS, LATENCY]
    assert [a.name for a in errors_only] == [ERRORS]
    assert alarms.port.in_alarm([], since=since) == []
