"""Domain errors with stable names.

The state machine's Retry and Catch match on these class names (Lambda reports `errorType` as the
exception's class name), so renaming one is a breaking change to the ASL.
"""

from __future__ import annotations


class RetrainerError(Exception):
    """Base class: every error the services raise on purpose."""


class EventRejected(RetrainerError):
    """The event is not one this function acts on. Nothing was started."""

    def __init__(self, reason: str, **context: object) -> None:
        super().__init__(reason)
        self.reason = reason
        self.context = context


class InvalidModelConfig(RetrainerError):
    """A model's configuration document in the artifacts bucket cannot be used."""


class NoTrainingData(RetrainerError):
    """The model's data folder holds no CSV to train on."""


class EvaluationDataError(RetrainerError):
    """The batch-transform output the evaluation reads is missing or malformed."""


class WorkflowStartFailed(RetrainerError):
    """Step Functions refused or failed to start the execution (retried by the caller)."""


class EndpointBusy(RetrainerError):
    """The endpoint is being created or updated; the state machine retries later."""


class EndpointNotUsable(RetrainerError):
    """The model's endpoint is in a state a rollout cannot start from (Failed, or no variant to serve)."""


class EndpointConfigExists(RetrainerError):
    """CreateEndpointConfig found the name taken (a retried step whose first attempt went through)."""


class EndpointConfigConflict(RetrainerError):
    """An endpoint config with the planned name exists with different variants: never reuse it."""


class InvalidRolloutRequest(RetrainerError):
    """ManageRolloutFunction got a payload it cannot read (the state machine and the function disagree)."""
