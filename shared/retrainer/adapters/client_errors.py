"""What a botocore ClientError says, read the same way by every adapter."""

from __future__ import annotations

from botocore.exceptions import ClientError


def error_code(exc: ClientError) -> str:
    """The AWS error code (`NoSuchKey`, `ConditionalCheckFailedException`, ...), or "" when the answer has none."""
    return str(exc.response.get("Error", {}).get("Code", ""))


def error_message(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message", ""))
