"""The safe rollout, offline with real models: champion vs challenger, weighted canary, rollback.

One model (`canary`) gets a weak champion first; each scenario then retrains it (a drift alarm on
the bus) while a client invokes the endpoint continuously, and checks what production saw.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from retrainer_offline.runtime import ExecutionReport, OfflineRuntime
from retrainer_offline.sagemaker.traffic import Traffic
from retrainer_offline.sample_data.alarm_events import drift_alarm_event
from tests.offline.conftest import Notifications

pytestmark = pytest.mark.e2e

MODEL = "canary"
ENDPOINT = f"retrainer-{MODEL}"
# A stump: a deliberately weak model that still clears a low bar.
WEAK = {"hyperparameters": {"num_round": 2, "max_depth": 1, "eta": 0.1}, "threshold": 0.5}
# Long enough bakes that each canary step sees a few hundred requests (emulated time: 1 s = 1 ms).
ROLLOUT = {"canary_steps": [10, 50, 100], "bake_seconds": 1200, "alarm_check_seconds": 60}


@pytest.fixture(scope="module")
def runtime() -> Iterator[OfflineRuntime]:
    with OfflineRuntime(parameters={"MaxRunsPerDay": "50"}) as started:
        yield started


@pytest.fixture(scope="module")
def champion(runtime: OfflineRuntime, dataset: Any, model_config: dict[str, Any]) -> ExecutionReport:
    """Given the model's first deployment: a weak champion serving alone."""
    runtime.put_model_config(MODEL, {**model_config, **WEAK, "rollout": ROLLOUT})
    runtime.upload(MODEL, "part-1.csv", dataset.parts[0])
    report = runtime.follow(runtime.next_execution())
    assert report.status == "SUCCEEDED", report
    return report


def _retrain(runtime: OfflineRuntime) -> str:
    runtime.put_event(drift_alarm_event("retrainer", MODEL))
    return runtime.next_execution()


def _endpoint(runtime: OfflineRuntime) -> dict[str, Any]:
    return dict(runtime.client("sagemaker").describe_endpoint(EndpointName=ENDPOINT))


def _states(report: ExecutionReport) -> list[str]:
    return [s.name for s in report.states]


def _entered(report: ExecutionReport, name: str) -> list[datetime]:
    return [s.entered for s in report.states if s.name == name]


def _configure(runtime: OfflineRuntime, model_config: dict[str, Any], **changes: Any) -> None:
    # These runs retrain on the champion's rows to exercise the rollout: without retrain_unchanged they end NoNewData.
    runtime.put_model_config(MODEL, {**model_config, "rollout": ROLLOUT, "retrain_unchanged": True, **changes})


def _outcomes(notifications: Notifications) -> list[tuple[str, dict[str, Any]]]:
    return [(m["MessageAttributes"]["outcome"]["Value"], json.loads(m["Message"])) for m in notifications.drain()]


def _served_share_is(share: float, hits: int, requests: int) -> bool:
    """Routing is random per request (weight / sum of weights): the count is binomial; allow 3 sigma."""
    if requests < 10:
        return False
    sigma = (share * (1 - share) / requests) ** 0.5
    return abs(hits / requests - share) <= 3 * sigma + 0.02


