"""Monitoring, set up at promotion (the retraining workflow's last phase before the deployed notice).

    Promote -> StopRetiredMonitoring -> PlanBaseline -> MonitoringOn? -> Baseline (processing job, .sync)
            -> StartMonitoring -> NoticeDeployed

The retired champion's schedule, drift alarms and quality alarm go first; then the promoted version's baseline
(statistics.json, constraints.json from the model's raw data: `monitoring/<model>/baseline/<run-id>/`), its
schedule, one drift alarm per feature and, with `monitoring.quality` on, the quality alarm on the gate metric
(bound by the model's threshold and its test score `$.evaluation.value` minus the margin) (MonitoringFunction,
`retrainer.services.monitoring.setup`).
The model is live whatever happens here: a failed step is reported in the deployed notice
(`$.failure.<state>`), never rolled back.
"""

from __future__ import annotations

from typing import Any

from stepfunctions.steps import Catch, Choice, ChoiceRule, Task
from stepfunctions.steps.states import State

from statemachines.tasks import (
    API_TIMEOUT_SECONDS,
    JOB_TIMEOUT_SECONDS,
    LAMBDA_TRANSIENT,
    SAGEMAKER_TRANSIENT,
    job_name,
    retry,
)

# By ARN, as the rollout steps (the task's result is the function's answer, not an envelope).
MONITORING_ARN = "arn:${Partition}:lambda:${Region}:${AccountId}:function:${MonitoringFunctionName}"
BASELINE_ENTRYPOINT = ["python3", "/opt/ml/processing/input/code/monitoring/__main__.py"]


def monitoring_step(
    state_id: str, action: str, payload: dict[str, Any], result_path: str, correlation: str = "$.correlation_id"
) -> Task:
    """A MonitoringFunction action; the function's answer lands at `result_path` as it is. The correlation id
    is the run's (retraining) or the execution's name (a scheduled monitoring run)."""
    step = Task(
        state_id,
        resource=MONITORING_ARN,
        timeout_seconds=API_TIMEOUT_SECONDS,
        result_path=result_path,
        parameters={
            "action": action,
            "model_name.$": "$.model_name",
            "correlation_id.$": correlation,
            **payload,
        },
    )
    step.add_retry(retry([*LAMBDA_TRANSIENT, "Sandbox.Timedout"], 2, 4, 30))
    return step


def _reported(step: Task, deployed: State) -> Task:
    step.add_catch(Catch(error_equals=["States.ALL"], next_step=deployed, result_path=f"$.failure.{step.state_id}"))
    return step


def baseline_job() -> Task:
    """The monitoring job's `baseline` command on the model's raw CSVs (header; target and dropped columns out)."""
    step = Task(
        "Baseline",
        resource="arn:aws:states:::sagemaker:createProcessingJob.sync",
        timeout_seconds=JOB_TIMEOUT_SECONDS,
        result_path="$.baseline",
        parameters={
            "ProcessingJobName.$": job_name("baseline"),
            "RoleArn": "${SageMakerRoleArn}",
            "AppSpecification": {
                "ImageUri": "${SklearnImageUri}",
                "ContainerEntrypoint": BASELINE_ENTRYPOINT,
                "ContainerArguments.$": "$.monitoring.arguments",
            },
            "ProcessingInputs": [
                {
                    "InputName": "baseline_dataset_input",
                    "S3Input": {
                        "S3Uri.$": "$.data.s3_uri",
                        "LocalPath": "/opt/ml/processing/input/baseline_dataset_input",
                        "S3DataType": "S3Prefix",
                        "S3InputMode": "File",
                        "S3DataDistributionType": "FullyReplicated",
                    },
                },
                {
                    "InputName": "code",
                    "S3Input": {
                        "S3Uri": "${JobCodePrefix}",
                        "LocalPath": "/opt/ml/processing/input/code",
                        "S3DataType": "S3Prefix",
                        "S3InputMode": "File",
                        "S3DataDistributionType": "FullyReplicated",
                    },
                },
            ],
            "ProcessingOutputConfig": {
                "KmsKeyId": "${DataKeyArn}",
                "Outputs": [
                    {
                        "OutputName": "baseline",
                        "S3Output": {
                            "S3Uri.$": "$.monitoring.baseline_uri",
                            "LocalPath": "/opt/ml/processing/output",
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                ],
            },
            "ProcessingResources": {
                "ClusterConfig": {
                    "InstanceCount": 1,
                    "InstanceType.$": "$.config.monitoring.instance_type",
                    "VolumeSizeInGB": 30,
                    "VolumeKmsKeyId": "${DataKeyArn}",
                }
            },
            "StoppingCondition": {"MaxRuntimeInSeconds.$": "$.config.max_runtime_seconds"},
            "Environment": {"RETRAINER_RUN_ID.$": "$.run_id", "RETRAINER_CORRELATION_ID.$": "$.correlation_id"},
        },
    )
    step.add_retry(retry(SAGEMAKER_TRANSIENT, 5, 4, 60))
    return step


def monitoring_setup(deployed: State) -> State:
    """The phase's entry (after Promote); every path ends at `deployed`."""
    start = _reported(
        monitoring_step(
            "StartMonitoring",
            "start",
            {
                "run_id.$": "$.run_id",
                "endpoint_name.$": "$.endpoint_name",
                "variant_name.$": "$.run_id",
                "model_package_arn.$": "$.registry.model_package_arn",
                "baseline_uri.$": "$.monitoring.baseline_uri",
                "capture_uri.$": "$.paths.data_capture",
                "config.$": "$.config",
                # The model-quality run's gate and data (config.monitoring.quality): the promoted model's test
                # score, its schema (feedback columns) and the DataBucket (ground truth, feedback).
                "baseline_score.$": "$.evaluation.value",
                "baseline_standard_error.$": "$.evaluation.value_standard_error",
                "schema_uri.$": "$.paths.schema_document",
                "data_bucket.$": "$.data.bucket",
                "data_prefix.$": "$.data.prefix",
            },
            "$.monitoring.started",
        ),
        deployed,
    )
    start.next(deployed)
    baseline = _reported(baseline_job(), deployed)
    baseline.next(start)
    switch = Choice("MonitoringOn")
    switch.add_choice(ChoiceRule.BooleanEquals("$.monitoring.enabled", True), next_step=baseline)
    switch.default_choice(deployed)
    plan = _reported(
        monitoring_step(
            "PlanBaseline", "plan_baseline", {"run_id.$": "$.run_id", "config.$": "$.config"}, "$.monitoring"
        ),
        deployed,
    )
    plan.next(switch)
    stop = monitoring_step(
        "StopRetiredMonitoring",
        "stop",
        {"run_id.$": "$.run_id", "champion.$": "$.champion", "engine.$": "$.config.monitoring.engine"},
        "$.retired_monitoring",
    )
    # A retired champion's schedule left behind analyses an empty variant ("no data"): not worth failing for.
    stop.add_catch(Catch(error_equals=["States.ALL"], next_step=plan, result_path="$.failure.StopRetiredMonitoring"))
    stop.next(plan)
    return stop
