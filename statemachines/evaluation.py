"""Evaluation: score challenger and champion (found after Preprocess) on the same raw test rows side by
side, measure both (EvaluateModelFunction, `retrainer.services.evaluation`) and gate the challenger."""

from __future__ import annotations

from stepfunctions.steps import Catch, Chain, Choice, ChoiceRule, LambdaStep, Parallel, Pass, Task
from stepfunctions.steps.states import State

from retrainer.services.evaluation import EvaluationResult
from statemachines.tasks import (
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

# What Evaluate copies back to `$.evaluation`: every field of its result model, none by hand.
EVALUATION_RESULT = {f"{field}.$": f"$.Payload.{field}" for field in EvaluationResult.model_fields}


def score(state_id: str, kind: str, model_name: str, output: str, result_path: str) -> Task:
    """Batch transform of the raw test rows with one model (the serial pipeline: features, then XGBoost):
    `label,score` per line under `output`."""
    return Task(
        state_id,
        resource="arn:aws:states:::sagemaker:createTransformJob.sync",
        timeout_seconds=JOB_TIMEOUT_SECONDS,
        result_path=result_path,
        parameters={
            "TransformJobName.$": job_name(kind),
            "ModelName.$": model_name,
            "BatchStrategy": "MultiRecord",
            "TransformInput": {
                "ContentType": "text/csv",
                "SplitType": "Line",
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri.$": "$.paths.test_raw"}},
            },
            "TransformOutput": {
                "S3OutputPath.$": output,
                "Accept": "text/csv",
                "AssembleWith": "Line",
                "KmsKeyId": "${DataKeyArn}",
            },
            "TransformResources": {
                "InstanceCount": 1,
                "InstanceType.$": "$.config.instances.transform_instance_type",
            },
            # The raw test rows have the label first: send the input columns, keep `label,score` per line.
            "DataProcessing": {"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,-1]"},
        },
    )


def find_champion() -> Task:
    """The variant the endpoint serves, cross-checked with the registry."""
    step = rollout_step(
        "FindChampion",
        "find_champion",
        {"endpoint_name.$": "$.endpoint_name", "model_package_group.$": "$.endpoint_name"},
        "$.champion",
    )
    # An endpoint still updating (a rollout of another stack, or an operator) is waited for, not fought.
    step.add_retry(retry(["EndpointBusy"], 60, 10, 600))
    return step


def _champion_branch() -> Choice:
    """The champion's branch never fails the run: a champion that cannot score the split (say its columns
    changed) is reported, and the gate falls back to the absolute threshold."""
    champion = score(
        "ScoreChampion", "champ", "$.champion.model_name", "$.paths.champion_transform_output", "$.champion_job"
    )
    champion.add_retry(retry(SAGEMAKER_TRANSIENT, 10, 4, 120))
    scored = Pass(
        "ChampionScored",
        parameters={"evaluated": True, "output.$": "$.paths.champion_transform_output", "reason": ""},
    )
    not_scored = Pass(
        "ChampionNotScored",
        parameters={
            "evaluated": False,
            "output": "",
            "reason.$": "States.Format('the champion could not score the test split: {}', $.champion_error.Cause)",
        },
    )
    champion.add_catch(Catch(error_equals=["States.ALL"], next_step=not_scored, result_path="$.champion_error"))
    champion.next(scored)
    no_champion = Pass(
        "NoChampionToScore",
        parameters={"evaluated": False, "output": "", "reason": "no model is serving yet (first deployment)"},
    )
    has_champion = Choice("HasChampion")
    has_champion.add_choice(ChoiceRule.BooleanEquals(variable="$.champion.exists", value=True), next_step=champion)
    has_champion.default_choice(no_champion)
    return has_champion


def validate() -> Parallel:
    """Score the same test split with the challenger and, if a model is serving, the champion, side by side."""
    challenger = select(
        score("ScoreChallenger", "eval", "$.training.TrainingJobName", "$.paths.transform_output", "$"),
        {"TransformJobName.$": "$.TransformJobName"},
    )
    challenger.add_retry(retry(SAGEMAKER_TRANSIENT, 10, 4, 120))
    both = Parallel("Validate", result_path="$.transform")
    both.add_branch(challenger)
    both.add_branch(_champion_branch())
    select(both, {"challenger.$": "$[0]", "champion.$": "$[1]"})
    return both


def evaluate() -> LambdaStep:
    return LambdaStep(
        "Evaluate",
        timeout_seconds=LAMBDA_TIMEOUT_SECONDS,
        result_path="$.evaluation",
        parameters={
            "FunctionName": "${EvaluateModelFunctionArn}",
            "Payload": {
                "transform_output.$": "$.paths.transform_output",
                "champion.$": "$.transform.champion",
                "metric.$": "$.config.metric",
                "threshold.$": "$.config.threshold",
                "min_gain_over_champion.$": "$.config.min_gain_over_champion",
                "report_uri.$": "$.paths.evaluation_report",
                "schema_uri.$": "$.paths.schema_document",
                "row_splits_uri.$": "$.paths.row_splits",
                "champion_model_data_url.$": "$.champion.model_data_url",
                "allow_schema_change.$": "$.config.allow_schema_change",
                "run_id.$": "$.run_id",
                "correlation_id.$": "$.correlation_id",
            },
        },
    )


def evaluation(passed: State, failed: State, on_error: State) -> State:
    """Validate -> Evaluate -> QualityGate (`passed` or `failed`); errors go to `on_error`."""
    validated = failing_to(validate(), on_error)
    evaluated = select(evaluate(), EVALUATION_RESULT)
    evaluated.add_retry(retry(LAMBDA_TRANSIENT, 2, 4, 120))
    failing_to(evaluated, on_error)
    gate = Choice("QualityGate")
    gate.add_choice(ChoiceRule.BooleanEquals(variable="$.evaluation.passed", value=True), next_step=passed)
    gate.default_choice(failed)
    Chain([validated, evaluated, gate])
    return validated
