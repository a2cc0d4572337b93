"""VariantScaling: a variant's scalable target and policy are registered once and removed once."""

from __future__ import annotations

import boto3
import pytest

from retrainer.adapters.application_autoscaling import ApplicationAutoScalingVariants
from retrainer.ports import VariantScaling
from tests.contract.conftest import IMPLEMENTATIONS
from tests.fakes import FakeScaling

ENDPOINT = "retrainer-churn"


@pytest.fixture(params=IMPLEMENTATIONS)
def scaling(request: pytest.FixtureRequest) -> VariantScaling:
    if request.param == "fake":
        return FakeScaling()
    request.getfixturevalue("aws")
    return ApplicationAutoScalingVariants(boto3.client("application-autoscaling"))


def test_a_variant_without_scaling_has_nothing_to_remove(scaling: VariantScaling) -> None:
    # When scaling is removed from a variant that never had any
    removed = scaling.deregister(ENDPOINT, "churn-9b71d224bd62")
    # Then nothing was there
    assert removed is False


def test_registered_scaling_is_removed_once(scaling: VariantScaling) -> None:
    # Given the champion scales between one and four instances
    scaling.register(ENDPOINT, "churn-9b71d224bd62", 1, 4, 70.0, (300, 60))
    # When its scaling is removed twice (a retried step), and another variant's once
    first, again = (
        scaling.deregister(ENDPOINT, "churn-9b71d224bd62"),
        scaling.deregister(ENDPOINT, "churn-9b71d224bd62"),
    )
    other = scaling.deregister(ENDPOINT, "churn-5d41402abc4b")
    # Then the first call removed it, the retry found nothing, and the other variant was never touched
    assert (first, again, other) == (True, False, False)


def test_registering_again_replaces_the_target(scaling: VariantScaling) -> None:
    # Given a variant registered twice (a retried step), with new limits the second time
    scaling.register(ENDPOINT, "churn-5d41402abc4b", 1, 2, 70.0, (300, 60))
    scaling.register(ENDPOINT, "churn-5d41402abc4b", 1, 6, 50.0, (300, 60))
    # When its scaling is removed
    # Then one target was there and one removal clears it
    assert scaling.deregister(ENDPOINT, "churn-5d41402abc4b") is True
    assert scaling.deregister(ENDPOINT, "churn-5d41402abc4b") is False
