"""The trigger side's ports: starting a run once per name, reading model configs and data, writing objects,
notifying, answering CloudFormation, describing a monitoring run's processing job."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from retrainer.adapters.s3 import S3ConfigStore, S3DataCatalog, S3Objects
from retrainer.adapters.sagemaker import SageMakerProcessingJobs
from retrainer.adapters.sns import SnsNotifier
from retrainer.adapters.stepfunctions import StepFunctionsStarter
from retrainer.errors import InvalidModelConfig, ProcessingJobNotFound
from retrainer.ports import (
    ConfigStore,
    DataCatalog,
    Notifier,
    ObjectReader,
    ObjectWriter,
    ProcessingJobs,
    WorkflowStarter,
)
from tests.contract.conftest import IMPLEMENTATIONS, role_arn
from tests.fakes import FakeNotifier, FakeObjects, FakeProcessingJobs, FakeStarter

DATA = "retrainer-data"
ARTIFACTS = "retrainer-artifacts"
PASS = json.dumps({"StartAt": "Wait", "States": {"Wait": {"Type": "Pass", "End": True}}})


# ---------------------------------------------------------------- WorkflowStarter
@pytest.fixture(params=IMPLEMENTATIONS)
def starter(request: pytest.FixtureRequest) -> WorkflowStarter:
    if request.param == "fake":
        return FakeStarter()
    request.getfixturevalue("aws")
    sfn = boto3.client("stepfunctions")
    arn = sfn.create_state_machine(name="retrainer", definition=PASS, roleArn=role_arn())["stateMachineArn"]
    return StepFunctionsStarter(sfn, arn)


def test_a_run_name_starts_one_execution(starter: WorkflowStarter) -> None:
    # When a run is started, then started again under the same name (a redelivered trigger)
    first = starter.start("churn-5d41402abc4b", json.dumps({"model_name": "churn"}))
    again = starter.start("churn-5d41402abc4b", json.dumps({"model_name": "churn"}))
    # Then both name the one execution, named after the run, and the second start is not an error
    assert first.execution_arn == again.execution_arn and first.execution_arn.endswith(":churn-5d41402abc4b")
    assert first.already_existed is False


def test_a_run_name_used_with_another_input_names_the_existing_execution(starter: WorkflowStarter) -> None:
    # Given a run started
    first = starter.start("churn-5d41402abc4b", json.dumps({"model_name": "churn"}))
    # When the same name is started with another input
    again = starter.start("churn-5d41402abc4b", json.dumps({"model_name": "churn", "note": "later"}))
    # Then the existing execution is named, and marked as already existing
    assert again.execution_arn == first.execution_arn and again.already_existed is True


# ---------------------------------------------------------------- S3: config store, data catalog, objects
@dataclass
class Bucket:
    put: Callable[[str, str, bytes], None]  # PutObject
    config: ConfigStore
    catalog: DataCatalog
    reader: ObjectReader
    writer: ObjectWriter


@pytest.fixture(params=IMPLEMENTATIONS)
def s3(request: pytest.FixtureRequest) -> Bucket:
    if request.param == "fake":
        fake = FakeObjects(config_bucket=ARTIFACTS)
        return Bucket(fake.put, fake, fake, fake, fake)
    request.getfixturevalue("aws")
    client: Any = boto3.client("s3")
    for bucket in (DATA, ARTIFACTS):
        client.create_bucket(Bucket=bucket)
    objects = S3Objects(client)
    return Bucket(objects.put, S3ConfigStore(client, ARTIFACTS), S3DataCatalog(client), objects, objects)


def test_a_model_without_a_config_document_has_no_overrides(s3: Bucket) -> None:
    assert s3.config.model_overrides("churn") is None


def test_a_config_document_is_read_as_written(s3: Bucket) -> None:
    # Given churn's configuration document
    s3.put(ARTIFACTS, "config/churn.json", json.dumps({"metric": "auc", "min_gain": 0.01}).encode())
    # When it is read
    # Then the overrides are what the document says
    assert s3.config.model_overrides("churn") == {"metric": "auc", "min_gain": 0.01}


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b"\xff\xfe"], ids=["broken", "a list", "not utf-8"])
def test_a_config_document_that_is_not_a_json_object_is_a_named_error(s3: Bucket, body: bytes) -> None:
    s3.put(ARTIFACTS, "config/churn.json", body)
    with pytest.raises(InvalidModelConfig, match=r"s3://retrainer-artifacts/config/churn\.json"):
        s3.config.model_overrides("churn")


def test_only_a_non_empty_csv_counts_as_training_data(s3: Bucket) -> None:
    # Given an empty CSV and a text file under churn's folder, and a CSV under fraud's
    s3.put(DATA, "incoming/churn/empty.csv", b"")
    s3.put(DATA, "incoming/churn/readme.txt", b"notes")
    s3.put(DATA, "incoming/fraud/part-1.CSV", b"a,label\n1,0\n")
    # When the catalog is asked whether each folder has data
    # Then churn has none yet, fraud has (the extension in any case)
    assert s3.catalog.has_csv(DATA, "incoming/churn/") is False
    assert s3.catalog.has_csv(DATA, "incoming/fraud/") is True


def test_objects_are_listed_sorted_under_their_prefix_and_read_as_lines(s3: Bucket) -> None:
    # Given two scored files under a run's prefix and one elsewhere
    s3.writer.put(ARTIFACTS, "runs/churn/x/scores/part-2.csv.out", b"0.9\n0.1\n")
    s3.writer.put(ARTIFACTS, "runs/churn/x/scores/part-1.csv.out", b"0.2\n")
    s3.writer.put(ARTIFACTS, "runs/churn/y/scores/part-1.csv.out", b"0.5\n")
    # When the run's prefix is listed and a file read
    keys = s3.reader.list_keys(ARTIFACTS, "runs/churn/x/")
    # Then only its files come back, sorted, and a file reads as its lines
    assert keys == ["runs/churn/x/scores/part-1.csv.out", "runs/churn/x/scores/part-2.csv.out"]
    assert s3.reader.read_lines(ARTIFACTS, keys[1]) == ["0.9", "0.1"]


# ---------------------------------------------------------------- Notifier
@dataclass
class Topic:
    port: Notifier
    received: Callable[[], list[dict[str, Any]]]  # what a subscriber got: subject, message, outcome, model_name


def _sns_topic() -> Topic:
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic = sns.create_topic(Name="retrainer-notifications")["TopicArn"]
    queue = sqs.create_queue(QueueName="subscriber")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)

    def received() -> list[dict[str, Any]]:
        bodies = [
            json.loads(m["Body"])
            for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        ]
        return [
            {
                "subject": body["Subject"],
                "message": json.loads(body["Message"]),
                "outcome": body["MessageAttributes"]["outcome"]["Value"],
                "model_name": body["MessageAttributes"]["model_name"]["Value"],
            }
            for body in bodies
        ]

    return Topic(SnsNotifier(sns, topic), received)


@pytest.fixture(params=IMPLEMENTATIONS)
def topic(request: pytest.FixtureRequest) -> Topic:
    if request.param == "fake":
        fake = FakeNotifier()
        return Topic(fake, lambda: fake.sent)
    request.getfixturevalue("aws")
    return _sns_topic()


def test_a_notice_reaches_subscribers_with_its_outcome_and_model(topic: Topic) -> None:
    # When a deferred trigger is notified, with a subject longer than SNS allows
    topic.port.publish("deferred: " + "x" * 200, {"reason": "budget used"}, "deferred", "churn")
    # Then the subscriber gets one notice: the subject cut to 100 characters, the message, outcome and model
    [notice] = topic.received()
    assert len(notice["subject"]) == 100 and notice["subject"].startswith("deferred: ")
    assert notice["message"] == {"reason": "budget used"}
    assert (notice["outcome"], notice["model_name"]) == ("deferred", "churn")


# ---------------------------------------------------------------- ProcessingJobs
@pytest.fixture(params=IMPLEMENTATIONS)
def processing_jobs(request: pytest.FixtureRequest) -> ProcessingJobs:
    if request.param == "fake":
        return FakeProcessingJobs()
    request.getfixturevalue("aws")
    return SageMakerProcessingJobs(boto3.client("sagemaker"))


def test_a_processing_job_nobody_created_is_a_named_error(processing_jobs: ProcessingJobs) -> None:
    # Given no processing job of that name (a forged or foreign monitoring event)
    # When it is described
    # Then the answer is ProcessingJobNotFound, which monitor_violation turns into a rejection
    with pytest.raises(ProcessingJobNotFound, match="no processing job named 'retrainer-monitor-churn-1'"):
        processing_jobs.summary("retrainer-monitor-churn-1")
