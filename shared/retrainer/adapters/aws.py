"""boto3 adapters. Each takes its client as an argument so the composition root owns the clients."""

from __future__ import annotations

import json
import urllib.request
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from retrainer.errors import InvalidModelConfig, WorkflowStartFailed
from retrainer.ports import ProcessingJobSummary, StartedExecution

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient
    from mypy_boto3_stepfunctions import SFNClient

MODEL_CONFIG_PREFIX = "config/"


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class StepFunctionsStarter:
    def __init__(self, client: SFNClient, state_machine_arn: str) -> None:
        self._client = client
        self._arn = state_machine_arn

    def start(self, name: str, payload: str) -> StartedExecution:
        try:
            response = self._client.start_execution(stateMachineArn=self._arn, name=name, input=payload)
        except ClientError as exc:
            if _error_code(exc) == "ExecutionAlreadyExists":
                arn = self._arn.replace(":stateMachine:", ":execution:") + f":{name}"
                return StartedExecution(execution_arn=arn, already_existed=True)
            raise WorkflowStartFailed(f"StartExecution failed: {_error_code(exc) or exc}") from exc
        return StartedExecution(execution_arn=response["executionArn"], already_existed=False)


class S3ConfigStore:
    def __init__(self, client: S3Client, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def model_overrides(self, model_name: str) -> dict[str, Any] | None:
        key = f"{MODEL_CONFIG_PREFIX}{model_name}.json"
        try:
            body = self._client.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if _error_code(exc) in {"NoSuchKey", "404"}:
                return None
            raise
        try:
            document = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidModelConfig(f"s3://{self._bucket}/{key} is not valid JSON: {exc}") from exc
        if not isinstance(document, dict):
            raise InvalidModelConfig(f"s3://{self._bucket}/{key} must hold a JSON object")
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


class DynamoDBTriggerLedger:
    """Trigger bookkeeping: one item per accepted trigger, written once (conditional put)."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def record(self, run_id: str, model_name: str, item: dict[str, str]) -> bool:
        attributes = {key: {"S": value} for key, value in item.items()}
        attributes["pk"] = {"S": f"model#{model_name}"}
        attributes["sk"] = {"S": f"run#{run_id}"}
        try:
            self._client.put_item(
                TableName=self._table,
                Item=attributes,
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if _error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True


class SageMakerProcessingJobs:
    def __init__(self, client: SageMakerClient) -> None:
        self._client = client

    def summary(self, job_name: str) -> ProcessingJobSummary:
        job = self._client.describe_processing_job(ProcessingJobName=job_name)
        return ProcessingJobSummary(exit_message=job.get("ExitMessage"), environment=dict(job.get("Environment", {})))


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

    def put(self, bucket: str, key: str, body: bytes) -> None:
        self._client.put_object(Bucket=bucket, Key=key, Body=body)


class HttpCustomResourceResponder:
    """Answers CloudFormation by PUTting the response document to the pre-signed ResponseURL."""

    def __init__(self, timeout_seconds: float = 10.0) -> None:
        self._timeout = timeout_seconds

    def send(self, response_url: str, body: dict[str, Any]) -> None:
        if not response_url.startswith(("https://", "http://")):
            raise ValueError("ResponseURL must be an http(s) URL")
        data = json.dumps(body).encode("utf-8")
        request = urllib.request.Request(  # noqa: S310 - scheme checked above
            response_url, data=data, method="PUT", headers={"Content-Type": ""}
        )
        with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310
            response.read()
