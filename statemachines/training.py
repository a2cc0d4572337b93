"""Training: preprocess the model's data, find the champion, skip a run with no new data, train the
built-in XGBoost, create the SageMaker model (a serial pipeline: feature model, then XGBoost), register it.

The SageMaker jobs are the SDK's generic `Task` with explicit Parameters: the SDK's `ProcessingStep`/
`TrainingStep` fix instance types, hyperparameters and paths at render time, and here they come from
each model's configuration in the execution input.
"""

from __future__ import annotations

from typing import Any

from stepfunctions.steps import Chain, Choice, ChoiceRule, LambdaStep, Succeed, Task
from stepfunctions.steps.states import State

from statemachines.coordination import release_then
from statemachines.endings import notify, then
from statemachines.evaluation import find_champion
from statemachines.tasks import (
    API_TIMEOUT_SECONDS,
    JOB_TIMEOUT_SECONDS,
    LAMBDA_TIMEOUT_SECONDS,
    LAMBDA_TRANSIENT,
    SAGEMAKER_TRANSIENT,
    failing_to,
    job_name,
    retry,
    rollout_step,
    select,
)


def _s3_input(name: str, uri: dict[str, str] | str, local_path: str) -> dict[str, Any]:
    source: dict[str, Any] = {
        "LocalPath": local_path,
        "S3DataType": "S3Prefix",
        "S3InputMode": "File",
        "S3DataDistributionType": "FullyReplicated",
    }
    if isinstance(uri, dict):
        source.update(uri)
    else:
        source["S3Uri"] = uri
    return {"InputName": name, "S3Input": source}


# Preprocess's output folders and the RunPaths field each is uploaded to.
PREPROCESS_OUTPUTS = {
    "train": "train",
    "validation": "validation",
    "test": "test",
    "test-raw": "test_raw",
    "schema": "schema_folder",
    "encoder": "encoder",
}


def _s3_output(name: str) -> dict[str, Any]:
    return {
        "OutputName": name,
        "S3Output": {
            "S3Uri.$": f"$.paths.{PREPROCESS_OUTPUTS[name]}",
            "LocalPath": f"/opt/ml/processing/output/{name}",
            "S3UploadMode": "EndOfJob",
        },
    }


def _channel(name: str) -> dict[str, Any]:
    return {
        "ChannelName": name,
        "ContentType": "text/csv",
        "DataSource": {
            "S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3Uri.$": f"$.paths.{name}",
                "S3DataDistributionType": "FullyReplicated",
            }
        },
    }


def preprocess() -> Task:
    return Task(
        "Preprocess",
        resource="arn:aws:states:::sagemaker:createProcessingJob.sync",
        timeout_seconds=JOB_TIMEOUT_SECONDS,
        result_path="$.preprocessing",
        parameters={
            "ProcessingJobName.$": job_name("prep"),
            "RoleArn": "${SageMakerRoleArn}",
            "AppSpecification": {
                "ImageUri": "${SklearnImageUri}",
                "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/preprocess.py"],
                "ContainerArguments.$": "$.preprocess_arguments",
            },
            "ProcessingInputs": [
                _s3_input("data", {"S3Uri.$": "$.data.s3_uri"}, "/opt/ml/processing/input/data"),
                _s3_input("code", "${JobCodePrefix}", "/opt/ml/processing/input/code"),
            ],
            "ProcessingOutputConfig": {
                "KmsKeyId": "${DataKeyArn}",
                "Outputs": [_s3_output(name) for name in PREPROCESS_OUTPUTS],
            },
            "ProcessingResources": {
                "ClusterConfig": {
                    "InstanceCount": 1,
                    "InstanceType.$": "$.config.instances.processing_instance_type",
                    "VolumeSizeInGB": 30,
                    "VolumeKmsKeyId": "${DataKeyArn}",
                }
            },
            "StoppingCondition": {"MaxRuntimeInSeconds.$": "$.config.max_runtime_seconds"},
            "Environment": {
                "RETRAINER_RUN_ID.$": "$.run_id",
                "RETRAINER_CORRELATION_ID.$": "$.correlation_id",
            },
        },
    )


def train() -> Task:
    return Task(
        "Train",
        resource="arn:aws:states:::sagemaker:createTrainingJob.sync",
        timeout_seconds=JOB_TIMEOUT_SECONDS,
        result_path="$.training",
        parameters={
            "TrainingJobName.$": job_name("train"),
            "RoleArn": "${SageMakerRoleArn}",
            "AlgorithmSpecification": {"TrainingImage": "${XGBoostImageUri}", "TrainingInputMode": "File"},
            "HyperParameters.$": "$.config.hyperparameters",
            "InputDataConfig": [_channel("train"), _channel("validation")],
            "OutputDataConfig": {"S3OutputPath.$": "$.paths.model_output", "KmsKeyId": "${DataKeyArn}"},
            "ResourceConfig": {
                "InstanceCount": 1,
                "InstanceType.$": "$.config.instances.training_instance_type",
                "VolumeSizeInGB": 30,
                "VolumeKmsKeyId": "${DataKeyArn}",
            },
            "StoppingCondition": {"MaxRuntimeInSeconds.$": "$.config.max_runtime_seconds"},
            "Tags": [{"Key": "retrainer:run", "Value.$": "$.run_id"}],
        },
    )


