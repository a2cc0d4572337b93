"""Real-time endpoints that serve real predictions (sagemaker-contracts.md §5-§6).

moto's endpoints are `InService` at once and `InvokeEndpoint` returns a static body. Here:

- `CreateEndpoint` goes `Creating` -> `InService`; `UpdateEndpoint` (absent from moto) goes
  `Updating` -> `InService` on the new config; `UpdateEndpointWeightsAndCapacities` goes `Updating`
  with `DesiredWeight` != `CurrentWeight` until the change is applied. Each transition takes
  emulated time on the scaled clock.
- `InvokeEndpoint` loads each variant's model artifact and answers with the XGBoost container's
  contract, routing by variant weight (random per request, share = weight / sum of weights) unless
  `TargetVariant` names a variant; the response names the variant in
  `x-Amzn-Invoked-Production-Variant`. An unknown endpoint is a `ValidationError`.
- With data capture on, each sampled request is written as one JSON line in SageMaker's capture
  format under `{DestinationS3Uri}/{EndpointName}/{VariantName}/yyyy/mm/dd/hh/`.
- Each invocation records `Invocations`, `Invocation5XXErrors`, `Invocation4XXErrors` and
  `ModelLatency` (microseconds) in CloudWatch (`AWS/SageMaker`, EndpointName + VariantName).
"""

from __future__ import annotations

import base64
import json
import random
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import boto3
from moto.core.exceptions import JsonRESTError
from moto.core.responses import EmptyResult
from moto.sagemaker import responses as sm_responses
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import sagemaker_backends
from moto.sagemakerruntime import responses as runtime_responses

from retrainer_offline import clock
from retrainer_offline.background import BackgroundThreads
from retrainer_offline.serving import ModelLoadError, UnknownImageError, load_model_server, s3_reader

CREATE_SECONDS = 180.0  # emulated time for an endpoint to come up
UPDATE_SECONDS = 120.0
WEIGHTS_SECONDS = 60.0


