"""boto3 adapters. Each takes its client as an argument so the composition root owns the clients."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from retrainer.errors import InvalidModelConfig, WorkflowStartFailed
from retrainer.ports import ProcessingJobSummary, RecordedTrigger, StartedExecution

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient
    from mypy_boto3_sns import SNSClient
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


SEQUENCER_WIDTH = 40


def comparable_sequencer(sequencer: str) -> str:
    """S3: compare sequencers of one key after right-padding the shorter with zeros."""
    return sequencer.upper().ljust(SEQUENCER_WIDTH, "0")


class DynamoDBTriggerLedger:
    """Trigger bookkeeping in one table (pk `model#<name>`), every write conditional.

    - `trigger#<id>`: an accepted trigger, written once; `status` pending -> consumed by a run;
    - `object#<digest>`: the newest S3 sequencer seen for an object key;
    - `counter`: the model's trigger sequence (debounce compares it);
    - `lock`: the run that owns the model now, with an expiry as a backstop.
    """

    def __init__(self, client: DynamoDBClient, table: str, clock: Callable[[], float] = time.time) -> None:
        self._client = client
        self._table = table
        self._clock = clock

    def _key(self, model_name: str, sort_key: str) -> dict[str, Any]:
        return {"pk": {"S": f"model#{model_name}"}, "sk": {"S": sort_key}}

    def is_newest(self, model_name: str, object_id: str, sequencer: str) -> bool:
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    **self._key(model_name, f"object#{object_id}"),
                    "sequencer": {"S": comparable_sequencer(sequencer)},
                },
                ConditionExpression="attribute_not_exists(sequencer) OR sequencer <= :new",
                ExpressionAttributeValues={":new": {"S": comparable_sequencer(sequencer)}},
            )
        except ClientError as exc:
            if _error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def record(self, model_name: str, trigger_id: str, item: dict[str, str]) -> RecordedTrigger:
        seq = int(
            self._client.update_item(
                TableName=self._table,
                Key=self._key(model_name, "counter"),
                UpdateExpression="ADD seq :one",
                ExpressionAttributeValues={":one": {"N": "1"}},
                ReturnValues="UPDATED_NEW",
            )["Attributes"]["seq"]["N"]
        )
        attributes = {key: {"S": value} for key, value in item.items()}
        record = {
            **self._key(model_name, f"trigger#{trigger_id}"),
            **attributes,
            "seq": {"N": str(seq)},
            "status": {"S": "pending"},
            "received_at": {"N": str(self._clock())},
        }
        try:
            self._client.put_item(TableName=self._table, Item=record, ConditionExpression="attribute_not_exists(pk)")
        except ClientError as exc:
            if _error_code(exc) != "ConditionalCheckFailedException":
                raise
            existing = self._client.get_item(
                TableName=self._table, Key=self._key(model_name, f"trigger#{trigger_id}"), ConsistentRead=True
            )["Item"]
            return _recorded(existing, duplicate=True)
        return _recorded(record, duplicate=False)

    def acquire(self, model_name: str, run_id: str, ttl_seconds: int) -> bool:
        now = self._clock()
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    **self._key(model_name, "lock"),
                    "run_id": {"S": run_id},
                    "expires_at": {"N": str(int(now + ttl_seconds))},
                },
                ConditionExpression="attribute_not_exists(pk) OR run_id = :run OR expires_at < :now",
                ExpressionAttributeValues={":run": {"S": run_id}, ":now": {"N": str(int(now))}},
            )
        except ClientError as exc:
            if _error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def release(self, model_name: str, run_id: str) -> None:
        try:
            self._client.delete_item(
                TableName=self._table,
                Key=self._key(model_name, "lock"),
                ConditionExpression="run_id = :run",
                ExpressionAttributeValues={":run": {"S": run_id}},
            )
        except ClientError as exc:
            if _error_code(exc) != "ConditionalCheckFailedException":
                raise

    def pending(self, model_name: str) -> list[RecordedTrigger]:
        found: list[RecordedTrigger] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "FilterExpression": "#status = :pending",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {
                ":pk": {"S": f"model#{model_name}"},
                ":prefix": {"S": "trigger#"},
                ":pending": {"S": "pending"},
            },
            "ConsistentRead": True,
        }
        while True:
            page = self._client.query(**kwargs)
            found += [_recorded(item, duplicate=False) for item in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return sorted(found, key=lambda trigger: trigger.seq)
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def consume(self, model_name: str, trigger_ids: list[str], run_id: str) -> list[str]:
        consumed = []
        for trigger_id in trigger_ids:
            try:
                self._client.update_item(
                    TableName=self._table,
                    Key=self._key(model_name, f"trigger#{trigger_id}"),
                    UpdateExpression="SET #status = :consumed, consumed_by = :run",
                    ConditionExpression="#status = :pending",
                    ExpressionAttributeNames={"#status": "status"},
                    ExpressionAttributeValues={
                        ":consumed": {"S": "consumed"},
                        ":pending": {"S": "pending"},
                        ":run": {"S": run_id},
                    },
                )
            except ClientError as exc:
                if _error_code(exc) != "ConditionalCheckFailedException":
                    raise
                continue
            consumed.append(trigger_id)
        return consumed

    def runs_started(self, model_name: str, day: str) -> int:
        item = self._client.get_item(
            TableName=self._table, Key=self._key(model_name, f"day#{day}"), ConsistentRead=True
        ).get("Item", {})
        return int(item.get("runs", {}).get("N", "0"))

    def count_run(self, model_name: str, day: str) -> None:
        self._client.update_item(
            TableName=self._table,
            Key=self._key(model_name, f"day#{day}"),
            UpdateExpression="ADD runs :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )

    def last_promotion(self, model_name: str) -> float | None:
        item = self._client.get_item(
            TableName=self._table, Key=self._key(model_name, "promotion"), ConsistentRead=True
        ).get("Item")
        return float(item["promoted_at"]["N"]) if item else None

    def record_promotion(self, model_name: str, when: float) -> None:
        self._client.put_item(
            TableName=self._table, Item={**self._key(model_name, "promotion"), "promoted_at": {"N": str(when)}}
        )

    def first_deferral(self, model_name: str, day: str, reason: str) -> bool:
        try:
            self._client.put_item(
                TableName=self._table,
                Item={**self._key(model_name, f"deferred#{day}"), "reason": {"S": reason}},
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if _error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def models_with_pending(self) -> list[str]:
        models: set[str] = set()
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "FilterExpression": "begins_with(sk, :prefix) AND #status = :pending",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {":prefix": {"S": "trigger#"}, ":pending": {"S": "pending"}},
            "ConsistentRead": True,
        }
        while True:
            page = self._client.scan(**kwargs)
            models.update(item["pk"]["S"].removeprefix("model#") for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return sorted(models)
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


class SnsNotifier:
    """Trigger-side notices (a deferred trigger) on the same topic the state machine notifies."""

    def __init__(self, client: SNSClient, topic_arn: str) -> None:
        self._client = client
        self._topic = topic_arn

    def publish(self, subject: str, message: dict[str, Any], outcome: str, model_name: str) -> None:
        if not self._topic:
            return
        self._client.publish(
            TopicArn=self._topic,
            Subject=subject[:100],
            Message=json.dumps(message, default=str),
            MessageAttributes={
                "outcome": {"DataType": "String", "StringValue": outcome},
                "model_name": {"DataType": "String", "StringValue": model_name},
            },
        )


def _recorded(item: dict[str, Any], duplicate: bool) -> RecordedTrigger:
    plain = {key: next(iter(value.values())) for key, value in item.items()}
    return RecordedTrigger(
        trigger_id=str(plain["sk"]).removeprefix("trigger#"),
        seq=int(plain.get("seq", 0)),
        status=str(plain.get("status", "pending")),
        attributes={k: str(v) for k, v in plain.items() if k not in {"pk", "sk", "seq", "status"}},
        redelivered=duplicate,
    )


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
