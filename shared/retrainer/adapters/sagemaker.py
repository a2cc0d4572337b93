"""SageMaker: endpoints, the Model Registry and processing jobs (ports: Endpoints, ModelRegistry, ProcessingJobs)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from retrainer.adapters.client_errors import error_code, error_message
from retrainer.errors import EndpointConfigExists, ProcessingJobNotFound
from retrainer.ports import EndpointState, LiveVariant, ModelArtifact, ModelVersion, ProcessingJobSummary, VariantSpec

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient


def _not_found(exc: ClientError) -> bool:
    """SageMaker answers a missing endpoint, config or model with ValidationException 'Could not find ...'."""
    return error_code(exc) in {"ValidationException", "ValidationError", "ResourceNotFound"} and (
        "could not find" in error_message(exc).lower() or "does not exist" in error_message(exc).lower()
    )


class SageMakerEndpoints:
    def __init__(self, client: SageMakerClient, kms_key_id: str = "") -> None:
        self._client = client
        self._kms_key_id = kms_key_id

    def describe(self, endpoint_name: str) -> EndpointState | None:
        try:
            endpoint = self._client.describe_endpoint(EndpointName=endpoint_name)
        except ClientError as exc:
            if _not_found(exc):
                return None
            raise
        config_name = endpoint.get("EndpointConfigName", "")
        specs = {spec.name: spec for spec in self.config_variants(config_name) or []}
        variants = []
        for live in endpoint.get("ProductionVariants", []):
            spec = specs.get(live["VariantName"])
            variants.append(
                LiveVariant(
                    name=live["VariantName"],
                    model_name=spec.model_name if spec else "",
                    instance_type=spec.instance_type if spec else "",
                    instance_count=int(live.get("CurrentInstanceCount") or (spec.instance_count if spec else 1)),
                    current_weight=float(live.get("CurrentWeight", 0.0)),
                    desired_weight=float(live.get("DesiredWeight", live.get("CurrentWeight", 0.0))),
                )
            )
        return EndpointState(
            name=endpoint_name,
            status=endpoint["EndpointStatus"],
            config_name=config_name,
            variants=tuple(variants),
            failure_reason=endpoint.get("FailureReason", ""),
        )

    def model_artifact(self, model_name: str) -> ModelArtifact | None:
        try:
            model = self._client.describe_model(ModelName=model_name)
        except ClientError as exc:
            if _not_found(exc):
                return None
            raise
        container: Any = model.get("PrimaryContainer") or (model.get("Containers") or [{}])[0]
        return ModelArtifact(image=container.get("Image", ""), model_data_url=container.get("ModelDataUrl", ""))

    def config_variants(self, config_name: str) -> list[VariantSpec] | None:
        if not config_name:
            return None
        try:
            config = self._client.describe_endpoint_config(EndpointConfigName=config_name)
        except ClientError as exc:
            if _not_found(exc):
                return None
            raise
        return [
            VariantSpec(
                name=variant["VariantName"],
                model_name=variant.get("ModelName", ""),
                instance_type=variant.get("InstanceType", ""),
                instance_count=int(variant.get("InitialInstanceCount", 1)),
                weight=float(variant.get("InitialVariantWeight", 1.0)),
            )
            for variant in config.get("ProductionVariants", [])
        ]

    def create_config(self, config_name: str, variants: list[VariantSpec], data_capture: dict[str, Any]) -> None:
        request: dict[str, Any] = {
            "EndpointConfigName": config_name,
            "ProductionVariants": [
                {
                    "VariantName": v.name,
                    "ModelName": v.model_name,
                    "InstanceType": v.instance_type,
                    "InitialInstanceCount": v.instance_count,
                    "InitialVariantWeight": v.weight,
                }
                for v in variants
            ],
            "DataCaptureConfig": data_capture,
        }
        if self._kms_key_id:
            request["KmsKeyId"] = self._kms_key_id
        try:
            self._client.create_endpoint_config(**request)
        except ClientError as exc:
            if "already exist" in error_message(exc).lower():
                raise EndpointConfigExists(config_name) from exc
            raise

    def delete_config(self, config_name: str) -> bool:
        try:
            self._client.delete_endpoint_config(EndpointConfigName=config_name)
        except ClientError as exc:
            if not _not_found(exc):
                raise
            return False
        return True

    def delete_model(self, model_name: str) -> None:
        try:
            self._client.delete_model(ModelName=model_name)
        except ClientError as exc:
            if not _not_found(exc):
                raise


class SageMakerModelRegistry:
    def __init__(self, client: SageMakerClient) -> None:
        self._client = client

    def ensure_group(self, group: str, description: str) -> None:
        try:
            self._client.describe_model_package_group(ModelPackageGroupName=group)
            return
        except ClientError as exc:
            if not _not_found(exc) and error_code(exc) not in {"ValidationException", "ValidationError"}:
                raise
        try:
            self._client.create_model_package_group(
                ModelPackageGroupName=group, ModelPackageGroupDescription=description[:1024]
            )
        except ClientError as exc:
            if "already exist" not in error_message(exc).lower():
                raise

    def versions(self, group: str) -> list[ModelVersion]:
        found: list[ModelVersion] = []
        kwargs: dict[str, Any] = {
            "ModelPackageGroupName": group,
            "SortBy": "CreationTime",
            "SortOrder": "Descending",
            "MaxResults": 100,
        }
        while True:
            try:
                page = self._client.list_model_packages(**kwargs)
            except ClientError as exc:
                if _not_found(exc):
                    return found
                raise
            found += [
                ModelVersion(
                    arn=summary["ModelPackageArn"],
                    version=int(summary.get("ModelPackageVersion", 0)),
                    status=str(summary.get("ModelApprovalStatus", "")),
                    description=str(summary.get("ModelPackageDescription", "")),
                )
                for summary in page.get("ModelPackageSummaryList", [])
            ]
            token = page.get("NextToken")
            if not token:
                return found
            kwargs["NextToken"] = token

    def artifact_url(self, arn: str) -> str:
        package = self._client.describe_model_package(ModelPackageName=arn)
        containers: list[Any] = list(package.get("InferenceSpecification", {}).get("Containers", []))
        return str(containers[0].get("ModelDataUrl", "")) if containers else ""

    def register(
        self,
        group: str,
        description: str,
        artifact: ModelArtifact,
        report_uri: str,
        metadata: dict[str, str],
        instance_types: tuple[str, str],
    ) -> ModelVersion:
        realtime, transform = instance_types
        inference: Any = {
            "Containers": [{"Image": artifact.image, "ModelDataUrl": artifact.model_data_url}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
            "SupportedRealtimeInferenceInstanceTypes": [realtime],
            "SupportedTransformInstanceTypes": [transform],
        }
        response = self._client.create_model_package(
            ModelPackageGroupName=group,
            ModelPackageDescription=description[:1024],
            ModelApprovalStatus="PendingManualApproval",
            InferenceSpecification=inference,
            ModelMetrics={"ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": report_uri}}},
            CustomerMetadataProperties=_metadata(metadata),
        )
        arn = response["ModelPackageArn"]
        # A versioned package's ARN ends in its version: model-package/<group>/<version>.
        return ModelVersion(
            arn=arn, version=int(arn.rsplit("/", 1)[1]), status="PendingManualApproval", description=description
        )

    def set_status(self, arn: str, status: str, description: str, metadata: dict[str, str]) -> None:
        self._client.update_model_package(
            ModelPackageArn=arn,
            ModelApprovalStatus=status,  # type: ignore[arg-type]
            ApprovalDescription=description[:1024],
            CustomerMetadataProperties=_metadata(metadata),
        )

    def annotate(self, arn: str, metadata: dict[str, str]) -> None:
        self._client.update_model_package(ModelPackageArn=arn, CustomerMetadataProperties=_metadata(metadata))


def _metadata(values: dict[str, str]) -> dict[str, str]:
    """CustomerMetadataProperties: keys up to 128 characters, values up to 256."""
    return {key[:128]: str(value)[:256] for key, value in values.items()}


class SageMakerProcessingJobs:
    def __init__(self, client: SageMakerClient) -> None:
        self._client = client

    def summary(self, job_name: str) -> ProcessingJobSummary:
        try:
            job = self._client.describe_processing_job(ProcessingJobName=job_name)
        except ClientError as exc:
            # SageMaker answers an unknown job name with ValidationException ("Could not find requested job").
            if error_code(exc) in {"ValidationException", "ResourceNotFound"}:
                raise ProcessingJobNotFound(f"DescribeProcessingJob: no processing job named {job_name!r}") from exc
            raise
        return ProcessingJobSummary(exit_message=job.get("ExitMessage"), environment=dict(job.get("Environment", {})))
