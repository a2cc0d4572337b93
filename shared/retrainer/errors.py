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


class ActionNeeded(EventRejected):
    """A rejection only the user can fix (an upload to a folder that is not a valid model name, an alarm
    named one hyphen off the convention): the trigger also notifies, once."""


class InvalidModelConfig(RetrainerError):
    """A model's configuration document in the artifacts bucket cannot be used (the user must fix the file).

    Raised, not rejected: the event stays retryable and reaches the dead-letter queue, so it can be
    replayed once the file is fixed; the trigger notifies once (`model_name` and `file` name what to fix).
    """

    def __init__(self, message: str, *, model_name: str = "", file: str = "") -> None:
        super().__init__(message)
        self.model_name = model_name
        self.file = file


class ProcessingJobNotFound(RetrainerError):
    """DescribeProcessingJob does not know the job an event names (a forged or foreign event)."""


class AwsServiceBusy(RetrainerError):
    """An AWS call was throttled or the service failed (5xx): retried by Lambda, then the dead-letter queue."""


class AwsCallFailed(RetrainerError):
    """An AWS call failed for a reason a retry will not fix (access denied, a missing resource): the stack
    or its permissions need attention. The message names the service call and the error code."""


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


class InvalidCoordinationRequest(RetrainerError):
    """CoordinateRunsFunction got a payload that is no claim, release, sweep or run status change."""


class MonitoringJobFailed(RetrainerError):
    """A monitoring run's analysis job failed for another reason than a window without traffic."""


class InvalidMonitoringRequest(RetrainerError):
    """A MonitoringFunction payload the state machine should never send (a bug in the ASL)."""
