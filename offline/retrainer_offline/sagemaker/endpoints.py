"""Real-time endpoints that serve real predictions (sagemaker-contracts.md §5-§6).

moto's endpoints are `InService` at once and `InvokeEndpoint` returns a static body. Here:

- CreateModel, CreateEndpointConfig and CreateEndpoint refuse a name that exists (ValidationException
  "Cannot create already existing ..."; moto overwrites).
- `CreateEndpoint` goes `Creating` -> `InService`; `UpdateEndpoint` (absent from moto) goes
  `Updating` -> `InService` on the new config; `UpdateEndpointWeightsAndCapacities` goes `Updating`
  with `DesiredWeight` != `CurrentWeight` until the change is applied. Each transition takes
  emulated time on the scaled clock. Both updates need an `InService` endpoint and name only
  variants it has (ValidationException otherwise).
- What an endpoint serves is a *fleet*: the variants of the config it was deployed with, with their
  models' containers and current weights, captured when the config is applied. Like the instances
  AWS runs, a fleet does not read the config or the models again: DeleteEndpointConfig or
  DeleteModel of what it runs changes nothing, and the old fleet serves until the new one takes
  the traffic. Each request reads the endpoint's fleets once (one immutable snapshot).
- `UpdateEndpoint` with a `DeploymentConfig` (§5) is validated (ranges) and run as SageMaker's
  blue/green deployment: the green fleet (new config) takes the share of the traffic the
  TrafficRoutingConfiguration says (ALL_AT_ONCE, CANARY, LINEAR), with a bake of
  WaitIntervalInSeconds after each shift; any AutoRollbackConfiguration alarm in ALARM during a
  bake, or MaximumExecutionTimeoutInSeconds passing, sends all traffic back to blue and leaves the
  endpoint InService on its old config with a FailureReason. Which FailureReason and status AWS
  shows after such a rollback is [U] in §5: the text here is this runtime's choice
  (`ROLLBACK_REASON`).
- Application Auto Scaling (AWS docs "Update endpoints that use auto scaling",
  endpoint-scaling-update.html, and "Delete endpoints configured for auto scaling"): UpdateEndpoint
  fails if it would remove, or change the instance type of, a variant registered as a scalable
  target; DeleteEndpoint deregisters the endpoint's scalable targets.
- `InvokeEndpoint` loads each variant's model artifact and answers with the XGBoost container's
  contract, routing by variant weight (random per request, share = weight / sum of weights) unless
  `TargetVariant` names a variant; the response names the variant in
  `x-Amzn-Invoked-Production-Variant`. An unknown endpoint is a `ValidationError`.
- With data capture on, each sampled request is written as one JSON line (`data_capture.py`); each
  invocation records its CloudWatch metrics (`invocation_metrics.py`). Fleets and routing: `fleets.py`;
  the blue/green checks and clock: `blue_green.py`.

Fault injection for tests: `fail_variant`, `slow_variant`, `delay_next_update`, `fail_next_update`.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import boto3
from moto.applicationautoscaling.models import applicationautoscaling_backends
from moto.core.responses import EmptyResult
from moto.sagemaker import responses as sm_responses
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import sagemaker_backends
from moto.sagemakerruntime import responses as runtime_responses

from retrainer_offline.core import clock
from retrainer_offline.core.background import BackgroundThreads
from retrainer_offline.sagemaker.blue_green import (
    ALARM_POLL_SECONDS,
    ROLLBACK_REASON,
    SCALING_DIMENSION,
    Rollback,
    Timer,
    alarms_in_alarm,
    check_auto_scaling,
    traffic_steps,
    validated_policy,
)
from retrainer_offline.sagemaker.data_capture import captured_object
from retrainer_offline.sagemaker.fleets import (
    Fleet,
    Serving,
    Variant,
    deployed_fleet,
    described_variants,
    endpoint_arn,
    fleet_key,
    route,
)
from retrainer_offline.sagemaker.invocation_metrics import invocation_metrics, runtime_error
from retrainer_offline.sagemaker.serving import ModelLoadError, UnknownImageError, s3_reader
from retrainer_offline.sagemaker.sklearn_container import load_model

CREATE_SECONDS = 180.0  # emulated time for an endpoint to come up
UPDATE_SECONDS = 120.0  # emulated time to provision a new fleet
WEIGHTS_SECONDS = 60.0


class EndpointsPatch:
    def __init__(self, seed: int | None = None) -> None:
        self.random = random.Random(seed)
        self._background = BackgroundThreads()
        self._lock = threading.RLock()
        self._serving: dict[tuple[str, str, str], Serving] = {}
        self._clients: dict[tuple[str, str], Any] = {}
        self._originals = {
            "create_model": sm_responses.SageMakerResponse.create_model,
            "create_endpoint_config": sm_responses.SageMakerResponse.create_endpoint_config,
            "create_endpoint": sm_responses.SageMakerResponse.create_endpoint,
            "delete_endpoint": sm_responses.SageMakerResponse.delete_endpoint,
            "update_endpoint_weights_and_capacities": (
                sm_responses.SageMakerResponse.update_endpoint_weights_and_capacities
            ),
            "update_endpoint": getattr(sm_responses.SageMakerResponse, "update_endpoint", None),
            "invoke_endpoint": runtime_responses.SageMakerRuntimeResponse.invoke_endpoint,
        }
        self.failing_variants: set[tuple[str, str]] = set()
        self.slow_variants: dict[tuple[str, str], float] = {}
        self._update_delays: dict[str, float] = {}
        self._update_failures: dict[str, str] = {}
        patch = self

        def create_model(response: Any) -> Any:
            return patch._create_once(response, "create_model", "ModelName", "model", "model")

        def create_endpoint_config(response: Any) -> Any:
            return patch._create_once(
                response, "create_endpoint_config", "EndpointConfigName", "endpoint configuration", "endpoint-config"
            )

        def create_endpoint(response: Any) -> Any:
            return patch._create_endpoint(response)

        def delete_endpoint(response: Any) -> Any:
            return patch._delete_endpoint(response)

        def update_endpoint(response: Any) -> Any:
            return patch._update_endpoint(response)

        def update_weights(response: Any) -> Any:
            return patch._update_weights(response)

        def invoke_endpoint(response: Any) -> Any:
            return patch.invoke(response)

        sm_responses.SageMakerResponse.create_model = create_model
        sm_responses.SageMakerResponse.create_endpoint_config = create_endpoint_config
        sm_responses.SageMakerResponse.create_endpoint = create_endpoint
        sm_responses.SageMakerResponse.delete_endpoint = delete_endpoint
        sm_responses.SageMakerResponse.update_endpoint = update_endpoint
        sm_responses.SageMakerResponse.update_endpoint_weights_and_capacities = update_weights
        runtime_responses.SageMakerRuntimeResponse.invoke_endpoint = invoke_endpoint

    # ------------------------------------------------------------------ fault injection
    def fail_variant(self, endpoint: str, variant: str, failing: bool = True) -> None:
        """Fault injection: the variant's model container answers 500 (for rollback tests)."""
        with self._lock:
            (self.failing_variants.add if failing else self.failing_variants.discard)((endpoint, variant))

    def slow_variant(self, endpoint: str, variant: str, latency_ms: float | None) -> None:
        """Fault injection: the variant takes `latency_ms` more emulated milliseconds per request (slept on
        the scaled clock and added to its ModelLatency); the request still succeeds. None removes it."""
        with self._lock:
            if latency_ms is None:
                self.slow_variants.pop((endpoint, variant), None)
            else:
                self.slow_variants[(endpoint, variant)] = float(latency_ms)

    def delay_next_update(self, endpoint: str, seconds: float) -> None:
        """Fault injection: the endpoint's next UpdateEndpoint or UpdateEndpointWeightsAndCapacities stays
        `seconds` more emulated seconds in Updating."""
        with self._lock:
            self._update_delays[endpoint] = float(seconds)

    def fail_next_update(self, endpoint: str, reason: str) -> None:
        """Fault injection, SageMaker's own rollback: the next UpdateEndpoint goes Updating, then the endpoint
        is InService on its previous config with FailureReason `reason`."""
        with self._lock:
            self._update_failures[endpoint] = reason

    # ------------------------------------------------------------------ control plane
    def _create_once(self, response: Any, action: str, param: str, noun: str, arn_kind: str) -> Any:
        """SageMaker refuses to create a model, endpoint config or endpoint whose name exists (moto overwrites):
        `Cannot create already existing endpoint configuration "arn:..."` (ValidationException)."""
        backend = response.sagemaker_backend
        name = response._get_param(param)
        existing = {
            "model": backend._models,
            "endpoint-config": backend.endpoint_configs,
            "endpoint": backend.endpoints,
        }
        if name in existing[arn_kind]:
            arn = f"arn:aws:sagemaker:{backend.region_name}:{backend.account_id}:{arn_kind}/{name.lower()}"
            raise ValidationError(message=f'Cannot create already existing {noun} "{arn}".')
        return self._originals[action](response)

    def _create_endpoint(self, response: Any) -> Any:
        result = self._create_once(response, "create_endpoint", "EndpointName", "endpoint", "endpoint")
        backend = response.sagemaker_backend
        endpoint = backend.endpoints[response._get_param("EndpointName")]
        with self._lock:
            self._serving[fleet_key(backend, endpoint.endpoint_name)] = Serving(blue=deployed_fleet(backend, endpoint))
        endpoint.endpoint_status = "Creating"

        def in_service() -> None:
            if backend.endpoints.get(endpoint.endpoint_name) is endpoint:
                endpoint.endpoint_status = "InService"

        self._later(CREATE_SECONDS, in_service)
        return result

    def _delete_endpoint(self, response: Any) -> Any:
        backend = response.sagemaker_backend
        name = response._get_param("EndpointName")
        result = self._originals["delete_endpoint"](response)
        with self._lock:
            self._serving.pop(fleet_key(backend, name), None)
        scaling = applicationautoscaling_backends[backend.account_id][backend.region_name]
        for target in list(scaling.describe_scalable_targets("sagemaker", None, SCALING_DIMENSION)):
            if target.resource_id.startswith(f"endpoint/{name}/variant/"):
                scaling.deregister_scalable_target("sagemaker", target.resource_id, SCALING_DIMENSION)
        return result

    def _in_service(self, backend: Any, name: str) -> Any:
        endpoint = backend.endpoints.get(name)
        if endpoint is None:
            raise ValidationError(message=f"Could not find endpoint '{endpoint_arn(backend, name)}'.")
        if endpoint.endpoint_status != "InService":
            raise ValidationError(message=f'Cannot update in-progress endpoint "{endpoint.arn}".')
        return endpoint

    def _update_endpoint(self, response: Any) -> Any:
        backend = response.sagemaker_backend
        name = response._get_param("EndpointName")
        config_name = response._get_param("EndpointConfigName")
        with self._lock:
            endpoint = self._in_service(backend, name)
            config = backend.endpoint_configs.get(config_name)
            if config is None:
                raise ValidationError(message=f"Could not find endpoint configuration '{config_name}'.")
            blue = self._serving_of(backend, endpoint).blue
            green = deployed_fleet(backend, endpoint, config)
            check_auto_scaling(backend, name, blue, green)
            deployment = response._get_param("DeploymentConfig")
            policy = validated_policy(deployment, green) if deployment else None
            endpoint.endpoint_status = "Updating"
            endpoint.deployment_config = deployment
            delay = self._update_delays.pop(name, 0.0)
            failure = self._update_failures.pop(name, None)
        self._background.start(
            self._deploy, backend, endpoint, blue, green, policy, deployment, delay, failure, name="endpoint-update"
        )
        return sm_responses.ActionResult({"EndpointArn": endpoint.arn})

    def _deploy(
        self,
        backend: Any,
        endpoint: Any,
        blue: Fleet,
        green: Fleet,
        policy: dict[str, Any] | None,
        deployment: dict[str, Any] | None,
        delay: float,
        failure: str | None,
    ) -> None:
        """One UpdateEndpoint: provision green, shift traffic (blue/green policy or all at once), finish."""
        key = fleet_key(backend, endpoint.endpoint_name)
        budget = float((policy or {}).get("MaximumExecutionTimeoutInSeconds") or 0)
        timer = Timer(budget)
        try:
            timer.sleep(UPDATE_SECONDS + delay)
            if failure is not None:
                raise Rollback(failure)
            if policy is not None:
                alarms = [
                    a["AlarmName"]
                    for a in ((deployment or {}).get("AutoRollbackConfiguration") or {}).get("Alarms", [])
                ]
                for share in traffic_steps(policy["TrafficRoutingConfiguration"], green):
                    self._set_serving(key, endpoint, backend, Serving(blue=blue, green=green, green_share=share))
                    self._bake(
                        backend, alarms, float(policy["TrafficRoutingConfiguration"]["WaitIntervalInSeconds"]), timer
                    )
                self._set_serving(key, endpoint, backend, Serving(blue=green))
                timer.sleep(float(policy.get("TerminationWaitInSeconds") or 0), checked=False)
        except Rollback as rollback:
            reason = str(rollback)
            if policy is not None and failure is None:
                reason = ROLLBACK_REASON.format(config=green.config_name, cause=reason, blue=blue.config_name)
            self._finish(key, endpoint, backend, blue, failure_reason=reason)
            return
        self._finish(key, endpoint, backend, green, failure_reason=None)

    def _bake(self, backend: Any, alarms: list[str], seconds: float, timer: Timer) -> None:
        """Wait `seconds` of emulated time, watching the rollback alarms as SageMaker does during a bake."""
        remaining = seconds
        while True:
            firing = alarms_in_alarm(backend, alarms)
            if firing:
                raise Rollback(f"alarm {', '.join(firing)} in ALARM during the bake")
            if remaining <= 0:
                return
            step = min(ALARM_POLL_SECONDS, remaining)
            timer.sleep(step)
            remaining -= step

    def _set_serving(self, key: tuple[str, str, str], endpoint: Any, backend: Any, serving: Serving) -> None:
        with self._lock:
            if backend.endpoints.get(endpoint.endpoint_name) is endpoint:
                self._serving[key] = serving

    def _finish(
        self, key: tuple[str, str, str], endpoint: Any, backend: Any, fleet: Fleet, failure_reason: str | None
    ) -> None:
        with self._lock:
            if backend.endpoints.get(endpoint.endpoint_name) is not endpoint:
                return  # deleted meanwhile
            self._serving[key] = Serving(blue=fleet)
            endpoint.endpoint_config_name = fleet.config_name
            endpoint.production_variants = described_variants(fleet)
            endpoint.data_capture_config = fleet.data_capture
            endpoint.failure_reason = failure_reason
            endpoint.last_modified_time = datetime.now(UTC)
            endpoint.endpoint_status = "InService"

    def _update_weights(self, response: Any) -> Any:
        backend = response.sagemaker_backend
        name = response._get_param("EndpointName")
        desired = response._get_param("DesiredWeightsAndCapacities") or []
        with self._lock:
            endpoint = backend.endpoints.get(name)
            if endpoint is None:
                raise ValidationError(message=f'Could not find endpoint "{endpoint_arn(backend, name)}".')
            names = [d.get("VariantName") for d in desired]
            duplicate = next((n for n in names if names.count(n) > 1), None)
            if duplicate is not None:
                raise ValidationError(message=f'The variant name "{duplicate}" was non-unique within the request.')
            known = {v["VariantName"] for v in endpoint.production_variants}
            unknown = [n for n in names if n not in known]
            if unknown:
                raise ValidationError(
                    message=f'The variant name(s) "{", ".join(unknown)}" is/are not present within endpoint '
                    f'configuration "{endpoint.endpoint_config_name}".'
                )
            self._in_service(backend, name)
            serving = self._serving_of(backend, endpoint)
            variants = [dict(v) for v in endpoint.production_variants]
            for change in desired:
                variant = next(v for v in variants if v["VariantName"] == change["VariantName"])
                if change.get("DesiredWeight") is not None:
                    variant["DesiredWeight"] = float(change["DesiredWeight"])
                if change.get("DesiredInstanceCount") is not None:
                    variant["DesiredInstanceCount"] = int(change["DesiredInstanceCount"])
            endpoint.production_variants = variants
            endpoint.endpoint_status = "Updating"
            delay = self._update_delays.pop(name, 0.0)
        key = fleet_key(backend, name)

        def apply() -> None:
            with self._lock:
                if backend.endpoints.get(name) is not endpoint:
                    return
                applied = [
                    {
                        **v,
                        "CurrentWeight": v.get("DesiredWeight"),
                        "CurrentInstanceCount": v.get("DesiredInstanceCount"),
                    }
                    for v in endpoint.production_variants
                ]
                weights = {v["VariantName"]: v for v in applied}
                blue = serving.blue
                fleet = replace(
                    blue,
                    variants=tuple(
                        replace(
                            v,
                            weight=float(weights[v.name].get("CurrentWeight") or 0.0),
                            instance_count=int(weights[v.name].get("CurrentInstanceCount") or v.instance_count),
                        )
                        for v in blue.variants
                    ),
                )
                self._serving[key] = Serving(blue=fleet)
                endpoint.production_variants = applied
                endpoint.last_modified_time = datetime.now(UTC)
                endpoint.endpoint_status = "InService"

        self._later(WEIGHTS_SECONDS + delay, apply)
        return sm_responses.ActionResult({"EndpointArn": endpoint.arn})

    def _serving_of(self, backend: Any, endpoint: Any) -> Serving:
        """The endpoint's fleets; an endpoint made without CreateEndpoint's API (CloudFormation) gets its own now."""
        key = fleet_key(backend, endpoint.endpoint_name)
        with self._lock:
            serving = self._serving.get(key)
            if serving is None:
                serving = self._serving[key] = Serving(blue=deployed_fleet(backend, endpoint))
            return serving

    def _later(self, seconds: float, action: Callable[[], None]) -> None:
        def run() -> None:
            clock.current().sleep(seconds)
            action()

        self._background.start(run, name="endpoint-transition")

    # ------------------------------------------------------------------ InvokeEndpoint
    def invoke(self, response: Any) -> tuple[int, dict[str, str], bytes | str]:
        name = response.path.split("/")[2]
        account, region = response.current_account, response.region
        backend = sagemaker_backends[account][region]
        endpoint = backend.endpoints.get(name)
        if endpoint is None:
            return runtime_error(400, "ValidationError", f"Endpoint {name} of account {account} not found.")
        if endpoint.endpoint_status not in {"InService", "Updating"}:
            return runtime_error(
                400, "ValidationError", f"Endpoint {name} is not in service ({endpoint.endpoint_status})."
            )
        serving = self._serving_of(backend, endpoint)  # one snapshot for the whole request
        headers = {k.lower(): v for k, v in response.headers.items()}
        routed = route(serving, headers.get("x-amzn-sagemaker-target-variant"), self.random)
        if routed is None:
            return runtime_error(400, "ValidationError", f"Target variant not found for endpoint {name}.")
        fleet, variant = routed
        body = response.body if isinstance(response.body, bytes) else str(response.body or "").encode()
        content_type = headers.get("content-type", "application/octet-stream")
        extra_ms = self.slow_variants.get((name, variant.name), 0.0)
        if extra_ms:
            clock.current().sleep(extra_ms / 1000)  # emulated time, recorded as such in ModelLatency
        started = time.perf_counter()
        status, output, output_type = self._predict(region, name, variant, body, content_type, headers.get("accept"))
        latency_us = (time.perf_counter() - started) * 1e6 + extra_ms * 1000
        self.record_metrics(region, name, variant.name, status, latency_us)
        if status >= 400:
            return runtime_error(
                424,
                "ModelError",
                f'Received server error ({status}) from model with message "{output.decode(errors="replace")}".',
            )
        captured = captured_object(
            self.random, name, fleet, variant.name, body, content_type, output, output_type, headers
        )
        if captured is not None:
            bucket, key, record = captured
            self.client("s3", region).put_object(Bucket=bucket, Key=key, Body=record)
        return 200, {"Content-Type": output_type, "x-Amzn-Invoked-Production-Variant": variant.name}, output

    def _predict(
        self, region: str, endpoint: str, variant: Variant, body: bytes, content_type: str, accept: str | None
    ) -> tuple[int, bytes, str]:
        if (endpoint, variant.name) in self.failing_variants:
            return 500, b"injected model failure", "text/plain"
        container = variant.container
        if container is None:
            return 500, f"model {variant.model_name} was not found when the variant was deployed".encode(), "text/plain"
        try:
            server = load_model(list(variant.containers or (container,)), s3_reader(self.client("s3", region)))
        except (UnknownImageError, ModelLoadError) as exc:
            return 500, str(exc).encode(), "text/plain"
        return server.invoke(body, content_type, accept)

    def client(self, service: str, region: str) -> Any:
        """One boto3 client per service and region, built once (clients are thread-safe, building is not)."""
        with self._lock:
            found = self._clients.get((service, region))
            if found is None:
                found = self._clients[(service, region)] = boto3.client(service, region_name=region)  # type: ignore[call-overload]
            return found

    def record_metrics(self, region: str, endpoint: str, variant: str, status: int, latency_us: float) -> None:
        """The invocation metrics SageMaker publishes per request (AWS/SageMaker, EndpointName + VariantName)."""
        self.client("cloudwatch", region).put_metric_data(
            Namespace="AWS/SageMaker", MetricData=invocation_metrics(endpoint, variant, status, latency_us)
        )

    def drain(self, timeout: float = 30) -> None:
        self._background.drain(timeout)

    def uninstall(self) -> None:
        for name, original in self._originals.items():
            owner = (
                runtime_responses.SageMakerRuntimeResponse
                if name == "invoke_endpoint"
                else sm_responses.SageMakerResponse
            )
            if original is None:
                delattr(owner, name)
            else:
                setattr(owner, name, original)
        self._clients.clear()


def install(seed: int | None = None) -> EndpointsPatch:
    return EndpointsPatch(seed)


__all__ = ["EmptyResult", "EndpointsPatch", "Fleet", "Serving", "Variant", "install", "invocation_metrics"]
