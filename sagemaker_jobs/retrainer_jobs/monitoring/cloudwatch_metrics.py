"""The CloudWatch metrics a monitoring run publishes, named as Model Monitor names them.

Namespace `aws/sagemaker/Endpoints/data-metrics`, dimensions `Endpoint` and `MonitoringSchedule` (the names AWS's
examples alarm on); per feature `feature_baseline_drift_<f>` (the drift distance), `feature_non_null_<f>` (the
completeness) and, for numeric features, `feature_data_<f>` as a statistic set (Max, Min, Sum, SampleCount; CloudWatch
derives Average). Only when `emit_metrics` is Enabled in the constraints.

The run always writes the metrics as PutMetricData requests to a JSON file (`cloudwatch_metrics.json`: a list of
`{"Namespace", "MetricData"}` requests), which the caller can put; with `publish_cloudwatch_metrics=Enabled` it
also puts them itself (the processing role then needs cloudwatch:PutMetricData on that namespace).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from .feature_statistics import DatasetStatistics, FeatureKind

NAMESPACE = "aws/sagemaker/Endpoints/data-metrics"
MAX_DATA_PER_REQUEST = 1000  # PutMetricData accepts up to 1,000 metrics per request


class MetricsClient(Protocol):
    def put_metric_data(self, **request: Any) -> Any: ...


def metric_data(
    window: DatasetStatistics,
    drift: dict[str, float],
    *,
    endpoint: str,
    schedule: str,
    timestamp: datetime,
) -> list[dict[str, Any]]:
    dimensions = [{"Name": "Endpoint", "Value": endpoint}, {"Name": "MonitoringSchedule", "Value": schedule}]
    data: list[dict[str, Any]] = []

    def put(name: str, **value: Any) -> None:
        data.append({"MetricName": name, "Dimensions": dimensions, "Timestamp": timestamp.isoformat(), **value})

    for feature in window.features:
        put(f"feature_non_null_{feature.name}", Value=feature.completeness, Unit="None")
        if feature.name in drift:
            put(f"feature_baseline_drift_{feature.name}", Value=drift[feature.name], Unit="None")
        if feature.kind is FeatureKind.NUMERIC and feature.moments.count:
            moments = feature.moments
            put(
                f"feature_data_{feature.name}",
                StatisticValues={
                    "SampleCount": float(moments.count),
                    "Sum": moments.total,
                    "Minimum": moments.minimum,
                    "Maximum": moments.maximum,
                },
                Unit="None",
            )
    return data


def put_requests(data: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"Namespace": NAMESPACE, "MetricData": data[i : i + MAX_DATA_PER_REQUEST]}
        for i in range(0, len(data), MAX_DATA_PER_REQUEST)
    ]


def publish(requests: list[dict[str, Any]], client: MetricsClient) -> int:
    """Put the requests (timestamps parsed back to datetimes, as boto3 takes them); the number of metrics put."""
    count = 0
    for request in requests:
        metric_data = [
            {**datum, "Timestamp": datetime.fromisoformat(datum["Timestamp"])} for datum in request["MetricData"]
        ]
        client.put_metric_data(Namespace=request["Namespace"], MetricData=metric_data)
        count += len(metric_data)
    return count
