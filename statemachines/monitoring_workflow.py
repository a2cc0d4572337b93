"""The monitoring workflow: one scheduled run of a promoted model, data quality then model quality (the
project's own monitor).

Render with `make render` (`--output statemachines/monitoring.asl.json`); SAM deploys the rendered file with
`DefinitionSubstitutions` (`SUBSTITUTIONS`). Started by the model's EventBridge Scheduler schedule (created at
promotion by `retrainer.services.monitoring.setup.start`) with that schedule's Input:
`{model_name, endpoint_name, variant_name, schedule_name, baseline_uri, capture_uri, window_minutes,
instance_type, scheduled_time[, quality]}` (`quality`, `quality_window.QualityRun`, only when the model's
`monitoring.quality` is on).

    PlanWindow -> Captured? -- no --> NoData
                      | yes
                  Analyze (processing job, .sync: monitoring/__main__.py analysis)
                      |                       \\ failed: JudgeFailure -> NoData ("Job inputs had no data")
                  Publish (metrics to CloudWatch; violations: bus event + notice)
                      |                         (any failure above: DataQualityFailed)
    QualityOn? -- no quality in the Input --> Outcome
        | yes
    PlanQualityWindow (window delayed by the lookback) -> Labelled? -- no --> NoLabels
                      | yes
                  AnalyzeQuality (processing job, .sync: monitoring/model_quality_job.py)
                      |                       \\ failed: JudgeQualityFailure ("no labels" or an error)
                  PublishQuality (metrics to CloudWatch, gate value, feedback rows; violations: notice)
                      |                         (any failure above: QualityFailed)
    Outcome? -- either part failed --> MonitoringFailed, else Monitored

Either part's "no data" or failure never stops the other: a failure is recorded and the run fails at the end.
"""

from __future__ import annotations

import sys
from typing import Any

from stepfunctions.steps import Catch, Choice, ChoiceRule, Fail, Pass, Succeed, Task
from stepfunctions.steps.states import Graph, State

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
QUALITY_ENTRYPOINT = ["python3", "/opt/ml/processing/input/code/monitoring/model_quality_job.py"]
# A run is two jobs (MaxRuntimeInSeconds 1 h each, plus any wait for capacity) and six Lambda calls.
EXECUTION_TIMEOUT_SECONDS = 8 * 3600
COMMENT = (
    "retrainer monitoring: one scheduled run of a promoted model: data quality (captured requests of the window "
    "against its baseline, Model Monitor's formats; violations to the retraining trigger), then model quality "
    "(captured predictions joined with their ground truth; metrics to the quality alarm, labelled rows to the "
    "model's feedback data). "
    "Rendered by statemachines/monitoring_workflow.py; do not edit by hand."
)

EXECUTION = "$$.Execution.Name"  # the correlation id of a scheduled run
RUN_FIELDS = {
    "endpoint_name.$": "$.endpoint_name",
    "schedule_name.$": "$.schedule_name",
    "output_uri.$": "$.window.output_uri",
    "job_name.$": "$.window.job_name",
}
QUALITY_FIELDS = {
    "endpoint_name.$": "$.endpoint_name",
    "schedule_name.$": "$.schedule_name",
    "output_uri.$": "$.quality_window.output_uri",
    "job_name.$": "$.quality_window.job_name",
    "metric.$": "$.quality_window.metric",
    "feedback_file.$": "$.quality_window.feedback_file",
}


def _output(name: str, uri_path: str, local_path: str) -> dict[str, Any]:
    return {"OutputName": name, "S3Output": {"S3Uri.$": uri_path, "LocalPath": local_path, "S3UploadMode": "EndOfJob"}}


def analysis_job(
    state_id: str = "Analyze",
    plan: str = "$.window",
    result_path: str = "$.analysis",
    entrypoint: list[str] | None = None,
    feedback: bool = False,
) -> Task:
    """A monitoring processing job as its plan (`plan`: job_name, arguments, inputs, output_uri, start, end)
    says; the model-quality job also uploads the window's feedback CSV to the model's data folder."""
    outputs = [_output("report", f"{plan}.output_uri", "/opt/ml/processing/output")]
    if feedback:
        outputs.append(_output("feedback", f"{plan}.feedback_uri", "/opt/ml/processing/feedback"))
    step = Task(
        state_id,
        resource="arn:aws:states:::sagemaker:createProcessingJob.sync",
        timeout_seconds=JOB_TIMEOUT_SECONDS,
        result_path=result_path,
        parameters={
            "ProcessingJobName.$": f"{plan}.job_name",
            "RoleArn": "${SageMakerRoleArn}",
            "AppSpecification": {
                "ImageUri": "${SklearnImageUri}",
                "ContainerEntrypoint": entrypoint or ANALYSIS_ENTRYPOINT,
                "ContainerArguments.$": f"{plan}.arguments",
            },
            "ProcessingInputs.$": f"{plan}.inputs",
            "ProcessingOutputConfig": {"KmsKeyId": "${DataKeyArn}", "Outputs": outputs},
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
                "start_time.$": f"{plan}.start",
                "end_time.$": f"{plan}.end",
            },
        },
    )
    step.add_retry(retry(SAGEMAKER_TRANSIENT, 5, 4, 60))
    return step


