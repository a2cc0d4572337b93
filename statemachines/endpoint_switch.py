"""Endpoint changes and their verification: the one way the rollout touches the live endpoint.

`switch_and_verify` is the building block every rollout uses: a SageMaker call that changes the
endpoint (retried on transient errors; its answer, or its error, kept in `$.switch` because the change
may have happened all the same), then a loop that looks at the endpoint every `ENDPOINT_POLL_SECONDS`
until it is InService on what was just applied, and goes on - or goes to `problem` with the verdict in
`$.endpoint_check` (SageMaker rolled the update back, the endpoint failed, or the time ran out).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stepfunctions.steps import Catch, Chain, Choice, ChoiceRule, Pass, Task, Wait
from stepfunctions.steps.states import State

from retrainer.run_data import ENDPOINT_POLL_SECONDS
from statemachines.tasks import SAGEMAKER_TRANSIENT, failing_to, retry, rollout_step, sagemaker_call

DATA_CAPTURE = {
    "EnableCapture": True,
    "InitialSamplingPercentage.$": "$.config.data_capture_percentage",
    "DestinationS3Uri.$": "$.paths.data_capture",
    "KmsKeyId": "${DataKeyArn}",
    "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
    "CaptureContentTypeHeader": {"CsvContentTypes": ["text/csv"]},
}
CHALLENGER_VARIANT = {
    "name.$": "$.run_id",
    "model_name.$": "$.training.TrainingJobName",
    "instance_type.$": "$.config.instances.endpoint_instance_type",
    "instance_count.$": "$.config.instances.endpoint_instance_count",
}
CHALLENGER_ALONE = [{**CHALLENGER_VARIANT, "weight": 1}]
# The run's endpoint configs, named after the run (a retried step finds its own).
CANARY_CONFIG = "States.Format('{}-canary', $.run_id)"
LIVE_CONFIG = "States.Format('{}-live', $.run_id)"
UPDATE_TIMEOUT = "$.config.rollout.update_timeout_seconds"


def ensure_config(state_id: str, config_name: str, variants: list[dict[str, Any]]) -> Task:
    """CreateEndpointConfig that a retried step cannot duplicate (ManageRolloutFunction's `ensure_config`)."""
    return rollout_step(
        state_id,
        "ensure_config",
        {"config_name.$": config_name, "variants": variants, "data_capture": DATA_CAPTURE},
        "$.deployment",
    )


def prepare_guards(state_id: str) -> Task:
    """The challenger variant's alarms, and the blue/green DeploymentConfig that lists them."""
    return rollout_step(
        state_id,
        "prepare_rollout",
        {
            "endpoint_name.$": "$.endpoint_name",
            "variant_name.$": "$.run_id",
            "alarm_prefix": "${AlarmPrefix}",
            "alarms.$": "$.config.rollout.alarms",
            "blue_green.$": "$.config.rollout.blue_green",
        },
        "$.guards",
    )


def release_champion_scaling(state_id: str) -> Task:
    """AWS refuses an UpdateEndpoint that removes a variant registered for auto scaling: deregister it first."""
    return rollout_step(
        state_id,
        "release_champion_scaling",
        {"endpoint_name.$": "$.endpoint_name", "champion.$": "$.champion"},
        "$.scaling_release",
    )


def update_endpoint(state_id: str, config_name: str, extra: dict[str, Any] | None = None) -> Task:
    """UpdateEndpoint onto `config_name` (a JSONPath or an intrinsic function)."""
    return sagemaker_call(
        state_id,
        "updateEndpoint",
        {"EndpointName.$": "$.endpoint_name", "EndpointConfigName.$": config_name, **(extra or {})},
        "$.switch",
    )


@dataclass
class Verification:
    """A verification loop: `entry` starts it afresh (a change goes there), `verify` looks once."""

    entry: Pass
    verify: Task
    ready: Choice

    def on_ready(self, step: State) -> None:
        """Where the rollout goes once the endpoint serves what was applied."""
        self.ready.add_choice(ChoiceRule.StringEquals(variable="$.endpoint_check.state", value="ready"), step)


@dataclass(frozen=True)
class Expectation:
    """What the endpoint must serve once the change took, and how long that may take."""

    config: str
    timeout_seconds: str = UPDATE_TIMEOUT
    weights: list[dict[str, Any]] | None = None


def await_endpoint(name: str, expected: Expectation, then_step: State | None, problem: State) -> Verification:
    """Poll until the endpoint is InService on the expected config (and weights), then go to `then_step`
    (None: the caller names it with `on_ready`)."""
    start = Pass(f"Await{name}", result_path="$.endpoint_check", parameters={"polls": 0, "state": "waiting"})
    wait = Wait(f"Wait{name}", seconds=ENDPOINT_POLL_SECONDS)
    payload: dict[str, Any] = {
        "endpoint_name.$": "$.endpoint_name",
        "expected_config.$": expected.config,
        "polls.$": "$.endpoint_check.polls",
        "timeout_seconds.$": expected.timeout_seconds,
        "poll_seconds": ENDPOINT_POLL_SECONDS,
        "switch.$": "$.switch",
    }
    if expected.weights is not None:
        payload["expected_weights"] = expected.weights
    verify = rollout_step(f"Verify{name}", "verify_endpoint", payload, "$.endpoint_check")
    ready = Choice(f"{name}Ready")
    ready.add_choice(ChoiceRule.StringEquals(variable="$.endpoint_check.state", value="waiting"), next_step=wait)
    ready.default_choice(problem)
    Chain([start, wait, verify, ready])
    loop = Verification(start, verify, ready)
    if then_step is not None:
        loop.on_ready(then_step)
    return loop


@dataclass(frozen=True)
class Outcomes:
    """Where a verified change goes: on, to a problem (the verdict in `$.endpoint_check`), or to an error."""

    then_step: State | None
    problem: State
    on_error: State


def switch_and_verify(name: str, change: Task, expected: Expectation, outcomes: Outcomes) -> Verification:
    """`change` (an endpoint change), then the verification loop `Await<name>` on what it applied.

    A change that fails after its retries goes to the loop too: a lost answer or a refusal, the
    verification finds out what really happened. A verification that cannot run goes to `on_error`.
    """
    loop = await_endpoint(name, expected, outcomes.then_step, outcomes.problem)
    failing_to(loop.verify, outcomes.on_error)
    change.add_retry(retry(SAGEMAKER_TRANSIENT, 10, 4, 120))
    change.add_catch(Catch(error_equals=["States.ALL"], next_step=loop.entry, result_path="$.switch"))
    change.next(loop.entry)
    return loop