def test_better_challenger_is_promoted_through_the_canary_steps(
    runtime: OfflineRuntime,
    champion: ExecutionReport,
    dataset: Any,
    model_config: dict[str, Any],
    notifications: Notifications,
) -> None:
    # Given the weak champion serving, and the model's hyperparameters improved
    before = _endpoint(runtime)
    _configure(runtime, model_config)
    notifications.drain()
    # When a drift alarm retrains it while clients keep calling the endpoint
    with Traffic(ENDPOINT, dataset.holdout_features) as traffic:
        report = runtime.follow(_retrain(runtime))
    # Then the challenger beat the champion on the same split and went live through 10% -> 50% -> 100%
    assert report.status == "SUCCEEDED", report
    evaluation = report.final_state["evaluation"]
    assert evaluation["champion"] is not None and evaluation["gain"] > 0
    states = _states(report)
    assert states.count("ShiftWeights") == 2 and "GoLive" in states and "Promote" in states
    # And each step served the share it was set to, counted on the requests clients sent
    bakes, ends = _entered(report, "StartBake"), _entered(report, "NextStep")
    assert len(bakes) == len(ends) == 3
    for share, start, end in zip((0.1, 0.5, 1.0), bakes, ends, strict=True):
        served = traffic.served_during(start, end)
        assert _served_share_is(share, served[report.name], sum(served.values())), (share, served)
    # And no request failed while the endpoint changed under it
    assert traffic.failures == []
    # And the endpoint serves the challenger alone; the champion's config and model are gone
    after = _endpoint(runtime)
    assert [v["VariantName"] for v in after["ProductionVariants"]] == [report.name]
    assert after["EndpointConfigName"] == f"{report.name}-live"
    configs = {c["EndpointConfigName"] for c in runtime.client("sagemaker").list_endpoint_configs()["EndpointConfigs"]}
    assert before["EndpointConfigName"] not in configs and f"{report.name}-canary" not in configs
    # And the registry approved it; auto scaling moved from the old variant to the new one
    sagemaker = runtime.client("sagemaker")
    package = sagemaker.describe_model_package(ModelPackageName=report.final_state["registry"]["model_package_arn"])
    assert package["ModelApprovalStatus"] == "Approved"
    scaling = runtime.client("application-autoscaling").describe_scalable_targets(ServiceNamespace="sagemaker")
    assert [t["ResourceId"] for t in scaling["ScalableTargets"] if ENDPOINT in t["ResourceId"]] == [
        f"endpoint/{ENDPOINT}/variant/{report.name}"
    ]
    # And the notification tells both models' metrics and the schedule
    [(outcome, notice)] = _outcomes(notifications)
    assert outcome == "deployed" and notice["evaluation"]["champion"]["metrics"]["auc"] > 0
    assert [s["challenger"] for s in notice["rollout"]["steps"]] == [10, 50, 100]


def test_worse_challenger_is_rejected_by_the_gate_and_production_is_untouched(
    runtime: OfflineRuntime,
    champion: ExecutionReport,
    dataset: Any,
    model_config: dict[str, Any],
    notifications: Notifications,
) -> None:
    # Given a good champion (the previous test promoted one) and hyperparameters made worse
    before = _endpoint(runtime)
    _configure(runtime, model_config, **WEAK)
    notifications.drain()
    with Traffic(ENDPOINT, dataset.holdout_features) as traffic:
        report = runtime.follow(_retrain(runtime))
    # Then the challenger clears the absolute bar but loses to the champion, and is rejected
    assert report.status == "FAILED" and report.error == "QualityGateFailed"
    evaluation = report.final_state["evaluation"]
    assert evaluation["value"] >= WEAK["threshold"] and evaluation["gain"] < -0.005
    assert "FAILED" in evaluation["verdict"] and "champion auc" in evaluation["verdict"]
    package = runtime.client("sagemaker").describe_model_package(
        ModelPackageName=report.final_state["registry"]["model_package_arn"]
    )
    assert package["ModelApprovalStatus"] == "Rejected"
    # And the endpoint was never touched
    assert _endpoint(runtime)["EndpointConfigName"] == before["EndpointConfigName"]
    assert traffic.failures == [] and set(traffic.served_during(traffic.requests[0].at)) == {
        before["ProductionVariants"][0]["VariantName"]
    }
    [(outcome, notice)] = _outcomes(notifications)
    assert outcome == "rejected by the quality gate"
    assert notice["evaluation"]["champion"]["metrics"] and notice["evaluation"]["metrics"]


def _assert_champion_restored(runtime: OfflineRuntime, before: dict[str, Any], report: ExecutionReport) -> None:
    after = _endpoint(runtime)
    assert after["EndpointStatus"] == "InService"
    assert after["EndpointConfigName"] == before["EndpointConfigName"]
    assert [v["VariantName"] for v in after["ProductionVariants"]] == [
        v["VariantName"] for v in before["ProductionVariants"]
    ]
    package = runtime.client("sagemaker").describe_model_package(
        ModelPackageName=report.final_state["registry"]["model_package_arn"]
    )
    assert package["ModelApprovalStatus"] == "Rejected"


