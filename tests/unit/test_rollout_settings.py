"""The rollout section of a model's configuration: defaults, overrides, and what is refused."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from retrainer.pipeline_config import ModelOverrides, PipelineConfig
from retrainer.run_data import ENDPOINT_POLL_SECONDS, RetrainingRequest, poll_budget, restore_budget
from retrainer.settings import PipelineDefaults
from tests.samples import ENVIRONMENT


def _apply(document: dict[str, object]) -> PipelineConfig:
    return ModelOverrides.model_validate(document).apply_to(PipelineConfig())


def test_defaults_are_a_10_50_100_canary_with_a_small_margin_against_the_champion() -> None:
    # Given no configuration at all
    config = PipelineConfig()
    # Then a run canaries at 10, 50, 100 % and lets a challenger a little worse than the champion through
    assert config.rollout.strategy == "weights" and config.rollout.canary_steps == (10, 50, 100)
    assert config.min_gain_over_champion == -0.005
    assert config.rollout.alarms.max_5xx_errors == 1 and config.rollout.alarms.max_model_latency_ms == 500


def test_a_model_document_changes_only_what_it_names_nested_sections_merge() -> None:
    # Given a model document that names two rollout fields, one of them nested
    # When it is applied over the defaults
    config = _apply({"rollout": {"canary_steps": [5, 100], "alarms": {"max_model_latency_ms": 200}}})
    # Then those change and their neighbours keep their defaults
    assert config.rollout.canary_steps == (5, 100)
    assert config.rollout.alarms.max_model_latency_ms == 200 and config.rollout.alarms.max_5xx_errors == 1
    assert config.rollout.bake_seconds == 600


@pytest.mark.parametrize(
    ("rollout", "message"),
    [
        ({"canary_steps": [10, 50]}, "must end at 100"),
        ({"canary_steps": [50, 10, 100]}, "strictly increase"),
        ({"canary_steps": [0, 100]}, "between 1 and 100"),
        ({"strategy": "yolo"}, "strategy"),
        ({"bake_seconds": 3600, "canary_steps": [5, 10, 20, 40, 60, 80, 100]}, "could take"),
        ({"blue_green": {"traffic": "LINEAR", "step_percent": 5}}, "10-50"),
        ({"autoscaling": {"min_capacity": 5, "max_capacity": 2}}, "min_capacity"),
        ({"alarms": {"max_5xx_errors": 0}}, "max_5xx_errors"),
        ({"canary_step": [10, 100]}, "canary_step"),
    ],
)
def test_a_rollout_that_cannot_work_is_refused_naming_the_field(rollout: dict[str, object], message: str) -> None:
    # Given a rollout section that cannot work; When it is applied; Then it is refused, naming the field
    with pytest.raises(ValidationError, match=message):
        _apply({"rollout": rollout})


def test_the_run_plan_gives_each_step_its_weights_and_a_poll_budget() -> None:
    # Given the stack's defaults (update timeout 1800 s)
    defaults = PipelineDefaults.model_validate(ENVIRONMENT)
    request = RetrainingRequest.model_validate(
        {
            "run_id": "churn-5d41402abc4b",
            "model_name": "churn",
            "endpoint_name": "retrainer-churn",
            "correlation_id": "c",
            "trigger": {"kind": "s3_upload", "event_id": "e", "source": "s3://b/k.csv"},
            "data": {"bucket": "b", "prefix": "incoming/churn/"},
            "config": defaults.pipeline_config().model_dump(),
            "paths": {
                "preprocessed": "s3://a/p",
                "model_output": "s3://a/m",
                "transform_output": "s3://a/e",
                "data_capture": "s3://a/c",
            },
        }
    )
    # When the run's input is built
    plan = request.model_dump()["rollout_plan"]
    # Then it carries each canary step's weights, which the state machine cannot compute (no subtraction in ASL)
    assert plan == {
        "steps": [
            {"challenger": 10, "champion": 90},
            {"challenger": 50, "champion": 50},
            {"challenger": 100, "champion": 0},
        ]
    }
    assert request.paths.champion_transform_output == "s3://a/e-champion"
    # And the endpoint checks get their budgets from the timeouts the state machine passes on
    timeout = request.config.rollout.update_timeout_seconds
    assert poll_budget(timeout, ENDPOINT_POLL_SECONDS) == 60
    assert restore_budget(timeout, ENDPOINT_POLL_SECONDS) == 2 * 3600 // ENDPOINT_POLL_SECONDS
    assert poll_budget(10, ENDPOINT_POLL_SECONDS) == 2


def test_stack_parameters_that_make_no_valid_rollout_fail_at_cold_start() -> None:
    # Given stack parameters whose canary does not end at 100 %; Then the function refuses to start
    with pytest.raises(ValidationError, match=r"pipeline defaults are invalid: canary_steps: .*must end at 100"):
        PipelineDefaults.model_validate({**ENVIRONMENT, "CANARY_STEPS": "10,50"})
