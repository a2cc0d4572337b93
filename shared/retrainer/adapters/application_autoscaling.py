"""Application Auto Scaling of endpoint variants (port: retrainer.ports.VariantScaling)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from botocore.exceptions import ClientError

from retrainer.adapters.client_errors import error_code

if TYPE_CHECKING:
    from mypy_boto3_application_autoscaling import ApplicationAutoScalingClient

SCALABLE_DIMENSION: Final = "sagemaker:variant:DesiredInstanceCount"


class ApplicationAutoScalingVariants:
    def __init__(self, client: ApplicationAutoScalingClient) -> None:
        self._client = client

    def register(
        self, endpoint_name: str, variant: str, minimum: int, maximum: int, target: float, cooldowns: tuple[int, int]
    ) -> None:
        resource = _resource_id(endpoint_name, variant)
        self._client.register_scalable_target(
            ServiceNamespace="sagemaker",
            ResourceId=resource,
            ScalableDimension=SCALABLE_DIMENSION,
            MinCapacity=minimum,
            MaxCapacity=maximum,
        )
        scale_in, scale_out = cooldowns
        self._client.put_scaling_policy(
            PolicyName=_policy_name(variant),
            ServiceNamespace="sagemaker",
            ResourceId=resource,
            ScalableDimension=SCALABLE_DIMENSION,
            PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": target,
                "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
                "ScaleInCooldown": scale_in,
                "ScaleOutCooldown": scale_out,
            },
        )

    def deregister(self, endpoint_name: str, variant: str) -> bool:
        resource = _resource_id(endpoint_name, variant)
        targets = self._client.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[resource])
        if not targets.get("ScalableTargets"):
            return False
        policies = self._client.describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId=resource)
        for policy in policies.get("ScalingPolicies", []):
            self._client.delete_scaling_policy(
                PolicyName=policy["PolicyName"],
                ServiceNamespace="sagemaker",
                ResourceId=resource,
                ScalableDimension=SCALABLE_DIMENSION,
            )
        try:
            self._client.deregister_scalable_target(
                ServiceNamespace="sagemaker", ResourceId=resource, ScalableDimension=SCALABLE_DIMENSION
            )
        except ClientError as exc:
            if error_code(exc) != "ObjectNotFoundException":
                raise
        return True


def _resource_id(endpoint_name: str, variant: str) -> str:
    return f"endpoint/{endpoint_name}/variant/{variant}"


def _policy_name(variant: str) -> str:
    return f"{variant}-invocations-per-instance"