def test_errors_from_the_challenger_during_the_bake_roll_it_back(
    runtime: OfflineRuntime,
    champion: ExecutionReport,
    dataset: Any,
    model_config: dict[str, Any],
    notifications: Notifications,
) -> None:
    # Given a challenger whose container answers 500 once it serves (injected)
    before = _endpoint(runtime)
    _configure(runtime, model_config)
    notifications.drain()
    with Traffic(ENDPOINT, dataset.holdout_features) as traffic:
        arn = _retrain(runtime)
        challenger = arn.rsplit(":", 1)[1]
        runtime.endpoints.fail_variant(ENDPOINT, challenger)
        report = runtime.follow(arn)
    runtime.endpoints.fail_variant(ENDPOINT, challenger, failing=False)
    # Then its 5XX alarm fires during a bake (the first, unless no request reached its 10%) and the champion
    # serves alone again
    assert report.status == "FAILED" and report.error == "RolledBack", report
    assert "AlarmRollback" in _states(report) and "GoLive" not in _states(report)
    assert report.final_state["rollback"]["kind"] == "alarm" and "-5xx" in report.final_state["rollback"]["reason"]
    _assert_champion_restored(runtime, before, report)
    # And clients only saw the injected errors, while the challenger had its 10%, none after the rollback
    restored = _entered(report, "RejectChallenger")[0]
    assert traffic.failures and all(r.at < restored for r in traffic.failures)
    assert set(traffic.served_during(restored)) <= {before["ProductionVariants"][0]["VariantName"]}
    outcomes = dict(_outcomes(notifications))
    assert "alarm" in outcomes["rolled back"]["headline"] and outcomes["rolled back"]["rollback"]["kind"] == "alarm"
    # And the challenger's alarms are gone with it
    alarms = runtime.client("cloudwatch").describe_alarms(AlarmNamePrefix=f"retrainer-rollout-{challenger}")
    assert alarms["MetricAlarms"] == []


def test_a_slow_challenger_rolls_back_without_a_failed_request(
    runtime: OfflineRuntime, champion: ExecutionReport, dataset: Any, model_config: dict[str, Any]
) -> None:
    before = _endpoint(runtime)
    _configure(runtime, model_config)
    with Traffic(ENDPOINT, dataset.holdout_features) as traffic:
        arn = _retrain(runtime)
        challenger = arn.rsplit(":", 1)[1]
        runtime.endpoints.slow_variant(ENDPOINT, challenger, 2000.0)
        report = runtime.follow(arn)
    runtime.endpoints.slow_variant(ENDPOINT, challenger, None)
    assert report.status == "FAILED" and report.error == "RolledBack", report
    assert "-latency" in report.final_state["rollback"]["reason"]
    _assert_champion_restored(runtime, before, report)
    assert traffic.failures == []


def test_sagemaker_rolling_the_update_back_silently_is_caught_and_notified(
    runtime: OfflineRuntime,
    champion: ExecutionReport,
    dataset: Any,
    model_config: dict[str, Any],
    notifications: Notifications,
) -> None:
    # Given SageMaker will roll the canary's UpdateEndpoint back (the endpoint ends InService on the old config)
    before = _endpoint(runtime)
    _configure(runtime, model_config)
    notifications.drain()
    with Traffic(ENDPOINT, dataset.holdout_features) as traffic:
        arn = _retrain(runtime)
        runtime.endpoints.fail_next_update(ENDPOINT, "The primary container for production variant failed ping")
        report = runtime.follow(arn)
    # Then the verification sees the other config, says so, and the run ends rolled back
    assert report.status == "FAILED" and report.error == "RolledBack", report
    assert report.final_state["rollback"]["kind"] == "mismatch"
    assert "failed ping" in report.final_state["rollback"]["reason"]
    _assert_champion_restored(runtime, before, report)
    assert traffic.failures == []
    outcomes = [outcome for outcome, _ in _outcomes(notifications)]
    assert outcomes == ["endpoint config mismatch", "rolled back"]


def test_an_update_that_outlasts_its_timeout_is_rolled_back(
    runtime: OfflineRuntime, champion: ExecutionReport, dataset: Any, model_config: dict[str, Any]
) -> None:
    # Given updates may take a minute, and the canary's takes almost half an hour
    before = _endpoint(runtime)
    _configure(runtime, model_config, rollout={**ROLLOUT, "update_timeout_seconds": 60})
    with Traffic(ENDPOINT, dataset.holdout_features) as traffic:
        arn = _retrain(runtime)
        runtime.endpoints.delay_next_update(ENDPOINT, 1500)
        report = runtime.follow(arn)
    # Then the wait gives up, the champion is restored once the endpoint can be changed, and no request failed
    assert report.status == "FAILED" and report.error == "RolledBack", report
    assert report.final_state["rollback"]["kind"] == "timeout"
    _assert_champion_restored(runtime, before, report)
    assert traffic.failures == []


