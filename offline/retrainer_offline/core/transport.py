"""Requests reach the emulated S3 over TLS, as every boto3 call to AWS does.

moto evaluates bucket policies without request context and does not know the `Bool` condition
operator, so the standard "deny when aws:SecureTransport is false" statement (template.yaml's
TLS-only bucket policies) denies every request. AWS sets `aws:SecureTransport` to "true" for HTTPS
requests and boto3 always uses HTTPS, so such a statement never applies to a request here: the
emulator evaluates the policy without it.
"""

from __future__ import annotations

import json
from typing import Any

from moto.iam.access_control import IAMPolicy, PermissionResult
from moto.s3.models import FakeBucket

INSECURE_TRANSPORT = {"Bool": {"aws:SecureTransport": "false"}}


def applies_to_tls_requests(statement: dict[str, Any]) -> bool:
    """A statement conditioned on aws:SecureTransport=false never matches an HTTPS request."""
    return statement.get("Condition") != INSECURE_TRANSPORT


def _get_permission(bucket: FakeBucket, action: str, resource: str) -> Any:
    if bucket.policy is None:
        return PermissionResult.NEUTRAL
    document = json.loads(bucket.policy.decode())
    statements = document["Statement"] if isinstance(document["Statement"], list) else [document["Statement"]]
    kept = [s for s in statements if applies_to_tls_requests(s)]
    if not kept:
        return PermissionResult.NEUTRAL
    return IAMPolicy(json.dumps({**document, "Statement": kept})).is_action_permitted(action, resource)


class TransportPatch:
    def __init__(self) -> None:
        self._original = FakeBucket.get_permission
        FakeBucket.get_permission = _get_permission

    def uninstall(self) -> None:
        FakeBucket.get_permission = self._original


def install() -> TransportPatch:
    return TransportPatch()
