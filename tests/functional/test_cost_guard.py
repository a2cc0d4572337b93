"""Cost guard: a daily budget of runs per model and a cooldown after a promotion defer triggers, never lose them."""

from __future__ import annotations

import copy
import json
from typing import Any

import boto3
import pytest

from functions.coordinate_runs import app as coordinate
from functions.start_retraining import app as start
from tests.aws_stack import Stack
from tests.samples import ENVIRONMENT, FakeContext, load_event

UPLOAD = load_event("s3_object_created.json")
CLAIM = load_event("coordinate_runs_claim.json")
RELEASE = load_event("coordinate_runs_release.json")
SWEEP = load_event("coordinate_runs_sweep.json")


def upload_event(n: int) -> dict[str, Any]:
    event = copy.deepcopy(UPLOAD)
    event["id"] = f"event-{n}"
    event["detail"]["object"].update(
        {"key": f"incoming/churn/part-{n}.csv", "version-id": f"v{n}", "sequencer": f"{n:04X}"}
    )
    return event


def notices() -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="notices")["QueueUrl"]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


@pytest.fixture
def subscribed(stack: Stack) -> None:
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="notices")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    boto3.client("sns").subscribe(TopicArn=ENVIRONMENT["NOTIFICATION_TOPIC_ARN"], Protocol="sqs", Endpoint=arn)


def finish_run(stack: Stack, context: FakeContext, run_id: str, outcome: str = "deployed") -> dict[str, Any]:
    """The run claims its trigger after a quiet window, then ends with `outcome` and releases the model."""
    execution = next(e for e in stack.executions() if e["name"] == run_id)
    seen = json.loads(execution["input"])["claim"]["seen_seq"]
    model = run_id.rpartition("-")[0]
    coordinate.lambda_handler({**CLAIM, "model_name": model, "run_id": run_id, "seen_seq": seen}, context)
    return coordinate.lambda_handler({**RELEASE, "model_name": model, "run_id": run_id, "outcome": outcome}, context)


def test_over_the_daily_budget_a_trigger_is_deferred_notified_once_and_kept(
    stack: Stack, context: FakeContext, subscribed: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a budget of one run per day, already used by a finished run
    monkeypatch.setenv("MAX_RUNS_PER_DAY", "1")
    for n in range(3):
        stack.upload(f"incoming/churn/part-{n}.csv")
    first = start.lambda_handler(upload_event(0), context)
    finish_run(stack, context, first["run_id"], outcome="failed")
    # When two more uploads arrive the same day
    results = [start.lambda_handler(upload_event(n), context) for n in (1, 2)]
    # Then both are deferred, one notice says why, no run starts, and both triggers are still pending
    assert [r["status"] for r in results] == ["deferred", "deferred"]
    [notice] = notices()
    assert notice["MessageAttributes"]["outcome"]["Value"] == "deferred"
    assert "1 times today" in json.loads(notice["Message"])["reason"]
    assert len(stack.executions()) == 1
    pending = [i for i in stack.ledger() if i["sk"]["S"].startswith("trigger#") and i["status"]["S"] == "pending"]
    assert len(pending) == 2


def test_the_scheduled_sweep_starts_deferred_triggers_once_the_budget_allows(
    stack: Stack, context: FakeContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a budget of one run per day, used up, and a second upload deferred
    monkeypatch.setenv("MAX_RUNS_PER_DAY", "1")
    for n in range(2):
        stack.upload(f"incoming/churn/part-{n}.csv")
    first = start.lambda_handler(upload_event(0), context)
    finish_run(stack, context, first["run_id"], outcome="failed")
    assert start.lambda_handler(upload_event(1), context)["status"] == "deferred"
    # When the budget is raised (or a new day begins) and the scheduled sweep runs
    monkeypatch.setenv("MAX_RUNS_PER_DAY", "5")
    coordinate.settings.load.cache_clear()  # a new container (the handler's own settings module)
    swept = coordinate.lambda_handler(SWEEP, context)
    # Then exactly one run starts for the waiting trigger
    assert list(swept["started"]) == ["churn"]
    assert len(stack.executions()) == 2
    assert coordinate.lambda_handler(SWEEP, context)["started"] == {"churn": swept["started"]["churn"]}
    assert len(stack.executions()) == 2


def test_cooldown_after_a_promotion_defers_the_next_trigger(
    stack: Stack, context: FakeContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a cooldown of an hour after a promotion, and a run that just deployed
    monkeypatch.setenv("PROMOTION_COOLDOWN_SECONDS", "3600")
    for n in range(2):
        stack.upload(f"incoming/churn/part-{n}.csv")
    first = start.lambda_handler(upload_event(0), context)
    finish_run(stack, context, first["run_id"], outcome="deployed")
    # When the next upload arrives within the hour
    later = start.lambda_handler(upload_event(1), context)
    # Then it is deferred and no second run starts
    assert later["status"] == "deferred"
    assert len(stack.executions()) == 1


def test_the_sweep_starts_other_models_when_one_has_an_invalid_config(
    stack: Stack, context: FakeContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given two models that used today's budget of one run, and whose next uploads were deferred
    monkeypatch.setenv("MAX_RUNS_PER_DAY", "1")
    for model in ("churn", "fraud"):
        events = [upload_event(n) for n in (0, 1)]
        for event in events:
            event["id"] = f"{model}-{event['id']}"
            event["detail"]["object"]["key"] = event["detail"]["object"]["key"].replace("/churn/", f"/{model}/")
        first = start.lambda_handler(events[0], context)
        finish_run(stack, context, first["run_id"], outcome="failed")
        assert start.lambda_handler(events[1], context)["status"] == "deferred"
    # And churn's configuration document became invalid meanwhile
    stack.s3.put_object(Bucket=stack.artifacts_bucket, Key="config/churn.json", Body=json.dumps({"metric": "rmse"}))
    # When the budget allows again and the sweep runs
    monkeypatch.setenv("MAX_RUNS_PER_DAY", "5")
    coordinate.settings.load.cache_clear()
    swept = coordinate.lambda_handler(SWEEP, context)
    # Then fraud's follow-up starts, churn's problem is reported, and churn's trigger still waits (unlocked)
    assert list(swept["started"]) == ["fraud"]
    assert "InvalidModelConfig" in swept["problems"]["churn"]
    assert sorted(e["name"].split("-")[0] for e in stack.executions()) == ["churn", "fraud", "fraud"]
    pending = [i for i in stack.ledger() if i["sk"]["S"].startswith("trigger#") and i["status"]["S"] == "pending"]
    assert sorted(i["pk"]["S"] for i in pending) == ["model#churn", "model#fraud"]  # fraud's run claims its own
    states = {i["pk"]["S"]: i for i in stack.ledger() if i["sk"]["S"] == "state"}
    assert (
        "run_id" not in states["model#churn"]
        and states["model#fraud"]["run_id"]["S"] == swept["started"]["fraud"].rsplit(":", 1)[1]
    )