def test_retried_steps_create_no_second_config_or_variant(
    runtime: OfflineRuntime, champion: ExecutionReport, dataset: Any, model_config: dict[str, Any]
) -> None:
    # Given the canary config step is cut off after it created the config, and the first weight shift's
    # answer is lost after SageMaker applied it
    _configure(runtime, model_config)
    function = runtime.stack.functions["ManageRolloutFunction"].function_name  # type: ignore[union-attr]
    runtime.lambda_registry.time_out_after_work(function, when=lambda event: event.get("action") == "ensure_config")
    runtime.faults.fail("sagemaker", "UpdateEndpointWeightsAndCapacities", "ThrottlingException", after_call=True)
    with Traffic(ENDPOINT, dataset.holdout_features) as traffic:
        report = runtime.follow(_retrain(runtime))
    # Then both steps were retried, the run promoted the challenger, and the endpoint never had a third variant
    assert report.status == "SUCCEEDED", report
    assert ("sagemaker", "update_endpoint_weights_and_capacities", "ThrottlingException") in runtime.faults.injected
    assert (function, True) in runtime.lambda_registry.invocations  # the cut-off attempt
    history = runtime.client("stepfunctions").get_execution_history(executionArn=report.arn, maxResults=1000)
    checks = [
        json.loads(e["stateExitedEventDetails"]["output"])["endpoint_check"]
        for e in history["events"]
        if e["type"] == "TaskStateExited" and e["stateExitedEventDetails"]["name"] == "VerifyCanary"
    ]
    seen = [check["weights"] for check in checks if check["state"] == "ready"]
    assert seen and all(len(weights) == 2 for weights in seen)
    assert [v["VariantName"] for v in _endpoint(runtime)["ProductionVariants"]] == [report.name]
    assert traffic.failures == []


def test_blue_green_strategy_promotes_through_sagemakers_own_deployment(
    runtime: OfflineRuntime, champion: ExecutionReport, dataset: Any, model_config: dict[str, Any]
) -> None:
    blue_green = {"traffic": "CANARY", "step_percent": 20, "wait_seconds": 300, "max_execution_timeout_seconds": 1800}
    _configure(runtime, model_config, rollout={**ROLLOUT, "strategy": "blue_green", "blue_green": blue_green})
    with Traffic(ENDPOINT, dataset.holdout_features) as traffic:
        report = runtime.follow(_retrain(runtime))
    assert report.status == "SUCCEEDED", report
    assert "BlueGreenUpdate" in _states(report) and "ShiftWeights" not in _states(report)
    assert [v["VariantName"] for v in _endpoint(runtime)["ProductionVariants"]] == [report.name]
    assert traffic.failures == []


def test_blue_green_rolls_back_when_its_alarm_fires_and_the_run_says_so(
    runtime: OfflineRuntime, champion: ExecutionReport, dataset: Any, model_config: dict[str, Any]
) -> None:
    # Given SageMaker's blue/green deployment, and a challenger whose container answers 500
    before = _endpoint(runtime)
    blue_green = {"traffic": "CANARY", "step_percent": 20, "wait_seconds": 600, "max_execution_timeout_seconds": 1800}
    _configure(runtime, model_config, rollout={**ROLLOUT, "strategy": "blue_green", "blue_green": blue_green})
    with Traffic(ENDPOINT, dataset.holdout_features) as traffic:
        arn = _retrain(runtime)
        challenger = arn.rsplit(":", 1)[1]
        runtime.endpoints.fail_variant(ENDPOINT, challenger)
        report = runtime.follow(arn)
    runtime.endpoints.fail_variant(ENDPOINT, challenger, failing=False)
    # Then SageMaker's auto-rollback brings the old config back, the run sees it as a mismatch, and ends rolled back
    assert report.status == "FAILED" and report.error == "RolledBack", report
    assert report.final_state["rollback"]["kind"] == "mismatch"
    _assert_champion_restored(runtime, before, report)
    restored = _entered(report, "RejectChallenger")[0]
    assert all(r.at < restored for r in traffic.failures)


