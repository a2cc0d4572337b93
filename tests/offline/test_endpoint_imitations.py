"""Endpoints in the offline runtime while they change: updates, weights, blue/green, auto scaling, faults.

Each docstring cites the documented behaviour: sagemaker-contracts.md §5 (endpoints, UpdateEndpoint,
DeploymentConfig), the AWS docs "Update endpoints that use auto scaling" (endpoint-scaling-update.html)
and "Delete endpoints configured for auto scaling", or the fault being emulated. Models are real:
a small XGBoost model trained in the runtime (conftest `trained`).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from retrainer_offline.runtime import OfflineRuntime
from tests.offline.conftest import ROLE, XGBOOST

BODY = "0.2,1"


@pytest.fixture(scope="module")
def new_model(runtime: OfflineRuntime, trained: dict[str, Any]) -> Callable[[], str]:
    """Makes a fresh SageMaker model on the trained artifact and returns its name."""
    sm = runtime.client("sagemaker")
    artifact = trained["job"]["ModelArtifacts"]["S3ModelArtifacts"]

    def make() -> str:
        name = f"model-{uuid.uuid4().hex[:8]}"
        sm.create_model(
            ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": XGBOOST, "ModelDataUrl": artifact}
        )
        return name

    return make


def _config(runtime: OfflineRuntime, variants: dict[str, tuple[str, float]], instance_type: str = "ml.m5.large") -> str:
    """An endpoint config with variants {name: (model, weight)}."""
    name = f"config-{uuid.uuid4().hex[:8]}"
    runtime.client("sagemaker").create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": variant,
                "ModelName": model,
                "InitialInstanceCount": 2,
                "InstanceType": instance_type,
                "InitialVariantWeight": weight,
            }
            for variant, (model, weight) in variants.items()
        ],
    )
    return name


def _in_service(runtime: OfflineRuntime, name: str, timeout: float = 30) -> dict[str, Any]:
    sm = runtime.client("sagemaker")
    deadline = time.monotonic() + timeout
    while True:
        endpoint: dict[str, Any] = sm.describe_endpoint(EndpointName=name)
        if endpoint["EndpointStatus"] == "InService":
            return endpoint
        if time.monotonic() > deadline:
            raise TimeoutError(f"{name} still {endpoint['EndpointStatus']}")
        time.sleep(0.01)


def _endpoint(runtime: OfflineRuntime, config: str) -> str:
    name = f"ep-{uuid.uuid4().hex[:8]}"
    runtime.client("sagemaker").create_endpoint(EndpointName=name, EndpointConfigName=config)
    _in_service(runtime, name)
    return name


def _served(runtime: OfflineRuntime, endpoint: str, requests: int) -> Counter[str]:
    smr = runtime.client("sagemaker-runtime")
    return Counter(
        smr.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Body=BODY)["InvokedProductionVariant"]
        for _ in range(requests)
    )


class Client:
    """A client invoking the endpoint without pause, recording what it was served and every error."""

    def __init__(self, runtime: OfflineRuntime, endpoint: str) -> None:
        self.smr = runtime.client("sagemaker-runtime")
        self.endpoint = endpoint
        self.served: list[str] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                answer = self.smr.invoke_endpoint(EndpointName=self.endpoint, ContentType="text/csv", Body=BODY)
                self.served.append(answer["InvokedProductionVariant"])
            except ClientError as error:
                self.errors.append(str(error))

    def __enter__(self) -> Client:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


def _metric(runtime: OfflineRuntime, endpoint: str, variant: str, name: str, stat: str) -> float | None:
    points = runtime.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/SageMaker",
        MetricName=name,
        Dimensions=[{"Name": "EndpointName", "Value": endpoint}, {"Name": "VariantName", "Value": variant}],
        StartTime=datetime.now(UTC) - timedelta(hours=1),
        EndTime=datetime.now(UTC) + timedelta(minutes=1),
        Period=3600,
        Statistics=[stat],
    )["Datapoints"]
    return float(points[0][stat]) if points else None


def test_a_client_invoking_through_a_whole_rollout_never_gets_an_error(
    runtime: OfflineRuntime, new_model: Callable[[], str]
) -> None:
    """§5 + AWS "update endpoint" behaviour: the old fleet serves until the new one takes the traffic, and a
    fleet keeps serving after its config and model are deleted. A client invoking without pause through
    UpdateEndpoint, weight shifts, a final UpdateEndpoint and deletes of the retired config and model sees
    no error, and is served by the challenger at the end."""
    sm = runtime.client("sagemaker")
    champion, challenger = new_model(), new_model()
    solo = _config(runtime, {"champion": (champion, 1.0)})
    endpoint = _endpoint(runtime, solo)
    # Given a client invoking the champion's endpoint continuously
    with Client(runtime, endpoint) as client:
        # When the challenger is rolled out as the lead's state machine does it
        split = _config(runtime, {"champion": (champion, 1.0), "challenger": (challenger, 0.0)})
        sm.update_endpoint(EndpointName=endpoint, EndpointConfigName=split)
        _in_service(runtime, endpoint)
        for champion_weight, challenger_weight in ((0.9, 0.1), (0.5, 0.5), (0.0, 1.0)):
            runtime.endpoints.delay_next_update(endpoint, 200)  # long enough for the client to be in each step
            sm.update_endpoint_weights_and_capacities(
                EndpointName=endpoint,
                DesiredWeightsAndCapacities=[
                    {"VariantName": "champion", "DesiredWeight": champion_weight},
                    {"VariantName": "challenger", "DesiredWeight": challenger_weight},
                ],
            )
            _in_service(runtime, endpoint)
        final = _config(runtime, {"challenger": (challenger, 1.0)})
        runtime.endpoints.delay_next_update(endpoint, 300)
        sm.update_endpoint(EndpointName=endpoint, EndpointConfigName=final)
        sm.delete_endpoint_config(EndpointConfigName=solo)  # retired configs go while the update runs
        sm.delete_endpoint_config(EndpointConfigName=split)
        sm.delete_model(ModelName=champion)  # and the retired model, still served by the old fleet
        _in_service(runtime, endpoint)
        served_before_end = len(client.served)
        deadline = time.monotonic() + 10
        while len(client.served) < served_before_end + 50 and time.monotonic() < deadline:
            time.sleep(0.01)
    # Then no request failed, both variants served, and the challenger alone serves at the end
    assert client.errors == []
    assert {"champion", "challenger"} <= set(client.served)
    assert set(client.served[served_before_end + 5 :]) == {"challenger"}
    assert sm.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"] == final


def test_weight_shifts_change_the_served_share(runtime: OfflineRuntime, new_model: Callable[[], str]) -> None:
    """§5: a variant's share is weight / sum of weights; UpdateEndpointWeightsAndCapacities moves it."""
    # Given an endpoint sending 10% of its traffic to the challenger
    endpoint = _endpoint(runtime, _config(runtime, {"champion": (new_model(), 9.0), "challenger": (new_model(), 1.0)}))
    before = _served(runtime, endpoint, 400)
    # When the weights become 1:1
    runtime.client("sagemaker").update_endpoint_weights_and_capacities(
        EndpointName=endpoint,
        DesiredWeightsAndCapacities=[
            {"VariantName": "champion", "DesiredWeight": 1.0},
            {"VariantName": "challenger", "DesiredWeight": 1.0},
        ],
    )
    described = _in_service(runtime, endpoint)
    after = _served(runtime, endpoint, 400)
    # Then the challenger's share goes from about 10% to about 50%
    assert 0.04 <= before["challenger"] / 400 <= 0.18
    assert 0.40 <= after["challenger"] / 400 <= 0.60
    assert {v["VariantName"]: v["CurrentWeight"] for v in described["ProductionVariants"]} == {
        "champion": 1.0,
        "challenger": 1.0,
    }


