"""S3: model configuration documents, the training data catalog and plain objects
(ports: ConfigStore, DataCatalog, ObjectReader, ObjectWriter)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from retrainer.adapters.client_errors import error_code
from retrainer.errors import InvalidModelConfig

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

MODEL_CONFIG_PREFIX = "config/"


class S3ConfigStore:
    def __init__(self, client: S3Client, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def model_overrides(self, model_name: str) -> dict[str, Any] | None:
        key = f"{MODEL_CONFIG_PREFIX}{model_name}.json"
        try:
            body = self._client.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if error_code(exc) in {"NoSuchKey", "404"}:
                return None
            raise
        try:
            document = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidModelConfig(
                f"s3://{self._bucket}/{key} is not valid JSON: {exc}",
                model_name=model_name,
                file=f"s3://{self._bucket}/{key}",
            ) from exc
        if not isinstance(document, dict):
            raise InvalidModelConfig(
                f"s3://{self._bucket}/{key} must hold a JSON object",
                model_name=model_name,
                file=f"s3://{self._bucket}/{key}",
            )
        return document


class S3DataCatalog:
    def __init__(self, client: S3Client) -> None:
        self._client = client

    def has_csv(self, bucket: str, prefix: str) -> bool:
        paginator = self._client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                if item["Key"].lower().endswith(".csv") and item.get("Size", 0) > 0:
                    return True
        return False


class S3Objects:
    def __init__(self, client: S3Client) -> None:
        self._client = client

    def list_keys(self, bucket: str, prefix: str) -> list[str]:
        keys: list[str] = []
        for page in self._client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            keys.extend(item["Key"] for item in page.get("Contents", []))
        return sorted(keys)

    def read_lines(self, bucket: str, key: str) -> list[str]:
        body = self._client.get_object(Bucket=bucket, Key=key)["Body"].read()
        return body.decode("utf-8").splitlines()

    def list_folders(self, bucket: str, prefix: str) -> list[str]:
        folders: list[str] = []
        for page in self._client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
            folders.extend(item["Prefix"] for item in page.get("CommonPrefixes", []))
        return sorted(folders)

    def has_objects(self, bucket: str, prefix: str) -> bool:
        return bool(self._client.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1).get("KeyCount", 0))

    def put(self, bucket: str, key: str, body: bytes) -> None:
        self._client.put_object(Bucket=bucket, Key=key, Body=body)
