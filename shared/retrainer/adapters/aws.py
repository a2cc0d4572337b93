"""boto3 adapters. Each takes its client as an argument so the composition root owns the clients."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from retrainer.errors import InvalidModelConfig, ProcessingJobNotFound, WorkflowStartFailed
from retrainer.ports import (
    ModelState,
    ObjectVersion,
    ProcessingJobSummary,
    RecordedTrigger,
    StartedExecution,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_stepfunctions import SFNClient

MODEL_CONFIG_PREFIX = "config/"


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class StepFunctionsHistory:
    """Where an execution was: the last state it entered, from GetExecutionHistory (newest first)."""

    def __init__(self, client: SFNClient, max_pages: int = 3) -> None:
        self._client = client
        self._max_pages = max_pages

    def last_state(self, execution_arn: str) -> str | None:
        kwargs: dict[str, Any] = {"executionArn": execution_arn, "reverseOrder": True, "maxResults": 100}
        try:
            for _ in range(self._max_pages):
                page = self._client.get_execution_history(**kwargs)
                entered = [
                    event
                    for event in page.get("events", [])
                    if event.get("type", "").endswith("StateEntered") and event.get("stateEnteredEventDetails")
                ]
                if entered:  # the newest by event id, whatever order the page is in
                    return str(max(entered, key=lambda event: event["id"])["stateEnteredEventDetails"]["name"])
                if not page.get("nextToken"):
                    return None
                kwargs["nextToken"] = page["nextToken"]
        except ClientError as exc:  # best effort: the notice still says what happened, without where
            logging.getLogger(__name__).warning("GetExecutionHistory failed: %s", _error_code(exc) or exc)
        return None


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


SEQUENCER_WIDTH = 40
# Consumed triggers and object sequencers expire (the table's TTL attribute `expires_at`) after 30 days:
# far beyond any redelivery (EventBridge retries for 24 h, Lambda keeps an async event 6 h), and it keeps
# the table, and the sweep's scan of it, from growing forever. Pending triggers never expire.
RETENTION_SECONDS = 30 * 86400
# A problem still unfixed after a week is notified again.
NOTICE_RETENTION_SECONDS = 7 * 86400


def comparable_sequencer(sequencer: str) -> str:
    """S3: compare sequencers of one key after right-padding the shorter with zeros."""
    return sequencer.upper().ljust(SEQUENCER_WIDTH, "0")


class DynamoDBTriggerLedger:
    """Trigger bookkeeping in one table (pk `model#<name>`), every write conditional.

    Items of a model:
    - `trigger#<id>`: an accepted trigger, written once (`attribute_not_exists`; a redelivery gets the
      item as first written back with ReturnValuesOnConditionCheckFailure=ALL_OLD); `status` pending ->
      consumed (with `consumed_by`, the run); `received_at` orders the pending triggers and is the
      debounce's sequence (`seen_seq` = the newest pending trigger's `received_at` in milliseconds);
    - `object#<digest>`: the newest S3 sequencer seen for an object key (a late event records nothing);
    - consumed triggers and object items carry `expires_at` (the table's TTL) 30 days ahead;
    - `state`: what decides whether a run may start, read with one consistent GetItem: the lock
      (`run_id`, `lock_expires_at`, a backstop for a run that died without releasing), the cost guard's
      `runs_day`/`runs` (runs started on that UTC day) and `promoted_at` (the last deployment). Taking
      the lock and counting the run is one conditional UpdateItem. The lock's expiry is not named
      `expires_at`: that is the table's TTL attribute and would delete the whole item;
    - `deferred#<day>`: the day's one "deferred" notice was sent;
    - `notice#<id>`: an "action needed" notice was sent for that problem (expires after NOTICE_RETENTION_SECONDS).

    A trigger costs two conditional PutItems (S3: sequencer, then trigger; others: the trigger) and one
    GetItem of `state`; only a trigger that may start a run writes `state`. There is no per-model
    counter: in a TransactWriteItems with the trigger, every concurrent trigger of a burst would touch
    that one item and cancel the others' transactions (TransactionConflict). Items written by earlier
    versions (`counter`, `lock`, `day#<day>`, `promotion`) are no longer read.
    """

    def __init__(
        self,
        client: DynamoDBClient,
        table: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._table = table
        self._clock = clock

    def _key(self, model_name: str, sort_key: str) -> dict[str, Any]:
        return {"pk": {"S": f"model#{model_name}"}, "sk": {"S": sort_key}}

    def record(
        self, model_name: str, trigger_id: str, item: dict[str, str], version: ObjectVersion | None = None
    ) -> RecordedTrigger:
        if version is not None and not self._is_newest(model_name, version):
            return RecordedTrigger(trigger_id=trigger_id, status="late", attributes=dict(item), late=True)
        record = {
            **self._key(model_name, f"trigger#{trigger_id}"),
            **{key: {"S": value} for key, value in item.items()},
            "status": {"S": "pending"},
            "received_at": {"N": repr(self._clock())},
        }
        try:
            self._client.put_item(
                TableName=self._table,
                Item=record,
                ConditionExpression="attribute_not_exists(pk)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if _error_code(exc) != "ConditionalCheckFailedException":
                raise
            existing: dict[str, Any] = exc.response.get("Item") or self._client.get_item(  # type: ignore[assignment]
                TableName=self._table, Key=self._key(model_name, f"trigger#{trigger_id}"), ConsistentRead=True
            ).get("Item", record)
            return _recorded(existing, redelivered=True)
        return _recorded(record, redelivered=False)

    def _is_newest(self, model_name: str, version: ObjectVersion) -> bool:
        sequencer = {"S": comparable_sequencer(version.sequencer)}
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    **self._key(model_name, f"object#{version.object_id}"),
                    "sequencer": sequencer,
                    "expires_at": {"N": str(int(self._clock() + RETENTION_SECONDS))},
                },
                ConditionExpression="attribute_not_exists(sequencer) OR sequencer <= :new",
                ExpressionAttributeValues={":new": sequencer},
            )
        except ClientError as exc:
            if _error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def model_state(self, model_name: str, day: str) -> ModelState:
        item = self._client.get_item(
            TableName=self._table, Key=self._key(model_name, "state"), ConsistentRead=True
        ).get("Item", {})
        same_day = item.get("runs_day", {}).get("S") == day
        return ModelState(
            lock_holder=item["run_id"]["S"] if "run_id" in item else None,
            lock_expires_at=float(item.get("lock_expires_at", {}).get("N", "0")),
            runs_today=int(item.get("runs", {}).get("N", "0")) if same_day else 0,
            last_promotion=float(item["promoted_at"]["N"]) if "promoted_at" in item else None,
        )

    def acquire(self, model_name: str, run_id: str, ttl_seconds: int, day: str, max_runs: int) -> bool:
        now = self._clock()
        free = "(attribute_not_exists(run_id) OR run_id = :run OR lock_expires_at < :now)"
        values = {
            ":run": {"S": run_id},
            ":now": {"N": str(int(now))},
            ":expires": {"N": str(int(now + ttl_seconds))},
            ":day": {"S": day},
            ":one": {"N": "1"},
        }
        # Today's first run resets the count; later ones add to it, up to the budget. Either way one
        # conditional write takes the lock and counts the run, so two racing triggers cannot both start.
        variants = (
            (
                "SET run_id = :run, lock_expires_at = :expires ADD runs :one",
                f"{free} AND runs_day = :day AND runs < :max",
                {**values, ":max": {"N": str(max_runs)}},
            ),
            (
                "SET run_id = :run, lock_expires_at = :expires, runs_day = :day, runs = :one",
                f"{free} AND (attribute_not_exists(runs_day) OR runs_day <> :day)",
                values,
            ),
        )
        if max_runs < 1:
            return False
        for update, condition, expression_values in variants:
            try:
                self._client.update_item(
                    TableName=self._table,
                    Key=self._key(model_name, "state"),
                    UpdateExpression=update,
                    ConditionExpression=condition,
                    ExpressionAttributeValues=expression_values,
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
            except ClientError as exc:
                if _error_code(exc) != "ConditionalCheckFailedException":
                    raise
                old: dict[str, Any] = exc.response.get("Item", {})  # type: ignore[assignment]
                if old.get("runs_day", {}).get("S") == day:
                    return False  # the lock is taken or today's budget is used up
                continue  # a new day (or a new model): the second variant
            return True
        return False

    def release(self, model_name: str, run_id: str, promoted_at: float | None = None) -> bool:
        promotion: dict[str, Any] = {} if promoted_at is None else {":promoted": {"N": repr(promoted_at)}}
        update = "REMOVE run_id, lock_expires_at" + (" SET promoted_at = :promoted" if promotion else "")
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self._key(model_name, "state"),
                UpdateExpression=update,
                ConditionExpression="run_id = :run",
                ExpressionAttributeValues={":run": {"S": run_id}, **promotion},
            )
        except ClientError as exc:
            if _error_code(exc) != "ConditionalCheckFailedException":
                raise
            if promotion:  # the lock had already gone (expired, taken over): the promotion still counts
                self._client.update_item(
                    TableName=self._table,
                    Key=self._key(model_name, "state"),
                    UpdateExpression="SET promoted_at = :promoted",
                    ExpressionAttributeValues=promotion,
                )
            return False
        return True

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
            found += [_recorded(item, redelivered=False) for item in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return sorted(found, key=lambda trigger: (trigger.received_at, trigger.trigger_id))
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def consume(self, model_name: str, triggers: list[RecordedTrigger], run_id: str) -> list[RecordedTrigger]:
        consumed: list[RecordedTrigger] = []
        for trigger in triggers:
            try:
                self._client.update_item(**self._consume_update(model_name, trigger, run_id))
            except ClientError as exc:
                if _error_code(exc) != "ConditionalCheckFailedException":
                    raise
                continue
            consumed.append(trigger)
        return consumed

    def _consume_update(self, model_name: str, trigger: RecordedTrigger, run_id: str) -> dict[str, Any]:
        return {
            "TableName": self._table,
            "Key": self._key(model_name, f"trigger#{trigger.trigger_id}"),
            "UpdateExpression": "SET #status = :consumed, consumed_by = :run, expires_at = :expires",
            "ConditionExpression": "#status = :pending",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {
                ":consumed": {"S": "consumed"},
                ":pending": {"S": "pending"},
                ":run": {"S": run_id},
                ":expires": {"N": str(int(self._clock() + RETENTION_SECONDS))},
            },
        }

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

    def first_notice(self, model_name: str, notice_id: str, problem: str) -> bool:
        expires = int(self._clock()) + NOTICE_RETENTION_SECONDS
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    **self._key(model_name, f"notice#{notice_id}"),
                    "problem": {"S": problem},
                    "expires_at": {"N": str(expires)},
                },
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


def _recorded(item: dict[str, Any], redelivered: bool) -> RecordedTrigger:
    plain = {key: next(iter(value.values())) for key, value in item.items()}
    return RecordedTrigger(
        trigger_id=str(plain["sk"]).removeprefix("trigger#"),
        status=str(plain.get("status", "pending")),
        attributes={k: str(v) for k, v in plain.items() if k not in {"pk", "sk", "status", "received_at"}},
        received_at=float(plain.get("received_at", 0)),
        redelivered=redelivered,
    )


class SageMakerProcessingJobs:
    def __init__(self, client: SageMakerClient) -> None:
        self._client = client

    def summary(self, job_name: str) -> ProcessingJobSummary:
        try:
            job = self._client.describe_processing_job(ProcessingJobName=job_name)
        except ClientError as exc:
            # SageMaker answers an unknown job name with ValidationException ("Could not find requested job").
            if _error_code(exc) in {"ValidationException", "ResourceNotFound"}:
                raise ProcessingJobNotFound(f"DescribeProcessingJob: no processing job named {job_name!r}") from exc
            raise
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
        import urllib.request  # only the custom-resource function needs it: kept out of the handlers' import

        data = json.dumps(body).encode("utf-8")
        request = urllib.request.Request(  # noqa: S310 - scheme checked above
            response_url, data=data, method="PUT", headers={"Content-Type": ""}
        )
        with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310 - scheme checked above  # nosec B310
            response.read()