def test_weight_update_is_validated_as_aws_does(runtime: OfflineRuntime, new_model: Callable[[], str]) -> None:
    """UpdateEndpointWeightsAndCapacities: a variant the endpoint lacks, or an endpoint not InService, is a
    ValidationException (§5: the endpoint is Updating while a change is applied)."""
    sm = runtime.client("sagemaker")
    endpoint = _endpoint(runtime, _config(runtime, {"champion": (new_model(), 1.0)}))
    with pytest.raises(ClientError, match="ghost") as unknown:
        sm.update_endpoint_weights_and_capacities(
            EndpointName=endpoint, DesiredWeightsAndCapacities=[{"VariantName": "ghost", "DesiredWeight": 1.0}]
        )
    assert unknown.value.response["Error"]["Code"] == "ValidationException"
    runtime.endpoints.delay_next_update(endpoint, 5000)
    sm.update_endpoint_weights_and_capacities(
        EndpointName=endpoint, DesiredWeightsAndCapacities=[{"VariantName": "champion", "DesiredWeight": 2.0}]
    )
    with pytest.raises(ClientError, match="in-progress") as busy:
        sm.update_endpoint_weights_and_capacities(
            EndpointName=endpoint, DesiredWeightsAndCapacities=[{"VariantName": "champion", "DesiredWeight": 3.0}]
        )
    assert busy.value.response["Error"]["Code"] == "ValidationException"
    _in_service(runtime, endpoint)


