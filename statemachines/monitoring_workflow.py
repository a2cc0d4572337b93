"""The monitoring workflow: one scheduled data-quality run of a promoted model (the project's own monitor).

Render with `make render` (`--output statemachines/monitoring.asl.json`); SAM deploys the rendered file with
`DefinitionSubstitutions` (`SUBSTITUTIONS`). Started by the model's EventBridge Scheduler schedule (created at
promotion by `retrainer.services.monitoring.setup.start`) with that schedule's Input:
`{model_name, endpoint_name, variant_name, schedule_name, baseline_uri, capture_uri, window_minutes,
instance_type, scheduled_time}`.

    PlanWindow -> Captured? -- no --> NoData (succeeds: nothing to judge)
                      | yes
                  Analyze (processing job, .sync: monitoring/__main__.py analysis)
                      |                       \\ failed: JudgeFailure -> NoData ("Job inputs had no data")
                  Publish (metrics to CloudWatch; violations: bus event + notice) -> Monitored
                                                                               or MonitoringFailed
"""

from __future__ import annotations

import sys

from stepfunctions.steps import Catch, Choice, ChoiceRule, Fail, Succeed, Task
from stepfunctions.steps.states import Graph

from statemachines import rendering
from statemachines.monitoring_setup import monitoring_step
from statemachines.tasks import JOB_TIMEOUT_SECONDS, SAGEMAKER_TRANSIENT, retry

SUBSTITUTIONS = (
    "MonitoringFunctionName",
    "SageMakerRoleArn",
    "SklearnImageUri",
    "DataKeyArn",
    "Partition",
    "Region",
    "AccountId",
)
ANALYSIS_ENTRYPOINT = ["python3", "/opt/ml/processing/input/code/monitoring/__main__.py"]
# A run is one job (MaxRuntimeInSeconds 1 h, plus any wait for capacity) and three Lambda calls.
EXECUTION_TIMEOUT_SECONDS = 6 * 3600
COMMENT = (
    "retrainer monitoring: one scheduled data-quality run of a promoted model (captured requests of the window "
    "against its baseline, Model Monitor's formats), metrics to CloudWatch, violations to the retraining trigger. "
    "Rendered by statemachines/monitoring_workflow.py; do not edit by hand."
)

EXECUTION = "$$.Execution.Name"  # the correlation id of a scheduled run
RUN_FIELDS = {
    "endpoint_name.$": "$.endpoint_name",
    "schedule_name.$": "$.schedule_name",
    "output_uri.$": "$.window.output_uri",
    "job_name.$": "$.window.job_name",
}


def analysis_job() -> Task:
    step = Task(
        "Analyze",
        resource="arn:aws:states:::sagemaker:createProcessingJob.sync",
        timeout_seconds=JOB_TIMEOUT_SECONDS,
        result_path="$.analysis",
        parameters={
            "ProcessingJobName.$": "$.window.job_name",
            "RoleArn": "${SageMakerRoleArn}",
            "AppSpecification": {
                "ImageUri": "${SklearnImageUri}",
                "ContainerEntrypoint": ANALYSIS_ENTRYPOINT,
                "ContainerArguments.$": "$.window.arguments",
            },
            "ProcessingInputs.$": "$.window.inputs",
            "ProcessingOutputConfig": {
                "KmsKeyId": "${DataKeyArn}",
                "Outputs": [
                    {
                        "OutputName": "report",
                        "S3Output": {
                            "S3Uri.$": "$.window.output_uri",
                            "LocalPath": "/opt/ml/processing/output",
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                ],
            },
            "ProcessingResources": {
                "ClusterConfig": {
                    "InstanceCount": 1,
                    "InstanceType.$": "$.instance_type",
                    "VolumeSizeInGB": 30,
                    "VolumeKmsKeyId": "${DataKeyArn}",
                }
            },
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
            # Model Monitor's names, so a run reads like a Model Monitor execution (DescribeProcessingJob).
            "Environment": {
                "sagemaker_endpoint_name.$": "$.endpoint_name",
                "sagemaker_monitoring_schedule_name.$": "$.schedule_name",
                "start_time.$": "$.window.start",
                "end_time.$": "$.window.end",
            },
        },
    )
    step.add_retry(retry(SAGEMAKER_TRANSIENT, 5, 4, 60))
    return step


def build() -> Graph:
    monitored = Succeed("Monitored")
    no_data = Succeed("NoData", comment="No request was captured in the window: nothing to judge.")
    failed = Fail("MonitoringFailed", error="MonitoringFailed", cause="A monitoring step failed; see the execution.")

    publish = monitoring_step(
        "Publish", "publish", {**RUN_FIELDS, "exit_message.$": "$.analysis.ExitMessage"}, "$.published", EXECUTION
    )
    publish.add_catch(Catch(error_equals=["States.ALL"], next_step=failed, result_path="$.failure"))
    publish.next(monitored)

    judge = monitoring_step(
        "JudgeFailure", "publish", {**RUN_FIELDS, "failure.$": "$.failure"}, "$.published", EXECUTION
    )
    judge.add_catch(Catch(error_equals=["States.ALL"], next_step=failed, result_path="$.judge_failure"))
    judge.next(no_data)

    analyze = analysis_job()
    analyze.add_catch(Catch(error_equals=["States.ALL"], next_step=judge, result_path="$.failure"))
    analyze.next(publish)

    captured = Choice("Captured")
    captured.add_choice(ChoiceRule.BooleanEquals("$.window.has_data", True), next_step=analyze)
    captured.default_choice(no_data)

    plan = monitoring_step(
        "PlanWindow",
        "plan_window",
        {
            "endpoint_name.$": "$.endpoint_name",
            "variant_name.$": "$.variant_name",
            "schedule_name.$": "$.schedule_name",
            "baseline_uri.$": "$.baseline_uri",
            "capture_uri.$": "$.capture_uri",
            "scheduled_time.$": "$.scheduled_time",
            "window_minutes.$": "$.window_minutes",
            "instance_type.$": "$.instance_type",
        },
        "$.window",
        EXECUTION,
    )
    plan.add_catch(Catch(error_equals=["States.ALL"], next_step=failed, result_path="$.failure"))
    plan.next(captured)
    return Graph(plan, comment=COMMENT, timeout_seconds=EXECUTION_TIMEOUT_SECONDS)


def render() -> str:
    return rendering.render(build)


def main(argv: list[str] | None = None) -> int:
    return rendering.main(build, "Render the monitoring state machine to ASL.", argv)


if __name__ == "__main__":
    sys.exit(main())
