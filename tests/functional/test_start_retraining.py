"""start_retraining: an S3 upload under <prefix><model>/ starts exactly one run of that model."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from functions.start_retraining import app
from retrainer import composition
from retrainer.errors import AwsCallFailed, AwsServiceBusy, InvalidModelConfig
from tests.aws_stack import Stack
from tests.samples import FakeContext, load_event
from tests.sns_messages import published

SAMPLE = load_event("s3_object_created.json")
KEY = SAMPLE["detail"]["object"]["key"]


def event_with(**object_fields: Any) -> dict[str, Any]:
    event = copy.deepcopy(SAMPLE)
    event["detail"]["object"].update(object_fields)
    return event


def test_sample_upload_starts_one_run_on_the_whole_model_folder(stack: Stack, context: FakeContext) -> None:
    # Given a CSV already in the churn folder (the one the event announces)
    stack.upload(KEY)
    # When the sample "Object Created" event arrives
    result = app.lambda_handler(SAMPLE, context)
    # Then one execution runs, named after the run, reading the whole folder with the stack defaults
    assert result["status"] == "started"
    [execution] = stack.executions()
    assert execution["name"] == result["run_id"]
    assert result["run_id"].startswith("churn-") and len(result["run_id"]) <= 80
    request = json.loads(execution["input"])
    assert request["data"]["s3_uri"] == f"s3://{stack.data_bucket}/incoming/churn/"
    assert request["endpoint_name"] == "retrainer-churn"
    assert request["config"]["target_column"] == "label"
    assert request["config"]["metric"] == "auc" and request["config"]["threshold"] == 0.9
    assert request["config"]["hyperparameters"]["num_round"] == "100"
    assert request["correlation_id"] == SAMPLE["id"]
    assert request["preprocess_arguments"][-2:] == ["--target-column", "label"]
    # And the trigger is recorded, pending until the run claims it, and the run holds the model's lock
    items = {item["sk"]["S"]: item for item in stack.ledger()}
    trigger = items[f"trigger#{result['run_id'].removeprefix('churn-')}"]
    assert trigger["status"]["S"] == "pending" and trigger["trigger_source"]["S"].endswith(KEY)
    assert items["state"]["run_id"]["S"] == result["run_id"]


def test_redelivered_event_starts_nothing_new(stack: Stack, context: FakeContext) -> None:
    # Given an upload whose event was already handled
    stack.upload(KEY)
    first = app.lambda_handler(SAMPLE, context)
    # When EventBridge delivers the same event again
    second = app.lambda_handler(copy.deepcopy(SAMPLE), context)
    # Then it is reported as a duplicate of the same run and still only one execution exists
    assert second["status"] == "duplicate"
    assert second["run_id"] == first["run_id"]
    assert len(stack.executions()) == 1


def test_a_new_version_while_a_run_is_in_progress_waits_as_pending(stack: Stack, context: FakeContext) -> None:
    # Given a run in progress for churn
    stack.upload(KEY)
    first = app.lambda_handler(SAMPLE, context)
    # When a newer version of the same object arrives
    second = app.lambda_handler(event_with(**{"version-id": "newer", "sequencer": "00617F0829932AAAAA"}), context)
    # Then it is kept as a pending trigger for the same model, and no second execution starts
    assert second["status"] == "pending" and second["run_id"] != first["run_id"]
    assert len(stack.executions()) == 1
    pending = [i for i in stack.ledger() if i["sk"]["S"].startswith("trigger#") and i["status"]["S"] == "pending"]
    assert len(pending) == 2


def test_an_older_sequencer_arriving_late_is_ignored(stack: Stack, context: FakeContext) -> None:
    # Given the newer write of a key was seen first
    stack.upload(KEY)
    app.lambda_handler(event_with(**{"version-id": "v2", "sequencer": "00617F0829932AAAAA"}), context)
    # When the older write's event arrives late (S3 does not order deliveries)
    late = app.lambda_handler(event_with(**{"version-id": "v1", "sequencer": "00617F08299329D189"}), context)
    # Then it is rejected as late and records nothing
    assert late["status"] == "rejected" and "newer sequencer" in late["reason"]
    assert len([i for i in stack.ledger() if i["sk"]["S"].startswith("trigger#")]) == 1


def test_model_config_document_overrides_stack_defaults(stack: Stack, context: FakeContext) -> None:
    # Given churn's own configuration document in the artifacts bucket
    stack.upload(KEY)
    document = {
        "target_column": "churned",
        "positive_label": "yes",
        "drop_columns": ["customer_id"],
        "threshold": 0.8,
        "hyperparameters": {"num_round": 50, "max_depth": 3},
        "instances": {"training_instance_type": "ml.m5.2xlarge"},
    }
    stack.s3.put_object(Bucket=stack.artifacts_bucket, Key="config/churn.json", Body=json.dumps(document))
    # When the upload event arrives
    app.lambda_handler(SAMPLE, context)
    # Then the run's configuration merges the document over the defaults
    config = json.loads(stack.executions()[0]["input"])["config"]
    assert config["target_column"] == "churned"
    assert config["drop_columns"] == ["customer_id"]
    assert config["threshold"] == 0.8 and config["metric"] == "auc"
    assert config["hyperparameters"]["num_round"] == "50" and config["hyperparameters"]["eta"] == "0.2"
    assert config["instances"]["training_instance_type"] == "ml.m5.2xlarge"
    assert config["instances"]["processing_instance_type"] == "ml.m5.xlarge"


def test_invalid_model_config_fails_loudly_and_starts_nothing(stack: Stack, context: FakeContext) -> None:
    stack.upload(KEY)
    stack.s3.put_object(Bucket=stack.artifacts_bucket, Key="config/churn.json", Body=json.dumps({"metric": "rmse"}))
    with pytest.raises(InvalidModelConfig, match=r"config/churn.json.*metric"):
        app.lambda_handler(SAMPLE, context)
    assert stack.executions() == []


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        (json.dumps({"metric": "rmse"}), "metric"),
        ("{not json", "is not valid JSON"),
        ("[1, 2]", "must hold a JSON object"),
    ],
    ids=["invalid field", "not JSON", "not an object"],
)
def test_a_broken_model_config_notifies_the_user_once_naming_the_file(
    stack: Stack, context: FakeContext, document: str, problem: str
) -> None:
    # Given churn's configuration document is broken
    stack.upload(KEY)
    stack.s3.put_object(Bucket=stack.artifacts_bucket, Key="config/churn.json", Body=document)
    # When the upload's event is handled three times (Lambda's two retries), and a second upload arrives
    for event in (SAMPLE, SAMPLE, SAMPLE, event_with(key="incoming/churn/part-2.csv", sequencer="00617F0829932AAAAA")):
        with pytest.raises(InvalidModelConfig):
            app.lambda_handler(copy.deepcopy(event), context)
    # Then nothing starts, the event still fails (so it reaches the dead-letter queue), and the user gets
    # exactly one "action needed" notice naming the file and the problem
    assert stack.executions() == []
    [(subject, body)] = published("action needed")
    assert subject == "retrainer: churn action needed"
    assert body["model_name"] == "churn"
    assert body["file"] == f"s3://{stack.artifacts_bucket}/config/churn.json"
    assert problem in body["problem"] and body["headline"].startswith("ACTION NEEDED")


def test_an_upload_to_an_invalid_model_folder_is_rejected_and_notified_once(stack: Stack, context: FakeContext) -> None:
    # Given a user uploads into a folder whose name cannot be a model name
    bad = event_with(key="incoming/Churn_v2/part-1.csv")
    # When its event arrives, and a redelivery of it
    results = [app.lambda_handler(copy.deepcopy(bad), context) for _ in range(2)]
    # Then both are rejected (not retried), nothing starts, and one notice says what to rename
    assert [r["status"] for r in results] == ["rejected", "rejected"]
    assert stack.executions() == []
    [(_subject, body)] = published("action needed")
    assert "not a valid model name" in body["problem"] and body["model_name"] == "Churn_v2"


def test_a_foreign_event_is_rejected_without_a_notice(stack: Stack, context: FakeContext) -> None:
    # Given an event of someone else's bucket (nothing the user must fix here)
    foreign = copy.deepcopy(SAMPLE)
    foreign["detail"]["bucket"]["name"] = "someone-elses-bucket"
    # When it arrives, Then it is rejected and nobody is notified
    assert app.lambda_handler(foreign, context)["status"] == "rejected"
    assert published() == []


def test_sequencers_differing_only_in_letter_case_are_the_same_upload(stack: Stack, context: FakeContext) -> None:
    # Given an unversioned object's upload was handled (no version id: the sequencer is its identity)
    stack.upload(KEY)
    first = app.lambda_handler(event_with(**{"version-id": None, "sequencer": "00617F08299329D189"}), context)
    # When the same event comes back with the sequencer in lower case
    again = app.lambda_handler(event_with(**{"version-id": None, "sequencer": "00617f08299329d189"}), context)
    # Then it is the same trigger (a duplicate), not a second one
    assert first["status"] == "started"
    assert again["status"] == "duplicate" and again["run_id"] == first["run_id"]
    assert len([i for i in stack.ledger() if i["sk"]["S"].startswith("trigger#")]) == 1


def test_a_null_version_id_is_no_identity_so_each_overwrite_counts(stack: Stack, context: FakeContext) -> None:
    # Given an object in an unversioned (or suspended) bucket: S3 reports its version id as "null"
    stack.upload(KEY)
    first = app.lambda_handler(event_with(**{"version-id": "null", "sequencer": "00617F08299329D189"}), context)
    # When the key is overwritten (same "null" version id, a newer sequencer)
    second = app.lambda_handler(event_with(**{"version-id": "null", "sequencer": "00617F0829932AAAAA"}), context)
    # Then the overwrite is a new trigger (pending behind the running run), not a duplicate of the first
    assert first["status"] == "started"
    assert second["status"] == "pending" and second["run_id"] != first["run_id"]


@pytest.mark.parametrize(
    ("code", "status", "error"),
    [
        ("ThrottlingException", 400, AwsServiceBusy),
        ("ProvisionedThroughputExceededException", 400, AwsServiceBusy),
        ("InternalServerError", 500, AwsServiceBusy),
        ("AccessDeniedException", 400, AwsCallFailed),
        ("ResourceNotFoundException", 400, AwsCallFailed),
    ],
)
def test_aws_errors_become_retryable_or_named_failures(
    stack: Stack, context: FakeContext, code: str, status: int, error: type[Exception]
) -> None:
    # Given the trigger table answers with an AWS error
    def fail(**_: Any) -> None:
        raise ClientError(
            {"Error": {"Code": code, "Message": "boom"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "PutItem"
        )

    stack.upload(KEY)
    composition.dynamodb_client().meta.events.register("before-call.dynamodb.PutItem", fail)
    # When an upload arrives, Then the handler fails with a domain error whose name says retry or not,
    # naming the call and the code, and starts nothing
    with pytest.raises(error, match=f"PutItem: {code}"):
        app.lambda_handler(SAMPLE, context)
    assert stack.executions() == []


def _rejections() -> list[tuple[str, dict[str, Any], str]]:
    wrong_source = copy.deepcopy(SAMPLE)
    wrong_source["source"] = "aws.ec2"
    wrong_type = copy.deepcopy(SAMPLE)
    wrong_type["detail-type"] = "Object Deleted"
    wrong_bucket = copy.deepcopy(SAMPLE)
    wrong_bucket["detail"]["bucket"]["name"] = "someone-elses-bucket"
    no_detail = copy.deepcopy(SAMPLE)
    del no_detail["detail"]
    return [
        ("wrong source", wrong_source, "event is not the expected S3ObjectCreatedEvent"),
        ("wrong detail-type", wrong_type, "event is not the expected S3ObjectCreatedEvent"),
        ("missing detail", no_detail, "event is not the expected S3ObjectCreatedEvent"),
        ("wrong bucket", wrong_bucket, "not in the stack's data bucket"),
        ("outside prefix", event_with(key="other/churn/a.csv"), "outside the data prefix"),
        ("wrong suffix", event_with(key="incoming/churn/a.parquet"), "not a CSV"),
        ("zero size", event_with(size=0), "empty (size 0)"),
        ("dot-dot", event_with(key="incoming/churn/../x.csv"), "'..' path segment"),
        ("control character", event_with(key="incoming/churn/a\x07.csv"), "control characters"),
        ("key too long", event_with(key="incoming/churn/" + "a" * 1020 + ".csv"), "1,024-byte"),
        ("no model folder", event_with(key="incoming/loose.csv"), "not inside a model folder"),
        ("bad model name", event_with(key="incoming/Churn_Model/a.csv"), "not a valid model name"),
    ]


@pytest.mark.parametrize(("case", "event", "reason"), _rejections(), ids=[c[0] for c in _rejections()])
def test_unexpected_events_are_rejected_with_a_reason_and_start_nothing(
    stack: Stack,
    context: FakeContext,
    case: str,
    event: dict[str, Any],
    reason: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given data in the folder, so only the event itself can be wrong
    stack.upload(KEY)
    # When the malformed or foreign event arrives
    result = app.lambda_handler(event, context)
    # Then it is rejected with a specific reason, logged, and no execution starts
    assert result["status"] == "rejected"
    assert reason in result["reason"]
    assert reason in caplog.text
    assert stack.executions() == []


def test_an_upload_event_is_proof_of_data_and_the_bucket_is_not_listed(stack: Stack, context: FakeContext) -> None:
    # Given the announced object is already gone again (deleted right after the upload)
    listed: list[str] = []
    composition.s3_client().meta.events.register(
        "before-call.s3.ListObjectsV2", lambda **kwargs: listed.append(kwargs["params"]["Prefix"])
    )
    # When its "Object Created" event arrives
    result = app.lambda_handler(SAMPLE, context)
    # Then the event itself (a non-empty CSV under the model's folder) is the proof: the run starts and
    # the bucket is never listed (a folder emptied since then fails the run at Preprocess, before training)
    assert result["status"] == "started"
    assert listed == []
    assert len(stack.executions()) == 1