def data_quality(quality: State, failed: State) -> State:
    """The data-quality part; every path goes on to `quality` (a failure through `failed`)."""
    no_data = Pass("NoData", comment="No request was captured in the window: nothing to judge.")
    no_data.next(quality)
    publish = monitoring_step(
        "Publish", "publish", {**RUN_FIELDS, "exit_message.$": "$.analysis.ExitMessage"}, "$.published", EXECUTION
    )
    publish.add_catch(Catch(error_equals=["States.ALL"], next_step=failed, result_path="$.failure"))
    publish.next(quality)

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
    return plan


def model_quality(outcome: State) -> State:
    """The model-quality part, when the schedule's Input has `quality`; every path goes on to `outcome`."""
    failed = Pass("QualityFailed", result=True, result_path="$.quality_failed")
    failed.next(outcome)
    no_labels = Pass("NoLabels", comment="Nothing captured, or no label uploaded, for the window: nothing to judge.")
    no_labels.next(outcome)

    publish = monitoring_step(
        "PublishQuality",
        "publish_quality",
        {**QUALITY_FIELDS, "exit_message.$": "$.quality_analysis.ExitMessage"},
        "$.quality_published",
        EXECUTION,
    )
    publish.add_catch(Catch(error_equals=["States.ALL"], next_step=failed, result_path="$.quality_failure"))
    publish.next(outcome)

    judge = monitoring_step(
        "JudgeQualityFailure",
        "publish_quality",
        {**QUALITY_FIELDS, "failure.$": "$.quality_failure"},
        "$.quality_published",
        EXECUTION,
    )
    judge.add_catch(Catch(error_equals=["States.ALL"], next_step=failed, result_path="$.quality_judge_failure"))
    judge.next(outcome)

    analyze = analysis_job(
        "AnalyzeQuality", "$.quality_window", "$.quality_analysis", QUALITY_ENTRYPOINT, feedback=True
    )
    analyze.add_catch(Catch(error_equals=["States.ALL"], next_step=judge, result_path="$.quality_failure"))
    analyze.next(publish)

    labelled = Choice("Labelled")
    labelled.add_choice(ChoiceRule.BooleanEquals("$.quality_window.has_data", True), next_step=analyze)
    labelled.default_choice(no_labels)

    plan = monitoring_step(
        "PlanQualityWindow",
        "plan_quality_window",
        {
            "endpoint_name.$": "$.endpoint_name",
            "schedule_name.$": "$.schedule_name",
            "capture_uri.$": "$.capture_uri",
            "scheduled_time.$": "$.scheduled_time",
            "window_minutes.$": "$.window_minutes",
            "instance_type.$": "$.instance_type",
            "quality.$": "$.quality",
        },
        "$.quality_window",
        EXECUTION,
    )
    plan.add_catch(Catch(error_equals=["States.ALL"], next_step=failed, result_path="$.quality_failure"))
    plan.next(labelled)

    switch = Choice("QualityOn")
    switch.add_choice(ChoiceRule.IsPresent("$.quality", True), next_step=plan)
    switch.default_choice(outcome)
    return switch


def build() -> Graph:
    monitored = Succeed("Monitored")
    failed = Fail("MonitoringFailed", error="MonitoringFailed", cause="A monitoring step failed; see the execution.")
    outcome = Choice("Outcome")
    outcome.add_choice(ChoiceRule.IsPresent("$.data_quality_failed", True), next_step=failed)
    outcome.add_choice(ChoiceRule.IsPresent("$.quality_failed", True), next_step=failed)
    outcome.default_choice(monitored)

    quality = model_quality(outcome)
    data_failed = Pass("DataQualityFailed", result=True, result_path="$.data_quality_failed")
    data_failed.next(quality)
    plan = data_quality(quality, data_failed)
    return Graph(plan, comment=COMMENT, timeout_seconds=EXECUTION_TIMEOUT_SECONDS)


def render() -> str:
    return rendering.render(build)


def main(argv: list[str] | None = None) -> int:
    return rendering.main(build, "Render the monitoring state machine to ASL.", argv)


if __name__ == "__main__":
    sys.exit(main())