def test_failing_variant_answers_model_error_and_counts_5xx(
    runtime: OfflineRuntime, new_model: Callable[[], str]
) -> None:
    """Fault injection `fail_variant`: the container answers 500, so InvokeEndpoint fails with ModelError and
    the variant's Invocation5XXErrors counts it (AWS/SageMaker, EndpointName + VariantName)."""
    endpoint = _endpoint(runtime, _config(runtime, {"AllTraffic": (new_model(), 1.0)}))
    runtime.endpoints.fail_variant(endpoint, "AllTraffic")
    with pytest.raises(ClientError) as failed:
        runtime.client("sagemaker-runtime").invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Body=BODY)
    assert failed.value.response["Error"]["Code"] == "ModelError"
    runtime.endpoints.fail_variant(endpoint, "AllTraffic", failing=False)
    _served(runtime, endpoint, 1)
    assert _metric(runtime, endpoint, "AllTraffic", "Invocation5XXErrors", "Sum") == 1.0
    assert _metric(runtime, endpoint, "AllTraffic", "Invocations", "Sum") == 2.0


def test_slow_variant_succeeds_with_its_latency_in_model_latency(
    runtime: OfflineRuntime, new_model: Callable[[], str]
) -> None:
    """Fault injection `slow_variant`: requests still succeed; ModelLatency (microseconds) carries the added
    emulated latency; None removes it."""
    endpoint = _endpoint(runtime, _config(runtime, {"AllTraffic": (new_model(), 1.0)}))
    runtime.endpoints.slow_variant(endpoint, "AllTraffic", 2500.0)
    assert _served(runtime, endpoint, 2) == Counter({"AllTraffic": 2})
    assert (_metric(runtime, endpoint, "AllTraffic", "ModelLatency", "Minimum") or 0.0) >= 2_500_000
    runtime.endpoints.slow_variant(endpoint, "AllTraffic", None)
    _served(runtime, endpoint, 1)
    assert (_metric(runtime, endpoint, "AllTraffic", "ModelLatency", "Minimum") or 1e12) < 2_500_000


def test_delay_next_update_keeps_the_endpoint_updating_longer(
    runtime: OfflineRuntime, new_model: Callable[[], str]
) -> None:
    """Fault injection `delay_next_update`: the next transition stays that many more emulated seconds in
    Updating (a weight change normally takes 60)."""
    sm = runtime.client("sagemaker")
    endpoint = _endpoint(runtime, _config(runtime, {"champion": (new_model(), 1.0)}))
    runtime.endpoints.delay_next_update(endpoint, 2000)
    started = time.monotonic()
    sm.update_endpoint_weights_and_capacities(
        EndpointName=endpoint, DesiredWeightsAndCapacities=[{"VariantName": "champion", "DesiredWeight": 2.0}]
    )
    _in_service(runtime, endpoint)
    assert time.monotonic() - started >= 2060 * runtime.clock.scale
    # and only the next one: the following change takes its usual time
    started = time.monotonic()
    sm.update_endpoint_weights_and_capacities(
        EndpointName=endpoint, DesiredWeightsAndCapacities=[{"VariantName": "champion", "DesiredWeight": 1.0}]
    )
    _in_service(runtime, endpoint)
    assert time.monotonic() - started < 2000 * runtime.clock.scale


