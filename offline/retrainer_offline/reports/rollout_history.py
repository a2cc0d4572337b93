"""Canary weights over time, read from the retraining executions' histories.

The state machine (statemachines/retraining_workflow.py) leaves the shares in its states' data:
- `StartBake` exits once the endpoint serves a canary step: `rollout.current` = {challenger, champion} percent,
  the champion's variant `champion.variant_name`, the challenger's variant named by `run_id`;
- `StartRestore` is entered when a rollout is undone: the champion is put back at 100%;
- `NoticeDeployed` is entered when the challenger (or a first model) serves alone.
A run id is also the execution name: `<model>-<12 hex>` (retrainer.naming.run_id).
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any, Protocol

from .report_data import WeightRecord

# The Pass states whose data carry the shares (statemachines/retraining_workflow.py; a test pins them in the ASL).
BAKE_STARTS, RESTORE_STARTS, DEPLOYED = "StartBake", "StartRestore", "NoticeDeployed"


class ExecutionHistories(Protocol):
    """The Step Functions calls used (a boto3 stepfunctions client has both)."""

    def list_executions(self, **request: Any) -> dict[str, Any]: ...

    def get_execution_history(self, **request: Any) -> dict[str, Any]: ...


def _pages(call: Any, key: str, **request: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        page = call(**request)
        items.extend(page.get(key, []))
        if not page.get("nextToken"):
            return items
        request["nextToken"] = page["nextToken"]


def _state(event: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    details = event.get("stateExitedEventDetails") or event.get("stateEnteredEventDetails") or {}
    raw = details.get("output", details.get("input")) or "{}"
    try:
        document = json.loads(raw)
    except json.JSONDecodeError:
        document = {}
    return str(details.get("name", "")), document if isinstance(document, dict) else {}


def _weights(kind: str, state: str, data: dict[str, Any]) -> dict[str, float] | None:
    challenger = str(data.get("run_id", ""))
    champion = str((data.get("champion") or {}).get("variant_name") or "")
    if kind == "PassStateExited" and state == BAKE_STARTS:
        current = (data.get("rollout") or {}).get("current") or {}
        return {champion: float(current.get("champion", 0)), challenger: float(current.get("challenger", 0))}
    if kind == "PassStateEntered" and state == RESTORE_STARTS and champion:
        return {champion: 100.0, challenger: 0.0}
    if kind == "PassStateEntered" and state == DEPLOYED:
        return ({champion: 0.0} if champion else {}) | {challenger: 100.0}
    return None


def weights_from_history(events: list[dict[str, Any]], run_id: str = "") -> list[WeightRecord]:
    """The traffic shares an execution set, in the order it set them (a state that confirms the shares already
    recorded, such as NoticeDeployed after the 100% step, adds nothing)."""
    records: list[WeightRecord] = []
    for event in events:
        state, data = _state(event)
        weights = _weights(str(event.get("type", "")), state, data)
        if weights is None:
            continue
        shares = {variant: share for variant, share in weights.items() if variant}
        if not records or records[-1].weights != shares:
            records.append(WeightRecord(event["timestamp"], shares, run_id))
    return records


def load_weight_records(client: ExecutionHistories, state_machine_arn: str, model: str) -> list[WeightRecord]:
    """Weights over time of every execution of the model's runs, oldest first."""
    run_name = re.compile(rf"{re.escape(model)}-[0-9a-f]{{12}}")
    records: list[WeightRecord] = []
    for execution in _pages(client.list_executions, "executions", stateMachineArn=state_machine_arn):
        if not run_name.fullmatch(str(execution.get("name", ""))):
            continue
        events = _pages(client.get_execution_history, "events", executionArn=execution["executionArn"])
        records.extend(weights_from_history(events, execution["name"]))
    return sorted(records, key=lambda r: r.time)


def weight_records(records: list[dict[str, Any]]) -> list[WeightRecord]:
    """Records given as plain `{"time": ISO or datetime, "weights": {variant: percent}, "run_id"?}` dicts."""
    parsed = []
    for record in records:
        time = record["time"]
        when = time if isinstance(time, datetime) else datetime.fromisoformat(str(time).replace("Z", "+00:00"))
        weights = {str(k): float(v) for k, v in record["weights"].items()}
        parsed.append(WeightRecord(when, weights, str(record.get("run_id", ""))))
    return sorted(parsed, key=lambda r: r.time)
