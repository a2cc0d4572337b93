"""ModelRegistry: one group per model, numbered versions listed newest first, with the status last decided."""

from __future__ import annotations

import boto3
import pytest

from retrainer.adapters.sagemaker import SageMakerModelRegistry
from retrainer.ports import ModelArtifact, ModelRegistry
from tests.contract.conftest import IMPLEMENTATIONS
from tests.fakes import FakeRegistry

GROUP = "retrainer-churn"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
INSTANCE_TYPES = ("ml.m5.large", "ml.m5.xlarge")


def _artifact(run: str) -> ModelArtifact:
    return ModelArtifact(IMAGE, f"s3://artifacts/models/churn/{run}/output/model.tar.gz")


@pytest.fixture(params=IMPLEMENTATIONS)
def registry(request: pytest.FixtureRequest) -> ModelRegistry:
    if request.param == "fake":
        return FakeRegistry()
    request.getfixturevalue("aws")
    return SageMakerModelRegistry(boto3.client("sagemaker"))


def _register(registry: ModelRegistry, run: str) -> str:
    version = registry.register(
        GROUP, f"{run}: trained", _artifact(run), "s3://r/report.json", {"run_id": run}, INSTANCE_TYPES
    )
    return version.arn


def test_a_model_never_registered_has_no_versions(registry: ModelRegistry) -> None:
    # When the rollout lists the versions of a group nobody created
    # Then there are none (not an error)
    assert registry.versions(GROUP) == []


def test_versions_are_numbered_and_listed_newest_first_awaiting_approval(registry: ModelRegistry) -> None:
    # Given the group, made sure of twice (a retried step), and two trained models registered
    registry.ensure_group(GROUP, "churn models")
    registry.ensure_group(GROUP, "churn models")
    first, second = _register(registry, "churn-9b71d224bd62"), _register(registry, "churn-5d41402abc4b")
    # When the versions are listed
    versions = registry.versions(GROUP)
    # Then the second comes first, both numbered, both awaiting approval, each with its description
    assert [(v.arn, v.version, v.status) for v in versions] == [
        (second, 2, "PendingManualApproval"),
        (first, 1, "PendingManualApproval"),
    ]
    assert versions[0].description == "churn-5d41402abc4b: trained"
    assert first.endswith(f"/{GROUP}/1") and second.endswith(f"/{GROUP}/2")


def test_a_version_points_at_its_model_artifact(registry: ModelRegistry) -> None:
    # Given a registered version
    registry.ensure_group(GROUP, "churn models")
    arn = _register(registry, "churn-9b71d224bd62")
    # When the rollout reads which artifact it holds
    # Then it is the trained model's artifact
    assert registry.artifact_url(arn) == _artifact("churn-9b71d224bd62").model_data_url


def test_a_decided_status_shows_in_the_listing(registry: ModelRegistry) -> None:
    # Given two versions, the first approved and the second rejected
    registry.ensure_group(GROUP, "churn models")
    first, second = _register(registry, "churn-9b71d224bd62"), _register(registry, "churn-5d41402abc4b")
    registry.set_status(first, "Approved", "promoted after the canary", {"promoted_at": "2026-11-22T10:30:00Z"})
    registry.set_status(second, "Rejected", "rolled back: 5XX alarm", {"rejected_at": "2026-11-22T11:00:00Z"})
    # When the versions are listed
    # Then each shows the status last decided (what the next run reads to find the champion)
    assert [(v.version, v.status) for v in registry.versions(GROUP)] == [(2, "Rejected"), (1, "Approved")]


def test_annotating_a_version_keeps_its_status(registry: ModelRegistry, request: pytest.FixtureRequest) -> None:
    if "aws" in request.node.callspec.id:
        pytest.skip("moto clears ModelApprovalStatus when UpdateModelPackage omits it; SageMaker keeps it")
    # Given an approved version
    registry.ensure_group(GROUP, "churn models")
    arn = _register(registry, "churn-9b71d224bd62")
    registry.set_status(arn, "Approved", "promoted after the canary", {})
    # When it is annotated (the champion retired by a later promotion)
    registry.annotate(arn, {"retired_at": "2026-11-22T11:00:00Z"})
    # Then it is still approved
    assert [(v.version, v.status) for v in registry.versions(GROUP)] == [(1, "Approved")]