class EndpointsPatch:
    def __init__(self, seed: int | None = None) -> None:
        self.random = random.Random(seed)
        self._background = BackgroundThreads()
        self._originals = {
            "create_endpoint": sm_responses.SageMakerResponse.create_endpoint,
            "update_endpoint_weights_and_capacities": (
                sm_responses.SageMakerResponse.update_endpoint_weights_and_capacities
            ),
            "update_endpoint": getattr(sm_responses.SageMakerResponse, "update_endpoint", None),
            "invoke_endpoint": runtime_responses.SageMakerRuntimeResponse.invoke_endpoint,
        }
        self.failing_variants: set[tuple[str, str]] = set()
        patch = self

        def create_endpoint(response: Any) -> Any:
            return patch._create_endpoint(response)

        def update_endpoint(response: Any) -> Any:
            return patch._update_endpoint(response)

        def update_weights(response: Any) -> Any:
            return patch._update_weights(response)

        sm_responses.SageMakerResponse.create_endpoint = create_endpoint
        sm_responses.SageMakerResponse.update_endpoint = update_endpoint
        sm_responses.SageMakerResponse.update_endpoint_weights_and_capacities = update_weights

        def invoke_endpoint(response: Any) -> Any:
            return patch.invoke(response)

        runtime_responses.SageMakerRuntimeResponse.invoke_endpoint = invoke_endpoint

    def _create_endpoint(self, response: Any) -> Any:
        result = self._originals["create_endpoint"](response)
        endpoint = response.sagemaker_backend.endpoints[response._get_param("EndpointName")]
        endpoint.endpoint_status = "Creating"
        self._later(CREATE_SECONDS, lambda: setattr(endpoint, "endpoint_status", "InService"))
        return result

    def _update_endpoint(self, response: Any) -> Any:
        backend = response.sagemaker_backend
        name = response._get_param("EndpointName")
        endpoint = backend.endpoints.get(name)
        if endpoint is None:
            raise ValidationError(message=f"Could not find endpoint '{name}'.")
        config_name = response._get_param("EndpointConfigName")
        config = backend.endpoint_configs.get(config_name)
        if config is None:
            raise ValidationError(message=f"Could not find endpoint configuration '{config_name}'.")
        if endpoint.endpoint_status != "InService":
            raise ValidationError(message=f'Cannot update in-progress endpoint "{endpoint.arn}".')
        endpoint.endpoint_status = "Updating"
        endpoint.deployment_config = response._get_param("DeploymentConfig")

        def apply() -> None:
            endpoint.endpoint_config_name = config_name
            endpoint.production_variants = endpoint._process_production_variants(config.production_variants)
            endpoint.data_capture_config = config.data_capture_config
            endpoint.last_modified_time = datetime.now(UTC)
            endpoint.endpoint_status = "InService"

        self._later(UPDATE_SECONDS, apply)
        return sm_responses.ActionResult({"EndpointArn": endpoint.arn})

    def _update_weights(self, response: Any) -> Any:
        endpoint = response.sagemaker_backend.endpoints.get(response._get_param("EndpointName"))
        current = {v["VariantName"]: v.get("CurrentWeight") for v in (endpoint.production_variants if endpoint else [])}
        result = self._originals["update_endpoint_weights_and_capacities"](response)
        assert endpoint is not None
        for variant in endpoint.production_variants:
            variant["CurrentWeight"] = current.get(variant["VariantName"])
        endpoint.endpoint_status = "Updating"

        def apply() -> None:
            for variant in endpoint.production_variants:
                variant["CurrentWeight"] = variant.get("DesiredWeight")
            endpoint.endpoint_status = "InService"

        self._later(WEIGHTS_SECONDS, apply)
        return result

    def _later(self, seconds: float, action: Any) -> None:
        def run() -> None:
            clock.current().sleep(seconds)
            action()

        self._background.start(run, name="endpoint-transition")

    def fail_variant(self, endpoint: str, variant: str, failing: bool = True) -> None:
        """Fault injection: the variant's model container answers 500 (for rollback tests)."""
        (self.failing_variants.add if failing else self.failing_variants.discard)((endpoint, variant))

    # ------------------------------------------------------------------ InvokeEndpoint
    def invoke(self, response: Any) -> tuple[int, dict[str, str], bytes | str]:
        name = response.path.split("/")[2]
        account, region = response.current_account, response.region
        backend = sagemaker_backends[account][region]
        endpoint = backend.endpoints.get(name)
        if endpoint is None:
            return _error(400, "ValidationError", f"Endpoint {name} of account {account} not found.")
        if endpoint.endpoint_status not in {"InService", "Updating"}:
            return _error(400, "ValidationError", f"Endpoint {name} is not in service ({endpoint.endpoint_status}).")
        headers = {k.lower(): v for k, v in response.headers.items()}
        variant = self._route(endpoint, headers.get("x-amzn-sagemaker-target-variant"))
        if variant is None:
            return _error(400, "ValidationError", f"Target variant not found for endpoint {name}.")
        body = response.body if isinstance(response.body, bytes) else str(response.body or "").encode()
        content_type = headers.get("content-type", "application/octet-stream")
        started = time.perf_counter()
        status, output, output_type = self._predict(
            backend, endpoint, variant, body, content_type, headers.get("accept")
        )
        latency_us = (time.perf_counter() - started) * 1e6
        _record_metrics(region, name, variant, status, latency_us)
        if status >= 400:
            return _error(
                424,
                "ModelError",
                f'Received server error ({status}) from model with message "{output.decode(errors="replace")}".',
            )
        self._capture(region, endpoint, variant, body, content_type, output, output_type, headers)
        return 200, {"Content-Type": output_type, "x-Amzn-Invoked-Production-Variant": variant}, output

    def _route(self, endpoint: Any, target: str | None) -> str | None:
        variants = endpoint.production_variants
        if target:
            return target if any(v["VariantName"] == target for v in variants) else None
        weights = [float(v.get("CurrentWeight") or 0.0) for v in variants]
        if sum(weights) <= 0:
            return str(variants[0]["VariantName"])
        return str(self.random.choices([v["VariantName"] for v in variants], weights=weights)[0])

    def _predict(
        self, backend: Any, endpoint: Any, variant: str, body: bytes, content_type: str, accept: str | None
    ) -> tuple[int, bytes, str]:
        if (endpoint.endpoint_name, variant) in self.failing_variants:
            return 500, b"injected model failure", "text/plain"
        config = backend.endpoint_configs[endpoint.endpoint_config_name]
        model_name = next(v["ModelName"] for v in config.production_variants if v["VariantName"] == variant)
        container = backend.describe_model(model_name).primary_container or {}
        try:
            server = load_model_server(
                container.get("Image", ""),
                container.get("ModelDataUrl", ""),
                container.get("Environment", {}),
                s3_reader(boto3.client("s3", region_name=backend.region_name)),
            )
        except (UnknownImageError, ModelLoadError) as exc:
            return 500, str(exc).encode(), "text/plain"
        return server.invoke(body, content_type, accept)

    def _capture(
        self,
        region: str,
        endpoint: Any,
        variant: str,
        body: bytes,
        content_type: str,
        output: bytes,
        output_type: str,
        headers: dict[str, str],
    ) -> None:
        capture = endpoint.data_capture_config or {}
        if not capture.get("EnableCapture"):
            return
        if self.random.uniform(0, 100) >= float(capture.get("InitialSamplingPercentage", 100)):
            return
        now = datetime.now(UTC)
        record: dict[str, Any] = {
            "captureData": {
                "endpointInput": _captured(body, content_type, "INPUT", capture),
                "endpointOutput": _captured(output, output_type, "OUTPUT", capture),
            },
            "eventMetadata": {
                "eventId": str(uuid.uuid4()),
                "inferenceTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
            "eventVersion": "0",
        }
        if "x-amzn-sagemaker-inference-id" in headers:
            record["eventMetadata"]["inferenceId"] = headers["x-amzn-sagemaker-inference-id"]
        bucket, _, prefix = capture["DestinationS3Uri"].removeprefix("s3://").partition("/")
        key = (
            f"{prefix.rstrip('/')}/{endpoint.endpoint_name}/{variant}/{now:%Y/%m/%d/%H}/"
            f"{now:%M-%S}-{now.microsecond // 1000:03d}-{uuid.uuid4()}.jsonl"
        ).lstrip("/")
        boto3.client("s3", region_name=region).put_object(Bucket=bucket, Key=key, Body=json.dumps(record) + "\n")

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


def _captured(data: bytes, content_type: str, mode: str, capture: dict[str, Any]) -> dict[str, str]:
    header = capture.get("CaptureContentTypeHeader") or {}
    media = content_type.split(";", maxsplit=1)[0].strip()
    if media in (header.get("CsvContentTypes") or ["text/csv"]):
        return {
            "observedContentType": content_type,
            "mode": mode,
            "data": data.decode().strip(),
            "encoding": "CSV",
        }
    if media in (header.get("JsonContentTypes") or ["application/json"]):
        return {"observedContentType": content_type, "mode": mode, "data": data.decode(), "encoding": "JSON"}
    return {
        "observedContentType": content_type,
        "mode": mode,
        "data": base64.b64encode(data).decode(),
        "encoding": "BASE64",
    }


def _record_metrics(region: str, endpoint: str, variant: str, status: int, latency_us: float) -> None:
    dimensions = [{"Name": "EndpointName", "Value": endpoint}, {"Name": "VariantName", "Value": variant}]
    data: list[Any] = [
        {"MetricName": "Invocations", "Value": 1.0, "Unit": "Count", "Dimensions": dimensions},
        {
            "MetricName": "Invocation5XXErrors",
            "Value": 1.0 if status >= 500 else 0.0,
            "Unit": "Count",
            "Dimensions": dimensions,
        },
        {
            "MetricName": "Invocation4XXErrors",
            "Value": 1.0 if 400 <= status < 500 else 0.0,
            "Unit": "Count",
            "Dimensions": dimensions,
        },
        {"MetricName": "ModelLatency", "Value": latency_us, "Unit": "Microseconds", "Dimensions": dimensions},
    ]
    boto3.client("cloudwatch", region_name=region).put_metric_data(Namespace="AWS/SageMaker", MetricData=data)


class _RuntimeError(JsonRESTError):
    """sagemaker-runtime's error responses (ValidationError 400, ModelError 424)."""


def _error(status: int, code: str, message: str) -> tuple[int, dict[str, str], str]:
    error = _RuntimeError(code, message)
    error.code = status
    raise error


def install(seed: int | None = None) -> EndpointsPatch:
    return EndpointsPatch(seed)


__all__ = ["EmptyResult", "EndpointsPatch", "install"]