def test_fail_next_update_rolls_back_to_the_previous_config(
    runtime: OfflineRuntime, new_model: Callable[[], str]
) -> None:
    """Fault injection `fail_next_update`, SageMaker's own rollback: UpdateEndpoint goes Updating, then the
    endpoint is InService on its PREVIOUS config with FailureReason set, still serving the old variant."""
    sm = runtime.client("sagemaker")
    old = _config(runtime, {"champion": (new_model(), 1.0)})
    endpoint = _endpoint(runtime, old)
    runtime.endpoints.fail_next_update(endpoint, "Failed to provision the new fleet (injected)")
    sm.update_endpoint(EndpointName=endpoint, EndpointConfigName=_config(runtime, {"challenger": (new_model(), 1.0)}))
    assert sm.describe_endpoint(EndpointName=endpoint)["EndpointStatus"] == "Updating"
    after = _in_service(runtime, endpoint)
    assert after["EndpointConfigName"] == old
    assert after["FailureReason"] == "Failed to provision the new fleet (injected)"
    assert _served(runtime, endpoint, 5) == Counter({"champion": 5})


def test_update_that_removes_or_retypes_an_autoscaled_variant_is_refused(
    runtime: OfflineRuntime, new_model: Callable[[], str]
) -> None:
    """ "Update endpoints that use auto scaling": UpdateEndpoint may not remove, or change the instance type of,
    a variant registered as a scalable target (ValidationException); deregistering first lets it through.
    "Delete endpoints configured for auto scaling": DeleteEndpoint deregisters the endpoint's targets."""
    sm = runtime.client("sagemaker")
    scaling = runtime.client("application-autoscaling")
    endpoint = _endpoint(runtime, _config(runtime, {"champion": (new_model(), 1.0)}))
    resource = f"endpoint/{endpoint}/variant/champion"
    scaling.register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=resource,
        ScalableDimension="sagemaker:variant:DesiredInstanceCount",
        MinCapacity=1,
        MaxCapacity=4,
    )
    # When an update would remove the variant, or change its instance type, it is refused
    for config in (
        _config(runtime, {"challenger": (new_model(), 1.0)}),
        _config(runtime, {"champion": (new_model(), 1.0)}, instance_type="ml.c5.xlarge"),
    ):
        with pytest.raises(ClientError, match="scalable target") as refused:
            sm.update_endpoint(EndpointName=endpoint, EndpointConfigName=config)
        assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert sm.describe_endpoint(EndpointName=endpoint)["EndpointStatus"] == "InService"
    # An update that keeps the variant and its instance type goes through
    sm.update_endpoint(
        EndpointName=endpoint,
        EndpointConfigName=_config(runtime, {"champion": (new_model(), 1.0), "challenger": (new_model(), 0.0)}),
    )
    _in_service(runtime, endpoint)
    # And deleting the endpoint deregisters its scalable targets
    sm.delete_endpoint(EndpointName=endpoint)
    targets = scaling.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[resource])
    assert targets["ScalableTargets"] == []


