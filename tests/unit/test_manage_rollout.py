"""manage_rollout: the rollout's decisions, on in-memory fakes of the ports (sample events from events/)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

import pytest

from retrainer.errors import EndpointBusy, EndpointConfigConflict, InvalidRolloutRequest
from retrainer.ports import AlarmEvent, EndpointState, LiveVariant, ModelArtifact, ModelVersion, VariantSpec
from retrainer.run_data import Champion, RegistryEntry, RolloutGuards
from retrainer.services.rollout import RolloutAdapters, handle, parse_request
from tests.fakes import FakeAlarms, FakeEndpoints, FakeRegistry, FakeScaling
from tests.samples import ROOT, load_event

ENDPOINT = "retrainer-churn"
CHAMPION = "churn-9b71d224bd62"
CHALLENGER = "churn-5d41402abc4b"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


def _url(model: str) -> str:
    return f"s3://artifacts/models/churn/{model}/output/model.tar.gz"


@dataclass
class World:
    endpoints: FakeEndpoints
    registry: FakeRegistry
    alarms: FakeAlarms
    scaling: FakeScaling

    @property
    def adapters(self) -> RolloutAdapters:
        return RolloutAdapters(self.endpoints, self.registry, self.alarms, self.scaling)

    def run(self, event: dict[str, Any]) -> dict[str, Any]:
        return handle(parse_request(event), self.adapters)


def _variant(name: str, weight: float, model: str | None = None) -> LiveVariant:
    return LiveVariant(name, model or f"{name}-train-1a2b3c4d", "ml.m5.large", 1, weight, weight)


@pytest.fixture
def world() -> World:
    """Given the churn endpoint serving the champion alone, an approved version in the registry."""
    endpoints = FakeEndpoints()
    champion_model = f"{CHAMPION}-train-1a2b3c4d"
    endpoints.models[champion_model] = ModelArtifact(IMAGE, _url(champion_model))
    endpoints.models[f"{CHALLENGER}-train-9f8e7d6c"] = ModelArtifact(IMAGE, _url(f"{CHALLENGER}-train-9f8e7d6c"))
    endpoints.configs[f"{CHAMPION}-live"] = [VariantSpec(CHAMPION, champion_model, "ml.m5.large", 1, 1.0)]
    endpoints.endpoints[ENDPOINT] = EndpointState(ENDPOINT, "InService", f"{CHAMPION}-live", (_variant(CHAMPION, 1.0),))
    registry = FakeRegistry()
    group = "arn:aws:sagemaker:us-east-1:123456789012:model-package/retrainer-churn"
    registry.versions_by_group["retrainer-churn"] = [
        ModelVersion(f"{group}/1", 1, "Approved", "old"),
        ModelVersion(f"{group}/3", 3, "Approved", f"{CHAMPION}: trained"),
    ]
    registry.artifacts = {f"{group}/1": _url("old-model"), f"{group}/3": _url(champion_model)}
    return World(endpoints, registry, FakeAlarms(), FakeScaling({CHAMPION}))


# ---------------------------------------------------------------- the champion
def test_champion_is_the_serving_variant_and_matches_the_registry(world: World) -> None:
    # When the rollout looks for the champion
    champion = world.run(load_event("manage_rollout_find_champion.json"))
    # Then it is the endpoint's variant, with its config, model and registry version
    assert champion["exists"] is True
    assert champion["variant_name"] == CHAMPION and champion["endpoint_config_name"] == f"{CHAMPION}-live"
    assert champion["model_package_arn"].endswith("/3") and champion["registry_consistent"] is True
    # And only the newest approved version's artifact had to be read
    assert [arn.rsplit("/", 1)[1] for arn in world.registry.looked_up] == ["3"]


def test_no_endpoint_means_a_first_deployment(world: World) -> None:
    # Given no endpoint yet; When the champion is looked for; Then there is none: a first deployment
    world.endpoints.endpoints.clear()
    champion = world.run(load_event("manage_rollout_find_champion.json"))
    assert champion["exists"] is False and "first deployment" in champion["note"]


def test_a_champion_missing_from_the_registry_is_flagged(world: World) -> None:
    # Given a serving model with no approved version; When the champion is looked for; Then it is flagged
    world.registry.versions_by_group["retrainer-churn"] = []
    champion = world.run(load_event("manage_rollout_find_champion.json"))
    assert champion["exists"] is True and champion["registry_consistent"] is False
    assert "not an approved version" in champion["note"]


def test_an_updating_endpoint_is_waited_for(world: World) -> None:
    # Given an endpoint being updated; When the champion is looked for; Then EndpointBusy (the ASL retries it)
    world.endpoints.endpoints[ENDPOINT] = replace(world.endpoints.endpoints[ENDPOINT], status="Updating")
    with pytest.raises(EndpointBusy, match="Updating"):
        world.run(load_event("manage_rollout_find_champion.json"))


def test_after_a_rollout_died_half_way_the_approved_model_is_the_champion(world: World) -> None:
    # Given an endpoint left with two variants, the unapproved one taking more traffic
    stray = f"{CHALLENGER}-train-9f8e7d6c"
    world.endpoints.endpoints[ENDPOINT] = EndpointState(
        ENDPOINT, "InService", "x-canary", (_variant(CHAMPION, 40.0), _variant(CHALLENGER, 60.0, stray))
    )
    world.endpoints.configs["x-canary"] = [
        VariantSpec(CHAMPION, f"{CHAMPION}-train-1a2b3c4d", "ml.m5.large", 1, 40),
        VariantSpec(CHALLENGER, stray, "ml.m5.large", 1, 60),
    ]
    champion = world.run(load_event("manage_rollout_find_champion.json"))
    assert champion["variant_name"] == CHAMPION


# ---------------------------------------------------------------- registry
def test_registering_twice_for_one_run_keeps_one_version(world: World) -> None:
    # Given a registration retried for one run; When it runs twice; Then the registry holds one version
    event = {
        "action": "register_model",
        "run_id": CHALLENGER,
        "model_package_group": "retrainer-churn",
        "model_name": "churn",
        "sagemaker_model": f"{CHALLENGER}-train-9f8e7d6c",
        "data": "s3://data/incoming/churn/",
        "report_uri": "s3://artifacts/runs/churn/x/evaluation-report.json",
        "triggers": [{"trigger_id": "t1", "source": "s3://data/incoming/churn/a.csv"}],
        "endpoint_instance_type": "ml.m5.large",
        "transform_instance_type": "ml.m5.xlarge",
    }
    first = world.run(event)
    again = world.run(event)  # a retried step
    assert first == again and first["version"] == 3
    assert len(world.registry.versions_by_group["retrainer-churn"]) == 3


# ---------------------------------------------------------------- canary guards
def test_challenger_alarms_watch_its_variant_with_the_documented_thresholds(world: World) -> None:
    # Given a challenger variant; When its guards are prepared; Then its two alarms use the documented thresholds
    result = world.run(
        {
            "action": "prepare_rollout",
            "run_id": CHALLENGER,
            "endpoint_name": ENDPOINT,
            "variant_name": CHALLENGER,
            "alarm_prefix": "retrainer-rollout-",
            "alarms": {"max_5xx_errors": 1, "max_model_latency_ms": 500, "latency_periods": 2},
        }
    )
    errors, latency = world.alarms.put_specs
    assert (
        result["alarm_names"]
        == [errors.name, latency.name]
        == [
            f"retrainer-rollout-{CHALLENGER}-5xx",
            f"retrainer-rollout-{CHALLENGER}-latency",
        ]
    )
    assert (errors.metric_name, errors.statistic, errors.threshold, errors.comparison) == (
        "Invocation5XXErrors",
        "Sum",
        1.0,
        "GreaterThanOrEqualToThreshold",
    )
    assert (latency.metric_name, latency.threshold, latency.periods) == ("ModelLatency", 500_000.0, 2)
    assert errors.dimensions == {"EndpointName": ENDPOINT, "VariantName": CHALLENGER}
    # And the blue/green DeploymentConfig rolls back on the same alarms
    policy = result["deployment_config"]
    assert policy["AutoRollbackConfiguration"]["Alarms"] == [{"AlarmName": n} for n in result["alarm_names"]]
    assert policy["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]["Type"] == "CANARY"


def test_an_alarm_that_fired_during_the_bake_stops_the_canary(world: World) -> None:
    # Given an alarm that fired during the bake; When alarms are checked; Then the canary is told to stop
    event = load_event("manage_rollout_check_alarms.json")
    assert world.run(event)["firing"] is False
    world.alarms.firing = [AlarmEvent(event["alarm_names"][0], "ALARM", "2026-11-22T10:03:00Z", "Threshold Crossed")]
    result = world.run(event)
    assert result["firing"] is True
    assert "at the 10% step" in result["reason"] and event["alarm_names"][0] in result["reason"]


# ---------------------------------------------------------------- configs and verification
def test_a_retried_config_step_reuses_its_config_and_never_takes_another(world: World) -> None:
    # Given a config step retried after it created its config; Then it reuses it, and refuses one with other variants
    event = {
        "action": "ensure_config",
        "config_name": f"{CHALLENGER}-canary",
        "variants": [
            {"name": CHAMPION, "model_name": "m1", "instance_type": "ml.m5.large", "instance_count": 1, "weight": 90},
            {"name": CHALLENGER, "model_name": "m2", "instance_type": "ml.m5.large", "instance_count": 1, "weight": 10},
        ],
        "data_capture": {"EnableCapture": True},
    }
    assert world.run(event)["created"] is True
    assert world.run(event)["created"] is False  # the first attempt went through; its answer was lost
    assert [c for c in world.endpoints.calls if c[0] == "create_config"] == [("create_config", f"{CHALLENGER}-canary")]
    other = {**event, "variants": event["variants"][:1]}
    with pytest.raises(EndpointConfigConflict):
        world.run(other)


def _on(world: World, status: str, config: str, variants: tuple[LiveVariant, ...], reason: str = "") -> None:
    world.endpoints.endpoints[ENDPOINT] = EndpointState(ENDPOINT, status, config, variants, reason)


def test_verification_waits_then_confirms_config_and_weights(world: World) -> None:
    # Given an endpoint updating, then InService on the canary; When verified; Then waiting, then ready with its weights
    event = load_event("manage_rollout_verify_endpoint.json")
    canary = (_variant(CHAMPION, 90.0), _variant(CHALLENGER, 10.0))
    _on(world, "Updating", f"{CHAMPION}-live", (_variant(CHAMPION, 1.0),))
    assert world.run(event)["state"] == "waiting"
    _on(world, "InService", f"{CHALLENGER}-canary", canary)
    result = world.run(event)
    assert result["state"] == "ready" and result["weights"] == {CHAMPION: 90.0, CHALLENGER: 10.0}


def test_a_silent_rollback_is_a_mismatch_not_a_success(world: World) -> None:
    # Given SageMaker put the endpoint back on the champion's config after our UpdateEndpoint
    _on(world, "InService", f"{CHAMPION}-live", (_variant(CHAMPION, 1.0),), "Model failed health checks")
    result = world.run(load_event("manage_rollout_verify_endpoint.json"))
    assert result["state"] == "mismatch"
    assert f"not on {CHALLENGER}-canary" in result["reason"] and "Model failed health checks" in result["reason"]


def test_weights_that_did_not_take_are_a_mismatch(world: World) -> None:
    # Given the canary config live with other weights than applied; When verified; Then a mismatch
    _on(world, "InService", f"{CHALLENGER}-canary", (_variant(CHAMPION, 50.0), _variant(CHALLENGER, 50.0)))
    result = world.run(load_event("manage_rollout_verify_endpoint.json"))
    assert result["state"] == "mismatch" and "weights" in result["reason"]


def test_an_update_that_never_finishes_times_out(world: World) -> None:
    # Given an endpoint still updating at the last look of its budget; When verified; Then a timeout
    _on(world, "Updating", f"{CHAMPION}-live", (_variant(CHAMPION, 1.0),))
    event = {**load_event("manage_rollout_verify_endpoint.json"), "polls": 59}
    result = world.run(event)
    assert result["state"] == "timeout" and "after 60 checks" in result["reason"]


def test_a_failed_endpoint_is_reported_with_sagemakers_reason(world: World) -> None:
    # Given a Failed endpoint; When verified; Then failed, with SageMaker's reason
    _on(world, "Failed", f"{CHALLENGER}-canary", (), "Image pull failed")
    result = world.run(load_event("manage_rollout_verify_endpoint.json"))
    assert result["state"] == "failed" and "Image pull failed" in result["reason"]


# ---------------------------------------------------------------- bringing the champion back
def test_restore_moves_traffic_first_then_the_config_then_reports_restored(world: World) -> None:
    event = load_event("manage_rollout_plan_restore.json")
    # Given the canary at 50% when an alarm fired
    _on(world, "InService", f"{CHALLENGER}-canary", (_variant(CHAMPION, 50.0), _variant(CHALLENGER, 50.0)))
    # When the restore is planned
    first = world.run(event)
    # Then the traffic comes off the challenger first, as weights the state machine sets
    assert first["state"] == "shift_weights"
    assert first["weights"] == [
        {"VariantName": CHAMPION, "DesiredWeight": 1.0},
        {"VariantName": CHALLENGER, "DesiredWeight": 0.0},
    ]
    # When the weights took, the champion's own config comes next
    _on(world, "InService", f"{CHALLENGER}-canary", (_variant(CHAMPION, 1.0), _variant(CHALLENGER, 0.0)))
    second = world.run({**event, "polls": first["polls"]})
    assert second["state"] == "switch_config" and second["champion_config"] == f"{CHAMPION}-live"
    # Then, once InService on it, the champion is restored
    _on(world, "InService", f"{CHAMPION}-live", (_variant(CHAMPION, 1.0),))
    assert world.run({**event, "polls": second["polls"]})["state"] == "restored"
    # And the function itself never changed the endpoint: the state machine owns every change
    assert world.endpoints.calls == []


def test_restore_waits_for_an_endpoint_that_is_updating_then_gives_up_in_time(world: World) -> None:
    # Given an endpoint still updating
    _on(world, "Updating", f"{CHALLENGER}-canary", (_variant(CHAMPION, 90.0), _variant(CHALLENGER, 10.0)))
    event = load_event("manage_rollout_plan_restore.json")
    # When the restore is planned, Then it waits, changing nothing
    assert world.run(event)["state"] == "waiting" and world.endpoints.calls == []
    # And after the patience (at least 2 h of 30 s looks) it says the champion did not come back
    result = world.run({**event, "polls": 2 * 3600 // 30 - 1})
    assert result["state"] == "timeout" and "not back after 240 checks" in result["action"]


def test_reject_marks_the_version_and_gives_the_champion_its_scaling_back(world: World) -> None:
    # Given a rolled-back challenger; When rejected; Then Rejected, its configs and alarms gone, the champion scaled
    world.scaling.registered.clear()  # released before the final update
    champion = load_event("manage_rollout_plan_restore.json")["champion"]
    world.endpoints.configs[f"{CHALLENGER}-canary"] = []
    result = world.run(
        {
            "action": "reject",
            "run_id": CHALLENGER,
            "model_package_arn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/retrainer-churn/4",
            "reason": "challenger alarm fired at the 10% step",
            "endpoint_name": ENDPOINT,
            "champion": champion,
            "challenger_variant": CHALLENGER,
            "configs": [f"{CHALLENGER}-canary", f"{CHALLENGER}-live"],
            "alarm_names": [f"retrainer-rollout-{CHALLENGER}-5xx"],
        }
    )
    assert world.registry.statuses[result["rejected"]][0] == "Rejected"
    assert result["deleted_configs"] == [f"{CHALLENGER}-canary"]  # the live config was never created
    assert world.alarms.deleted == [f"retrainer-rollout-{CHALLENGER}-5xx"]
    assert world.scaling.registered == {CHAMPION}


def test_promotion_approves_scales_and_retires_the_champion(world: World) -> None:
    # Given the challenger live alone; When promoted; Then Approved and scaled, the old champion retired
    champion = load_event("manage_rollout_plan_restore.json")["champion"]
    _on(world, "InService", f"{CHALLENGER}-live", (_variant(CHALLENGER, 1.0),))
    result = world.run(
        {
            "action": "promote",
            "run_id": CHALLENGER,
            "model_package_arn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/retrainer-churn/4",
            "endpoint_name": ENDPOINT,
            "variant_name": CHALLENGER,
            "champion": champion,
            "configs": [f"{CHALLENGER}-canary", f"{CHAMPION}-live", f"{CHALLENGER}-live"],
            "champion_alarm_prefix": "retrainer-rollout-",
            "metrics": {"auc": 0.97},
        }
    )
    assert world.registry.statuses[result["approved"]][0] == "Approved"
    assert world.scaling.registered == {CHALLENGER}
    # The live config is never deleted; the champion's model goes (its artifact stays in the registry)
    assert f"{CHALLENGER}-live" not in result["deleted_configs"]
    assert ("delete_model", f"{CHAMPION}-train-1a2b3c4d") in world.endpoints.calls
    assert world.alarms.deleted == [f"retrainer-rollout-{CHAMPION}-5xx", f"retrainer-rollout-{CHAMPION}-latency"]


# ---------------------------------------------------------------- the handler
def test_a_malformed_payload_is_a_named_error() -> None:
    # Given payloads the state machine should never send; Then each is a named error naming the field
    with pytest.raises(InvalidRolloutRequest, match="timeout_seconds"):
        parse_request({**load_event("manage_rollout_verify_endpoint.json"), "timeout_seconds": 0})
    with pytest.raises(InvalidRolloutRequest):
        parse_request({"action": "launch_rockets"})


def test_a_config_made_by_hand_is_never_deleted(world: World) -> None:
    # Given a champion first deployed by hand, on a config another endpoint may share
    world.endpoints.configs["shared-prod-config"] = []
    champion = {
        **load_event("manage_rollout_plan_restore.json")["champion"],
        "endpoint_config_name": "shared-prod-config",
    }
    _on(world, "InService", f"{CHALLENGER}-live", (_variant(CHALLENGER, 1.0),))
    # When the challenger is promoted
    result = world.run(
        {
            "action": "promote",
            "run_id": CHALLENGER,
            "model_package_arn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/retrainer-churn/4",
            "endpoint_name": ENDPOINT,
            "variant_name": CHALLENGER,
            "champion": champion,
            "configs": [f"{CHALLENGER}-canary", "shared-prod-config"],
        }
    )
    # Then that config stays
    assert "shared-prod-config" in world.endpoints.configs and result["deleted_configs"] == []


def test_answers_that_land_in_the_run_state_are_what_its_models_hold(world: World) -> None:
    # Given the actions whose answers the state machine keeps in the run's state (retrainer.run_data)
    champion = world.run(load_event("manage_rollout_find_champion.json"))
    registry = world.run(
        {
            "action": "register_model",
            "run_id": CHALLENGER,
            "model_package_group": "retrainer-churn",
            "model_name": "churn",
            "sagemaker_model": f"{CHALLENGER}-train-9f8e7d6c",
            "data": "s3://data/incoming/churn/",
            "report_uri": "s3://artifacts/report.json",
            "endpoint_instance_type": "ml.m5.large",
            "transform_instance_type": "ml.m5.xlarge",
        }
    )
    guards = world.run(
        {"action": "prepare_rollout", "endpoint_name": ENDPOINT, "variant_name": CHALLENGER, "alarm_prefix": "r-"}
    )
    # Then each answer is exactly its model's fields ($.champion, $.registry, $.guards)
    assert set(champion) == set(Champion.model_fields) and Champion.model_validate(champion).exists
    assert set(registry) == set(RegistryEntry.model_fields) and RegistryEntry.model_validate(registry).version > 0
    assert set(guards) == set(RolloutGuards.model_fields) and RolloutGuards.model_validate(guards).alarm_names


def _read_by_the_workflow(result_path: str) -> set[str]:
    """Every field the rendered ASL reads under `result_path` (`$.restore.state` -> `state`)."""
    text = (ROOT / "statemachines" / "retraining.asl.json").read_text()
    return set(re.findall(re.escape(result_path) + r"\.([a-z_]+)", text))


def test_every_field_the_workflow_reads_from_an_answer_is_in_that_answer(world: World) -> None:
    # Given the answers of the looping actions: verification, restore planning, alarm checks
    _on(world, "InService", f"{CHALLENGER}-canary", (_variant(CHAMPION, 50.0), _variant(CHALLENGER, 50.0)))
    answers = {
        "$.endpoint_check": world.run(load_event("manage_rollout_verify_endpoint.json")),
        "$.restore": world.run(load_event("manage_rollout_plan_restore.json")),
        "$.alarm_check": world.run(load_event("manage_rollout_check_alarms.json")),
    }
    # Then every field the state machine reads from them (Choices, notices, next payloads) is there
    for result_path, answer in answers.items():
        assert _read_by_the_workflow(result_path) <= set(answer), (result_path, set(answer))
