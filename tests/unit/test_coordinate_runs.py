"""coordinate_runs: debounce claims a model's pending triggers; release hands the model to one follow-up."""

from __future__ import annotations

import copy
import json
from typing import Any

from functions.coordinate_runs import app as coordinate
from functions.start_retraining import app as start
from tests.unit.conftest import FakeContext, Stack, load_event

UPLOAD = load_event("s3_object_created.json")
CLAIM = load_event("coordinate_runs_claim.json")
RELEASE = load_event("coordinate_runs_release.json")


def upload_event(key: str, sequencer: str) -> dict[str, Any]:
    event = copy.deepcopy(UPLOAD)
    event["id"] = f"event-{sequencer}"
    event["detail"]["object"].update({"key": key, "version-id": sequencer, "sequencer": sequencer})
    return event


def _pending(stack: Stack) -> list[dict[str, Any]]:
    return [i for i in stack.ledger() if i["sk"]["S"].startswith("trigger#") and i["status"]["S"] == "pending"]


def test_triggers_arriving_during_the_quiet_window_are_claimed_by_the_same_run(
    stack: Stack, context: FakeContext
) -> None:
    # Given a run started by the first upload, and two more uploads during its quiet window
    for n in range(3):
        stack.upload(f"incoming/churn/part-{n}.csv")
    first = start.lambda_handler(upload_event("incoming/churn/part-0.csv", "0A"), context)
    others = [start.lambda_handler(upload_event(f"incoming/churn/part-{n}.csv", f"0B{n}"), context) for n in (1, 2)]
    assert [o["status"] for o in others] == ["pending", "pending"]
    seen = json.loads(stack.executions()[0]["input"])["claim"]["seen_seq"]
    # When the run looks after its first wait, new triggers arrived: it waits again
    again = coordinate.lambda_handler({**CLAIM, "run_id": first["run_id"], "seen_seq": seen}, context)
    assert again["settled"] is False and again["round"] == 1
    # When nothing arrived during the next wait, it claims all three triggers and goes on
    settled = coordinate.lambda_handler(
        {**CLAIM, "run_id": first["run_id"], "seen_seq": again["seen_seq"], "round": 1}, context
    )
    assert settled["settled"] is True and len(settled["triggers"]) == 3
    assert _pending(stack) == []
    assert len(stack.executions()) == 1


def test_release_starts_exactly_one_follow_up_for_triggers_that_arrived_during_the_run(
    stack: Stack, context: FakeContext
) -> None:
    # Given a run that claimed its trigger, and three uploads that arrived while it trained
    for n in range(4):
        stack.upload(f"incoming/churn/part-{n}.csv")
    first = start.lambda_handler(upload_event("incoming/churn/part-0.csv", "0A"), context)
    coordinate.lambda_handler({**CLAIM, "run_id": first["run_id"], "seen_seq": 1}, context)
    for n in (1, 2, 3):
        start.lambda_handler(upload_event(f"incoming/churn/part-{n}.csv", f"0B{n}"), context)
    # When the run ends (whatever its outcome) and releases the model, twice (a retried Lambda)
    released = coordinate.lambda_handler({**RELEASE, "run_id": first["run_id"], "outcome": "failed"}, context)
    again = coordinate.lambda_handler({**RELEASE, "run_id": first["run_id"], "outcome": "failed"}, context)
    # Then one follow-up execution exists, and it holds the model's lock
    assert released["follow_up"] is not None and again["follow_up"] == released["follow_up"]
    executions = stack.executions()
    assert len(executions) == 2
    follow_up = json.loads(next(e for e in executions if e["name"] != first["run_id"])["input"])
    assert "follow-up of" in follow_up["trigger"]["detail"] and "3 pending" in follow_up["trigger"]["detail"]
    lock = next(i for i in stack.ledger() if i["sk"]["S"] == "lock")
    assert lock["run_id"]["S"] == follow_up["run_id"]


def test_release_without_pending_triggers_frees_the_model(stack: Stack, context: FakeContext) -> None:
    stack.upload("incoming/churn/part-0.csv")
    first = start.lambda_handler(upload_event("incoming/churn/part-0.csv", "0A"), context)
    coordinate.lambda_handler({**CLAIM, "run_id": first["run_id"], "seen_seq": 1}, context)
    assert coordinate.lambda_handler({**RELEASE, "run_id": first["run_id"]}, context) == {
        "released": True,
        "follow_up": None,
    }
    assert not [i for i in stack.ledger() if i["sk"]["S"] == "lock"]
    # And the next upload starts a run at once
    assert start.lambda_handler(upload_event("incoming/churn/part-0.csv", "0C"), context)["status"] == "started"


def test_fifty_concurrent_triggers_give_one_run_and_one_pending_set(stack: Stack, context: FakeContext) -> None:
    from concurrent.futures import ThreadPoolExecutor

    for n in range(50):
        stack.upload(f"incoming/churn/part-{n}.csv")
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(
            pool.map(
                lambda n: start.lambda_handler(upload_event(f"incoming/churn/part-{n}.csv", f"{n:04X}"), context),
                range(50),
            )
        )
    statuses = [r["status"] for r in results]
    assert statuses.count("started") == 1 and statuses.count("pending") == 49
    assert len(stack.executions()) == 1