# The deployed model is a serial inference pipeline (sagemaker_jobs/INPUT_CONTRACT.md): SageMaker's
# scikit-learn image (the processing image, which also serves) runs the feature model Preprocess wrote
# (code/inference.py: raw rows in, features out), then the built-in XGBoost container scores them.
FEATURES_CONTAINER = {
    "ContainerHostname": "features",
    "Image": "${SklearnImageUri}",
    "ModelDataUrl.$": "$.paths.encoder_model",
    "Environment": {
        "SAGEMAKER_PROGRAM": "inference.py",
        "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
        "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
    },
}
XGBOOST_CONTAINER = {
    "ContainerHostname": "xgboost",
    "Image": "${XGBoostImageUri}",
    "ModelDataUrl.$": "$.training.ModelArtifacts",
}


def create_model() -> Task:
    return Task(
        "CreateModel",
        resource="arn:aws:states:::sagemaker:createModel",
        timeout_seconds=API_TIMEOUT_SECONDS,
        result_path="$.model",
        parameters={
            # The training job's name is unique per attempt; the model takes it.
            "ModelName.$": "$.training.TrainingJobName",
            "ExecutionRoleArn": "${SageMakerRoleArn}",
            "Containers": [FEATURES_CONTAINER, XGBOOST_CONTAINER],
            "InferenceExecutionConfig": {"Mode": "Serial"},
        },
    )


def register() -> Task:
    """A version in the model's package group (the group is named after the endpoint), PendingManualApproval."""
    return rollout_step(
        "RegisterModel",
        "register_model",
        {
            "model_package_group.$": "$.endpoint_name",
            "model_name.$": "$.model_name",
            "sagemaker_model.$": "$.training.TrainingJobName",
            "data.$": "$.data.s3_uri",
            "report_uri.$": "$.paths.evaluation_report",
            "triggers.$": "$.claim.triggers",
            "endpoint_instance_type.$": "$.config.instances.endpoint_instance_type",
            "transform_instance_type.$": "$.config.instances.transform_instance_type",
            "fingerprint.$": "$.data_check.fingerprint",
            "schema_uri.$": "$.paths.schema_document",
            "row_splits_uri.$": "$.paths.row_splits",
        },
        "$.registry",
    )


def check_new_data() -> LambdaStep:
    """EvaluateModelFunction compares this run's training data and configuration with the champion's."""
    step = LambdaStep(
        "CheckNewData",
        timeout_seconds=LAMBDA_TIMEOUT_SECONDS,
        result_path="$.data_check",
        parameters={
            "FunctionName": "${EvaluateModelFunctionArn}",
            "Payload": {
                "action": "check_new_data",
                "schema_uri.$": "$.paths.schema_document",
                "champion_model_data_url.$": "$.champion.model_data_url",
                "hyperparameters.$": "$.config.hyperparameters",
                "preprocess_arguments.$": "$.preprocess_arguments",
                "retrain_unchanged.$": "$.config.retrain_unchanged",
                "run_id.$": "$.run_id",
                "correlation_id.$": "$.correlation_id",
            },
        },
    )
    step.add_retry(retry(LAMBDA_TRANSIENT, 2, 4, 120))
    return select(
        step,
        {
            "new_data.$": "$.Payload.new_data",
            "fingerprint.$": "$.Payload.fingerprint",
            "champion_fingerprint.$": "$.Payload.champion_fingerprint",
            "rows.$": "$.Payload.rows",
            "note.$": "$.Payload.note",
        },
    )


def no_new_data_end() -> State:
    """The champion was trained on exactly these rows and settings: nothing trained, nothing rolled out, the trigger
    consumed, the model released, and a notice that says what started the run and what to upload."""
    done = Succeed("NoNewData")
    release = release_then("ReleaseAfterNoNewData", "no new data", done)
    notice, publish = notify(
        "NoNewData",
        "no new data",
        {
            "headline.$": "States.Format('{} ended without training: {} (started by {} {})', "
            "$.run_id, $.data_check.note, $.trigger.kind, $.trigger.source)",
            "trigger.$": "$.trigger",
            "data_check.$": "$.data_check",
            "upload_to.$": "$.data.s3_uri",
            "what_to_do": "The champion was trained on exactly these rows. Upload new or corrected rows "
            "(CSV files with the same columns) under upload_to; each upload starts a run. Or upload the true "
            "outcomes of served requests as ground truth (s3://<DataBucket>/ground-truth/<model>/yyyy/mm/dd/hh/"
            "*.jsonl, README 'Ground truth and model quality'): model-quality runs write them as training data "
            "under upload_to's feedback/ folder.",
            "champion.$": "$.champion",
        },
    )
    then(publish, release)
    return notice


def training(then_step: State, on_error: State) -> Task:
    """Preprocess -> FindChampion -> CheckNewData -> HasNewData (no: NoNewData) -> Train -> CreateModel
    -> RegisterModel -> `then_step`; any error goes to `on_error`."""
    prepared = select(preprocess(), {"ProcessingJobName.$": "$.ProcessingJobName"})
    steps = [
        select(
            train(),
            {
                "TrainingJobName.$": "$.TrainingJobName",
                "ModelArtifacts.$": "$.ModelArtifacts.S3ModelArtifacts",
                "FinalMetricDataList.$": "$.FinalMetricDataList",
            },
        ),
        select(create_model(), {"ModelArn.$": "$.ModelArn"}),
    ]
    for step in [prepared, *steps]:
        step.add_retry(retry(SAGEMAKER_TRANSIENT, 10, 4, 120))
        failing_to(step, on_error)
    champion = failing_to(find_champion(), on_error)
    checked = failing_to(check_new_data(), on_error)
    has_new_data = Choice("HasNewData")
    has_new_data.add_choice(ChoiceRule.BooleanEquals(variable="$.data_check.new_data", value=False), no_new_data_end())
    has_new_data.default_choice(steps[0])
    Chain([prepared, champion, checked, has_new_data])
    registered = register()
    failing_to(registered, on_error)
    Chain([*steps, registered, then_step])
    return prepared
