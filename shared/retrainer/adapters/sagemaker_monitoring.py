"""SageMaker Model Monitor: a data-quality schedule on the project's baseline files, for accounts that still
have Model Monitor (`monitoring.engine: model_monitor`; port: retrainer.ports.ModelMonitorSchedules).

Requests as monitoring-contracts.md "APIs for the loop": CreateDataQualityJobDefinition (the analyzer image,
BaselineConfig with the baseline's statistics/constraints, the endpoint's captures as input, reports under
the output URI) then CreateMonitoringSchedule (MonitoringType DataQuality, cron). moto has the job-definition
calls but no monitoring schedules: offline this engine is unsupported (the request shape is pinned on a fake).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from retrainer.adapters.client_errors import error_code
from retrainer.ports import ModelMonitorSpec

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient

NOT_FOUND = {"ResourceNotFound", "ValidationException"}


def job_definition_request(spec: ModelMonitorSpec) -> dict[str, Any]:
    """CreateDataQualityJobDefinition, named after the schedule."""
    output: dict[str, Any] = {
        "MonitoringOutputs": [
            {
                "S3Output": {
                    "S3Uri": spec.output_uri,
                    "LocalPath": "/opt/ml/processing/output",
                    "S3UploadMode": "EndOfJob",
                }
            }
        ]
    }
    cluster: dict[str, Any] = {"InstanceCount": 1, "InstanceType": spec.instance_type, "VolumeSizeInGB": 20}
    if spec.kms_key_arn:
        output["KmsKeyId"] = spec.kms_key_arn
        cluster["VolumeKmsKeyId"] = spec.kms_key_arn
    return {
        "JobDefinitionName": spec.name,
        "DataQualityBaselineConfig": {
            "ConstraintsResource": {"S3Uri": spec.constraints_uri},
            "StatisticsResource": {"S3Uri": spec.statistics_uri},
        },
        "DataQualityAppSpecification": {
            "ImageUri": spec.image_uri,
            "Environment": {"publish_cloudwatch_metrics": "Enabled"},
        },
        "DataQualityJobInput": {
            "EndpointInput": {
                "EndpointName": spec.endpoint_name,
                "LocalPath": "/opt/ml/processing/input/endpoint",
                "S3InputMode": "File",
                "S3DataDistributionType": "FullyReplicated",
            }
        },
        "DataQualityJobOutputConfig": output,
        "JobResources": {"ClusterConfig": cluster},
        "RoleArn": spec.role_arn,
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    }


def schedule_request(spec: ModelMonitorSpec) -> dict[str, Any]:
    """CreateMonitoringSchedule on that job definition."""
    return {
        "MonitoringScheduleName": spec.name,
        "MonitoringScheduleConfig": {
            "ScheduleConfig": {"ScheduleExpression": spec.expression},
            "MonitoringJobDefinitionName": spec.name,
            "MonitoringType": "DataQuality",
        },
    }


class SageMakerModelMonitorSchedules:
    def __init__(self, client: SageMakerClient) -> None:
        self._client = client

    def create(self, spec: ModelMonitorSpec) -> None:
        try:
            self._client.create_data_quality_job_definition(**job_definition_request(spec))
        except ClientError as exc:
            if error_code(exc) != "ResourceInUse":
                raise
        try:
            self._client.create_monitoring_schedule(**schedule_request(spec))
        except ClientError as exc:
            if error_code(exc) != "ResourceInUse":
                raise

    def delete(self, name: str) -> bool:
        found = True
        try:
            self._client.delete_monitoring_schedule(MonitoringScheduleName=name)
        except ClientError as exc:
            if error_code(exc) not in NOT_FOUND:
                raise
            found = False
        try:
            self._client.delete_data_quality_job_definition(JobDefinitionName=name)
        except ClientError as exc:
            if error_code(exc) not in NOT_FOUND:
                raise
        return found
