"""Step Functions: starting a run and reading where an execution was (ports: WorkflowStarter, ExecutionHistory)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from retrainer.adapters.client_errors import error_code
from retrainer.errors import WorkflowStartFailed
from retrainer.ports import StartedExecution

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient


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
            logging.getLogger(__name__).warning("GetExecutionHistory failed: %s", error_code(exc) or exc)
        return None


class StepFunctionsStarter:
    def __init__(self, client: SFNClient, state_machine_arn: str) -> None:
        self._client = client
        self._arn = state_machine_arn

    def start(self, name: str, payload: str) -> StartedExecution:
        try:
            response = self._client.start_execution(stateMachineArn=self._arn, name=name, input=payload)
        except ClientError as exc:
            if error_code(exc) == "ExecutionAlreadyExists":
                arn = self._arn.replace(":stateMachine:", ":execution:") + f":{name}"
                return StartedExecution(execution_arn=arn, already_existed=True)
            raise WorkflowStartFailed(f"StartExecution failed: {error_code(exc) or exc}") from exc
        return StartedExecution(execution_arn=response["executionArn"], already_existed=False)
