"""Endpoint data capture (sagemaker-contracts.md §6): each sampled request as one JSON line in SageMaker's format.

Written under `{DestinationS3Uri}/{EndpointName}/{VariantName}/yyyy/mm/dd/hh/`, `InitialSamplingPercentage`
of the requests, input and output as the `CaptureContentTypeHeader` says (CSV/JSON as text, else base64).
"""

from __future__ import annotations

import base64
import json
import random
import uuid
from datetime import UTC, datetime
from typing import Any

from retrainer_offline.sagemaker.fleets import Fleet


def captured_object(
    rng: random.Random,
    endpoint_name: str,
    fleet: Fleet,
    variant: str,
    body: bytes,
    content_type: str,
    output: bytes,
    output_type: str,
    headers: dict[str, str],
) -> tuple[str, str, str] | None:
    """The capture file one sampled request writes (bucket, key, JSON line), or None if it is not captured."""
    capture = fleet.data_capture or {}
    if not capture.get("EnableCapture"):
        return None
    if rng.uniform(0, 100) >= float(capture.get("InitialSamplingPercentage", 100)):
        return None
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
        f"{prefix.rstrip('/')}/{endpoint_name}/{variant}/{now:%Y/%m/%d/%H}/"
        f"{now:%M-%S}-{now.microsecond // 1000:03d}-{uuid.uuid4()}.jsonl"
    ).lstrip("/")
    return bucket, key, json.dumps(record) + "\n"


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
