"""Endpoints: configs, models and endpoints as the rollout reads and changes them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from retrainer.adapters.sagemaker import SageMakerEndpoints
from retrainer.errors import EndpointConfigExists
from retrainer.ports import Endpoints, EndpointState, LiveVariant, ModelArtifact, VariantSpec
from tests.contract.conftest import IMPLEMENTATIONS, role_arn
from tests.fakes import FakeEndpoints

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
MODEL = "churn-9b71d224bd62-train-1a2b3c4d"
ARTIFACT = ModelArtifact(IMAGE, f"s3://artifacts/models/churn/{MODEL}/output/model.tar.gz")
CHAMPION = VariantSpec("churn-9b71d224bd62", MODEL, "ml.m5.large", 1, 1.0)
CAPTURE = {
    "EnableCapture": True,
    "InitialSamplingPercentage": 100,
    "DestinationS3Uri": "s3://artifacts/capture",
    "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
}


@dataclass
class World:
    port: Endpoints
    add_model: Callable[[str, ModelArtifact], None]  # CreateModel
    deploy: Callable[[str, str], None]  # CreateEndpoint on a config, InService
    real: bool


def _fake() -> World:
    fake = FakeEndpoints()

    def deploy(endpoint: str, config: str) -> None:
        variants = tuple(
            LiveVariant(v.name, v.model_name, v.instance_type, v.instance_count, v.weight, v.weight)
            for v in fake.configs[config]
        )
        fake.endpoints[endpoint] = EndpointState(endpoint, "InService", config, variants)

    return World(fake, fake.models.__setitem__, deploy, real=False)


def _aws() -> World:
    client: Any = boto3.client("sagemaker")
    role = role_arn()

    def add_model(name: str, artifact: ModelArtifact) -> None:
        container = {"Image": artifact.image, "ModelDataUrl": artifact.model_data_url}
        client.create_model(ModelName=name, PrimaryContainer=container, ExecutionRoleArn=role)

    def deploy(endpoint: str, config: str) -> None:
        client.create_endpoint(EndpointName=endpoint, EndpointConfigName=config)

    return World(SageMakerEndpoints(client), add_model, deploy, real=True)


@pytest.fixture(params=IMPLEMENTATIONS)
def world(request: pytest.FixtureRequest) -> World:
    """Given the champion's SageMaker model."""
    if request.param == "fake":
        subject = _fake()
    else:
        request.getfixturevalue("aws")
        subject = _aws()
    subject.add_model(MODEL, ARTIFACT)
    return subject


def test_what_does_not_exist_reads_as_none(world: World) -> None:
    # When the rollout reads an endpoint, a config and a model nobody created
    # Then each reads as absent, not as an error
    assert world.port.describe("retrainer-nobody") is None
    assert world.port.config_variants("nobody-live") is None
    assert world.port.model_artifact("nobody-train-00000000") is None


def test_a_model_reads_back_its_image_and_artifact(world: World) -> None:
    # When the rollout reads the champion's model
    # Then it finds the container image and the model artifact it was created with
    assert world.port.model_artifact(MODEL) == ARTIFACT


def test_a_created_config_reads_back_its_variants(world: World) -> None:
    # When the live config is created
    world.port.create_config("churn-9b71d224bd62-live", [CHAMPION], CAPTURE)
    # Then its variants read back as given
    assert world.port.config_variants("churn-9b71d224bd62-live") == [CHAMPION]


def test_an_endpoint_reads_as_its_config_says_with_live_weights(world: World) -> None:
    # Given the endpoint deployed on the live config
    world.port.create_config("churn-9b71d224bd62-live", [CHAMPION], CAPTURE)
    world.deploy("retrainer-churn", "churn-9b71d224bd62-live")
    # When the rollout describes it
    state = world.port.describe("retrainer-churn")
    # Then it serves the champion's variant, with the config's model and instance type, all the traffic
    assert state is not None and state.status == "InService" and state.config_name == "churn-9b71d224bd62-live"
    [variant] = state.variants
    assert (variant.name, variant.model_name, variant.instance_type) == (CHAMPION.name, MODEL, "ml.m5.large")
    assert variant.current_weight == variant.desired_weight == 1.0


def test_deleting_a_config_twice_reports_it_was_already_gone(world: World) -> None:
    # Given a canary config
    world.port.create_config("churn-5d41402abc4b-canary", [CHAMPION], CAPTURE)
    # When it is deleted twice (a retried clean-up)
    first, again = (
        world.port.delete_config("churn-5d41402abc4b-canary"),
        world.port.delete_config("churn-5d41402abc4b-canary"),
    )
    # Then the first call deleted it and the second found it gone
    assert (first, again) == (True, False)
    assert world.port.config_variants("churn-5d41402abc4b-canary") is None


def test_deleting_a_model_that_is_gone_is_not_an_error(world: World) -> None:
    # When the champion's model is deleted twice
    world.port.delete_model(MODEL)
    world.port.delete_model(MODEL)
    # Then it is gone, and the second delete raised nothing
    assert world.port.model_artifact(MODEL) is None


def test_a_config_name_is_taken_once(world: World) -> None:
    if world.real:
        pytest.skip("moto overwrites an existing endpoint config; SageMaker refuses it (the offline runtime pins it)")
    # Given a canary config
    world.port.create_config("churn-5d41402abc4b-canary", [CHAMPION], CAPTURE)
    # When a config of the same name is created again
    # Then it is refused with the domain error a retried step recognises
    with pytest.raises(EndpointConfigExists):
        world.port.create_config("churn-5d41402abc4b-canary", [CHAMPION], CAPTURE)
