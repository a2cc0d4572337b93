"""TriggerLedger: triggers recorded once and in S3 order, one run per model at a time, a daily budget of runs."""

from __future__ import annotations

import boto3
import pytest

from retrainer.adapters.dynamodb import DynamoDBTriggerLedger
from retrainer.ports import ObjectVersion, TriggerLedger
from tests.contract.conftest import IMPLEMENTATIONS
from tests.fakes import FakeTriggerLedger

TABLE = "retrainer-triggers"
DAY = "2026-11-22"
RUN, OTHER_RUN = "churn-5d41402abc4b", "churn-9b71d224bd62"
TTL = 3600


class Clock:
    """A clock the test moves: the ledger's `received_at`, lock expiry and retention read it."""

    def __init__(self) -> None:
        self.now = 1_795_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=IMPLEMENTATIONS)
def ledger(request: pytest.FixtureRequest, clock: Clock) -> TriggerLedger:
    """Given an empty trigger table."""
    if request.param == "fake":
        return FakeTriggerLedger(clock=clock)
    request.getfixturevalue("aws")
    dynamodb = boto3.client("dynamodb")
    dynamodb.create_table(
        TableName=TABLE,
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return DynamoDBTriggerLedger(dynamodb, TABLE, clock=clock)


def _upload(key: str) -> dict[str, str]:
    return {"source": f"s3://retrainer-data/{key}", "kind": "s3"}


def test_a_trigger_is_recorded_once_and_a_redelivery_gets_it_back(ledger: TriggerLedger, clock: Clock) -> None:
    # Given an upload's trigger recorded
    first = ledger.record("churn", "t1", _upload("incoming/churn/a.csv"))
    # When the same event is delivered again, a second later
    clock.now += 1
    again = ledger.record("churn", "t1", _upload("incoming/churn/a.csv"))
    # Then the first is new and pending, the redelivery is the same trigger, as first recorded
    assert (first.status, first.redelivered, first.late) == ("pending", False, False)
    assert (again.status, again.redelivered, again.received_at) == ("pending", True, first.received_at)
    assert again.attributes == first.attributes == _upload("incoming/churn/a.csv")
    assert [t.trigger_id for t in ledger.pending("churn")] == ["t1"]


def test_an_older_s3_event_for_an_object_records_nothing(ledger: TriggerLedger) -> None:
    # Given the event of an object's newer version recorded (sequencers compared after zero-padding)
    ledger.record("churn", "new", _upload("a.csv"), ObjectVersion("obj-1", "0062A4B0F6A2B8C1"))
    # When the older version's event arrives late, and then an event for another object
    late = ledger.record("churn", "old", _upload("a.csv"), ObjectVersion("obj-1", "0062A4B0F6A2B8"))
    other = ledger.record("churn", "b", _upload("b.csv"), ObjectVersion("obj-2", "0062A4B0F6A2B8"))
    # Then the late one is marked late and not pending; the other object's event is recorded
    assert late.late is True and other.late is False
    assert sorted(t.trigger_id for t in ledger.pending("churn")) == ["b", "new"]


def test_pending_triggers_come_oldest_first_until_a_run_consumes_them(ledger: TriggerLedger, clock: Clock) -> None:
    # Given three triggers of churn, a second apart, and one of fraud
    for trigger_id in ("t3", "t1", "t2"):
        ledger.record("churn", trigger_id, _upload(f"{trigger_id}.csv"))
        clock.now += 1
    ledger.record("fraud", "f1", _upload("f1.csv"))
    # When a run consumes churn's first two, and a retried claim consumes them again
    pending = ledger.pending("churn")
    consumed = ledger.consume("churn", pending[:2], RUN)
    retried = ledger.consume("churn", pending[:2], RUN)
    # Then they came in arrival order, the first claim took both, the retry none, one is still pending
    assert [t.trigger_id for t in pending] == ["t3", "t1", "t2"]
    assert [t.trigger_id for t in consumed] == ["t3", "t1"] and retried == []
    assert [t.trigger_id for t in ledger.pending("churn")] == ["t2"]
    assert ledger.models_with_pending() == ["churn", "fraud"]


def test_one_run_holds_a_model_until_it_releases_it(ledger: TriggerLedger) -> None:
    # When a run takes churn's lock, another run tries, the first takes it again (a retry) and releases it
    taken = ledger.acquire("churn", RUN, TTL, DAY, max_runs=5)
    refused = ledger.acquire("churn", OTHER_RUN, TTL, DAY, max_runs=5)
    retaken = ledger.acquire("churn", RUN, TTL, DAY, max_runs=5)
    state = ledger.model_state("churn", DAY)
    released, released_again = ledger.release("churn", RUN), ledger.release("churn", RUN)
    # Then only the first run held it; a release frees it once; then the other run may take it
    assert (taken, refused, retaken) == (True, False, True)
    assert state.lock_holder == RUN and state.locked_by_other(OTHER_RUN, now=0)
    assert (released, released_again) == (True, False)
    assert ledger.model_state("churn", DAY).lock_holder is None
    assert ledger.acquire("churn", OTHER_RUN, TTL, DAY, max_runs=5) is True


def test_a_lock_left_by_a_dead_run_expires(ledger: TriggerLedger, clock: Clock) -> None:
    # Given a run that took the lock and never released it
    assert ledger.acquire("churn", RUN, TTL, DAY, max_runs=5)
    # When another run tries after the lock's time to live has passed
    clock.now += TTL + 1
    # Then it takes the lock
    assert ledger.acquire("churn", OTHER_RUN, TTL, DAY, max_runs=5) is True
    assert ledger.model_state("churn", DAY).lock_holder == OTHER_RUN


def test_a_days_budget_of_runs_is_counted_and_a_new_day_starts_again(ledger: TriggerLedger) -> None:
    # Given a budget of two runs a day, used by two runs that finished
    for run in ("churn-a", "churn-b"):
        assert ledger.acquire("churn", run, TTL, DAY, max_runs=2)
        ledger.release("churn", run)
    # When a third run tries the same day, and then the next day
    third = ledger.acquire("churn", "churn-c", TTL, DAY, max_runs=2)
    today = ledger.model_state("churn", DAY)
    tomorrow = ledger.acquire("churn", "churn-c", TTL, "2026-11-23", max_runs=2)
    # Then the budget refuses it today (two runs counted) and lets it start tomorrow (one counted)
    assert (third, today.runs_today, tomorrow) == (False, 2, True)
    assert ledger.model_state("churn", "2026-11-23").runs_today == 1
    assert ledger.acquire("fraud", "fraud-a", TTL, DAY, max_runs=0) is False


def test_a_promotion_is_recorded_even_when_the_lock_had_gone(ledger: TriggerLedger, clock: Clock) -> None:
    # Given a run whose lock expired and was taken over by another run
    assert ledger.acquire("churn", RUN, TTL, DAY, max_runs=5)
    clock.now += TTL + 1
    assert ledger.acquire("churn", OTHER_RUN, TTL, DAY, max_runs=5)
    # When the first run releases with a promotion (it deployed)
    released = ledger.release("churn", RUN, promoted_at=clock.now)
    # Then it did not free the other run's lock, but the promotion counts for the cooldown
    state = ledger.model_state("churn", DAY)
    assert released is False and state.lock_holder == OTHER_RUN and state.last_promotion == clock.now


def test_a_days_deferral_is_noticed_once(ledger: TriggerLedger) -> None:
    # When churn's triggers are deferred three times today and once tomorrow
    answers = [ledger.first_deferral("churn", day, "budget used") for day in (DAY, DAY, DAY, "2026-11-23")]
    # Then only the first of each day asks for a notice
    assert answers == [True, False, False, True]
