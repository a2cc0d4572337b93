"""The trigger ledger on DynamoDB (port: retrainer.ports.TriggerLedger)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from retrainer.adapters.client_errors import error_code
from retrainer.ports import ModelState, ObjectVersion, RecordedTrigger

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

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
            if error_code(exc) != "ConditionalCheckFailedException":
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
            if error_code(exc) == "ConditionalCheckFailedException":
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
                if error_code(exc) != "ConditionalCheckFailedException":
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
            if error_code(exc) != "ConditionalCheckFailedException":
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
                if error_code(exc) != "ConditionalCheckFailedException":
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
            if error_code(exc) == "ConditionalCheckFailedException":
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
            if error_code(exc) == "ConditionalCheckFailedException":
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


def _recorded(item: dict[str, Any], redelivered: bool) -> RecordedTrigger:
    plain = {key: next(iter(value.values())) for key, value in item.items()}
    return RecordedTrigger(
        trigger_id=str(plain["sk"]).removeprefix("trigger#"),
        status=str(plain.get("status", "pending")),
        attributes={k: str(v) for k, v in plain.items() if k not in {"pk", "sk", "status", "received_at"}},
        received_at=float(plain.get("received_at", 0)),
        redelivered=redelivered,
    )
