"""The first deployment: no champion yet, so the endpoint is created with the challenger alone."""

from __future__ import annotations

from stepfunctions.steps import Chain, Pass, Task
from stepfunctions.steps.states import State

from statemachines.endpoint_switch import (
    CHALLENGER_ALONE,
    LIVE_CONFIG,
    Expectation,
    Outcomes,
    ensure_config,
    switch_and_verify,
)
from statemachines.tasks import failing_to, sagemaker_call


def first_deployment(promote: State, on_error: State) -> Task:
    """CreateFirstConfig -> CreateEndpoint -> AwaitFirstDeployment -> `promote`; nothing to restore on failure."""
    failed = Pass(
        "FirstDeploymentFailed",
        result_path="$.failure.AwaitFirstDeployment",
        parameters={"Error.$": "$.endpoint_check.state", "Cause.$": "$.endpoint_check.reason"},
    )
    failed.next(on_error)
    config = ensure_config("CreateFirstConfig", LIVE_CONFIG, CHALLENGER_ALONE)
    failing_to(config, on_error)
    create = sagemaker_call(
        "CreateEndpoint",
        "createEndpoint",
        {
            "EndpointName.$": "$.endpoint_name",
            "EndpointConfigName.$": LIVE_CONFIG,
            "Tags": [{"Key": "retrainer:model", "Value.$": "$.model_name"}],
        },
        "$.switch",
    )
    switch_and_verify("FirstDeployment", create, Expectation(LIVE_CONFIG), Outcomes(promote, failed, on_error))
    Chain([config, create])
    return config
