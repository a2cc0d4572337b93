"""What each InvokeEndpoint records in CloudWatch, and how sagemaker-runtime answers an error.

`Invocations`, `Invocation5XXErrors`, `Invocation4XXErrors` and `ModelLatency` (microseconds) in
`AWS/SageMaker` with EndpointName + VariantName: the metrics the alarm evaluator (alarms.py) judges.
"""

from __future__ import annotations

from typing import Any

from moto.core.exceptions import JsonRESTError


def invocation_metrics(endpoint: str, variant: str, status: int, latency_us: float) -> list[dict[str, Any]]:
    """One request's datapoints, as SageMaker publishes them ("Monitor Amazon SageMaker with CloudWatch")."""
    dimensions = [{"Name": "EndpointName", "Value": endpoint}, {"Name": "VariantName", "Value": variant}]
    return [
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


class _RuntimeError(JsonRESTError):
    """sagemaker-runtime's error responses (ValidationError 400, ModelError 424)."""


def runtime_error(status: int, code: str, message: str) -> tuple[int, dict[str, str], str]:
    error = _RuntimeError(code, message)
    error.code = status
    raise error