def test_a_champion_that_cannot_score_the_split_leaves_the_gate_to_the_threshold(
    runtime: OfflineRuntime, champion: ExecutionReport, dataset: Any, model_config: dict[str, Any]
) -> None:
    # Given the champion's batch transform fails (as when the columns changed under it)
    _configure(runtime, model_config)
    runtime.job_runner.fail_next("transform", "ClientError: feature shape mismatch", name_contains="-champ-")
    report = runtime.follow(_retrain(runtime))
    # Then the challenger is judged on the threshold alone, the verdict says why, and it is promoted
    assert report.status == "SUCCEEDED", report
    evaluation = report.final_state["evaluation"]
    assert evaluation["champion"] is None and evaluation["gain"] is None
    assert "the champion could not score the test split" in evaluation["verdict"]
    assert "feature shape mismatch" in evaluation["champion_note"]


def test_a_failed_challenger_transform_fails_the_run_before_the_endpoint_is_touched(
    runtime: OfflineRuntime,
    champion: ExecutionReport,
    dataset: Any,
    model_config: dict[str, Any],
    notifications: Notifications,
) -> None:
    before = _endpoint(runtime)
    _configure(runtime, model_config)
    notifications.drain()
    runtime.job_runner.fail_next("transform", "AlgorithmError: injected", name_contains="-eval-")
    with Traffic(ENDPOINT, dataset.holdout_features) as traffic:
        report = runtime.follow(_retrain(runtime))
    assert report.status == "FAILED" and report.error == "RetrainingFailed", report
    assert "Validate" in report.final_state["failure"] and "injected" in json.dumps(report.final_state["failure"])
    assert _endpoint(runtime)["EndpointConfigName"] == before["EndpointConfigName"]
    assert traffic.failures == []
    package = runtime.client("sagemaker").describe_model_package(
        ModelPackageName=report.final_state["registry"]["model_package_arn"]
    )
    assert package["ModelApprovalStatus"] == "Rejected"
    [(outcome, notice)] = _outcomes(notifications)
    assert outcome == "failed" and "Validate" in notice["failure"]


def _raw_rows(frame: Any) -> list[str]:
    """What a client sends: the uploaded columns minus the target and the id, headerless CSV, as uploaded."""
    from retrainer_offline.sample_data import churn as datasets

    features = frame.drop(columns=[datasets.TARGET, datasets.ID_COLUMN])
    return [line for line in features.to_csv(index=False, header=False).splitlines() if line]


def test_a_new_category_rolls_out_through_the_canary_without_a_failed_request(
    runtime: OfflineRuntime, notifications: Notifications
) -> None:
    from retrainer_offline.sample_data import churn as datasets

    # Given a churn model (text categories, Yes/No, blank cells) deployed from a first upload
    model, endpoint = "churn", "retrainer-churn"
    runtime.put_model_config(model, {**datasets.MODEL_CONFIG, "rollout": ROLLOUT})
    first = datasets.table(900, seed=21)
    runtime.upload(model, "part-1.csv", first.to_csv(index=False).encode())
    assert runtime.follow(runtime.next_execution()).status == "SUCCEEDED"
    # When an upload brings a payment method the champion never saw, while a client sends raw rows
    # (that category included) all through the canary
    second = datasets.table(600, seed=22, new_category="crypto", id_start=900)
    rows = _raw_rows(first.head(40)) + [row for row in _raw_rows(second) if "crypto" in row][:40]
    with Traffic(endpoint, rows) as traffic:
        runtime.upload(model, "part-2.csv", second.to_csv(index=False).encode())
        report = runtime.follow(runtime.next_execution())
    # Then the challenger went live through every canary step and no request failed
    assert report.status == "SUCCEEDED", report
    assert _states(report).count("ShiftWeights") == 2 and "Promote" in _states(report)
    served = Counter(r.variant for r in traffic.requests)
    assert served[report.name] > 0 and len(traffic.requests) > 100
    assert traffic.failures == []
    # And the champion was scored on test rows it never trained on
    assert report.final_state["evaluation"]["test_rows_seen"] == {"challenger": 0, "champion": 0, "note": ""}
    print(
        f"\nfigures: {len(traffic.requests)} raw-row requests during the rollout, {len(traffic.failures)} failed; "
        f"test rows seen by the champion: {report.final_state['evaluation']['test_rows_seen']['champion']}"
    )