def _blue_green(routing: dict[str, Any], **policy: Any) -> dict[str, Any]:
    return {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": routing, **policy}}


@pytest.mark.parametrize(
    ("deployment", "message"),
    [
        (_blue_green({"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 4000}), "WaitIntervalInSeconds"),
        (
            _blue_green({"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0}, TerminationWaitInSeconds=3601),
            "TerminationWaitInSeconds",
        ),
        (
            _blue_green({"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0}, MaximumExecutionTimeoutInSeconds=28801),
            "MaximumExecutionTimeoutInSeconds",
        ),
        (
            _blue_green(
                {"Type": "CANARY", "WaitIntervalInSeconds": 60, "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 60}}
            ),
            "CanarySize",
        ),
        (
            _blue_green(
                {"Type": "CANARY", "WaitIntervalInSeconds": 60, "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 2}}
            ),
            "CanarySize",  # 2 of the green fleet's 2 instances is 100%
        ),
        (
            _blue_green(
                {
                    "Type": "LINEAR",
                    "WaitIntervalInSeconds": 60,
                    "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 5},
                }
            ),
            "LinearStepSize",
        ),
        (_blue_green({"Type": "CANARY", "WaitIntervalInSeconds": 60}), "CanarySize"),
    ],
)
def test_blue_green_deployment_config_is_validated(
    runtime: OfflineRuntime, new_model: Callable[[], str], deployment: dict[str, Any], message: str
) -> None:
    """§5 ranges: WaitInterval 0-3600, TerminationWait 0-3600, MaxExecutionTimeout 600-28800, canary at most
    50% of the fleet, linear step 10-50% (CAPACITY_PERCENT or INSTANCE_COUNT): ValidationException."""
    endpoint = _endpoint(runtime, _config(runtime, {"blue": (new_model(), 1.0)}))
    with pytest.raises(ClientError, match=message) as refused:
        runtime.client("sagemaker").update_endpoint(
            EndpointName=endpoint,
            EndpointConfigName=_config(runtime, {"green": (new_model(), 1.0)}),
            DeploymentConfig=deployment,
        )
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert runtime.client("sagemaker").describe_endpoint(EndpointName=endpoint)["EndpointStatus"] == "InService"


def test_blue_green_canary_shifts_the_canary_share_then_all(
    runtime: OfflineRuntime, new_model: Callable[[], str]
) -> None:
    """§5 CANARY: the canary share goes to green, a bake of WaitIntervalInSeconds, then all traffic; the
    endpoint ends InService on the new config. InvokeEndpoint names the green variant for green's share."""
    sm = runtime.client("sagemaker")
    endpoint = _endpoint(runtime, _config(runtime, {"blue": (new_model(), 1.0)}))
    green = _config(runtime, {"green": (new_model(), 1.0)})
    # Given a client invoking the endpoint continuously
    with Client(runtime, endpoint) as client:
        # When a canary deployment of 25% of the fleet with a long bake runs to its end
        sm.update_endpoint(
            EndpointName=endpoint,
            EndpointConfigName=green,
            DeploymentConfig=_blue_green(
                {
                    "Type": "CANARY",
                    "WaitIntervalInSeconds": 3600,
                    "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 25},
                }
            ),
        )
        after = _in_service(runtime, endpoint)
        count = len(client.served)
        deadline = time.monotonic() + 10
        while len(client.served) < count + 30 and time.monotonic() < deadline:
            time.sleep(0.01)
    # Then blue served alone, then the canary phase sent about a quarter of the requests to green (the phase
    # is measured from the first green answer to the last blue one, whatever the machine's speed) ...
    served = client.served
    first_green = served.index("green")
    last_blue = len(served) - 1 - served[::-1].index("blue")
    canary = Counter(served[first_green : last_blue + 1])
    assert client.errors == [] and set(served[:first_green]) == {"blue"}
    assert canary.total() >= 30, canary
    assert 0.12 <= canary["green"] / canary.total() <= 0.40, canary
    # ... and at the end green serves everything on the new config
    assert after["EndpointConfigName"] == green and "FailureReason" not in after
    assert set(served[count + 2 :]) == {"green"}


def test_blue_green_rolls_back_when_a_rollback_alarm_fires(
    runtime: OfflineRuntime, new_model: Callable[[], str]
) -> None:
    """§5: any AutoRollbackConfiguration alarm in ALARM during a bake sends all traffic back to blue. Here the
    green variant fails, its Invocation5XXErrors alarm goes to ALARM (cloudwatch/alarms.py evaluates it), and the
    endpoint ends InService on the old config with a FailureReason naming the alarm."""
    sm = runtime.client("sagemaker")
    blue = _config(runtime, {"blue": (new_model(), 1.0)})
    endpoint = _endpoint(runtime, blue)
    alarm = f"{endpoint}-green-5xx"
    runtime.client("cloudwatch").put_metric_alarm(
        AlarmName=alarm,
        Namespace="AWS/SageMaker",
        MetricName="Invocation5XXErrors",
        Dimensions=[{"Name": "EndpointName", "Value": endpoint}, {"Name": "VariantName", "Value": "green"}],
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching",
    )
    runtime.endpoints.fail_variant(endpoint, "green")
    # Given a client invoking during a canary deployment of a green variant that fails
    with Client(runtime, endpoint) as client:
        sm.update_endpoint(
            EndpointName=endpoint,
            EndpointConfigName=_config(runtime, {"green": (new_model(), 1.0)}),
            DeploymentConfig={
                **_blue_green(
                    {
                        "Type": "CANARY",
                        "WaitIntervalInSeconds": 3600,
                        "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 20},
                    }
                ),
                "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": alarm}]},
            },
        )
        after = _in_service(runtime, endpoint)
        count = len(client.served)
        deadline = time.monotonic() + 10
        while len(client.served) < count + 30 and time.monotonic() < deadline:
            time.sleep(0.01)
    # Then green got traffic (and failed), the alarm fired, and blue serves again on the old config
    assert client.errors and all("ModelError" in e for e in client.errors)
    assert after["EndpointConfigName"] == blue
    assert alarm in after["FailureReason"] and "rolled back" in after["FailureReason"]
    assert set(client.served[count + 2 :]) == {"blue"}
    runtime.endpoints.fail_variant(endpoint, "green", failing=False)


def test_blue_green_respects_maximum_execution_timeout(runtime: OfflineRuntime, new_model: Callable[[], str]) -> None:
    """§5: MaximumExecutionTimeoutInSeconds bounds the deployment; a bake that would outlast it rolls back."""
    sm = runtime.client("sagemaker")
    blue = _config(runtime, {"blue": (new_model(), 1.0)})
    endpoint = _endpoint(runtime, blue)
    sm.update_endpoint(
        EndpointName=endpoint,
        EndpointConfigName=_config(runtime, {"green": (new_model(), 1.0)}),
        DeploymentConfig=_blue_green(
            {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 3600}, MaximumExecutionTimeoutInSeconds=600
        ),
    )
    after = _in_service(runtime, endpoint)
    assert after["EndpointConfigName"] == blue and "MaximumExecutionTimeoutInSeconds" in after["FailureReason"]


def test_lost_response_the_call_happened_but_the_caller_got_an_error(
    runtime: OfflineRuntime, new_model: Callable[[], str]
) -> None:
    """Fault injection `after_call=True`: a response lost in transit (or a timeout after the service acted).
    CreateEndpointConfig answers with an error, yet the config exists, and a blind retry meets it."""
    sm = runtime.client("sagemaker")
    runtime.faults.fail("sagemaker", "CreateEndpointConfig", "InternalFailure", after_call=True)
    with pytest.raises(ClientError) as lost:
        sm.create_endpoint_config(
            EndpointConfigName="lost-response",
            ProductionVariants=[
                {"VariantName": "v", "ModelName": new_model(), "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
            ],
        )
    assert lost.value.response["Error"]["Code"] == "InternalFailure"
    assert lost.value.response["ResponseMetadata"]["RequestId"]  # AWS answers every request with one
    assert (
        sm.describe_endpoint_config(EndpointConfigName="lost-response")["ProductionVariants"][0]["VariantName"] == "v"
    )
    with pytest.raises(ClientError, match="already exist"):
        sm.create_endpoint_config(
            EndpointConfigName="lost-response",
            ProductionVariants=[
                {"VariantName": "v", "ModelName": new_model(), "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
            ],
        )


def test_creating_a_name_that_exists_is_refused(runtime: OfflineRuntime, new_model: Callable[[], str]) -> None:
    """SageMaker refuses CreateModel, CreateEndpointConfig and CreateEndpoint for a name that exists
    (ValidationException "Cannot create already existing endpoint configuration "arn:..."."); moto overwrote."""
    sm = runtime.client("sagemaker")
    model = new_model()
    config = _config(runtime, {"AllTraffic": (model, 1.0)})
    endpoint = _endpoint(runtime, config)
    with pytest.raises(ClientError, match=f'Cannot create already existing model "arn:aws:sagemaker:.*:model/{model}"'):
        sm.create_model(ModelName=model, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": XGBOOST})
    with pytest.raises(ClientError, match=f"Cannot create already existing endpoint configuration .*/{config}"):
        _ = sm.create_endpoint_config(
            EndpointConfigName=config,
            ProductionVariants=[
                {"VariantName": "x", "ModelName": model, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
            ],
        )
    with pytest.raises(ClientError, match=f"Cannot create already existing endpoint .*/{endpoint}"):
        sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=config)
    # and the originals are untouched
    assert (
        sm.describe_endpoint_config(EndpointConfigName=config)["ProductionVariants"][0]["VariantName"] == "AllTraffic"
    )
