"""Monitoring set up at promotion and taken down at retirement (the retraining workflow's monitoring phase).

- `stop`: the retired champion's schedule (either engine), its drift alarms and its quality alarm go;
- `plan_baseline`: where the promoted version's baseline goes and the baseline job's arguments;
- `start`: the baseline is recorded on the model version, the schedule is created (EventBridge Scheduler
  starting the monitoring workflow, or a Model Monitor schedule), one drift alarm per feature, and, with
  `monitoring.quality` enabled (engine `retrainer`), the quality alarm on the gate metric; the schedule's Input
  then carries the model-quality run's settings (`quality_window.QualityRun`).

The quality alarm's name is the model's, not the version's (`<stack>-quality-<model>--<metric>`): `stop` deletes
only the alarm whose MonitoringSchedule dimension is the retired version's, so it runs before `start` puts the
promoted version's alarm of the same name, and a retried `stop` after `start` leaves it alone.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from aws_lambda_powertools import Logger
from pydantic import Field

from retrainer import naming
from retrainer.pipeline_config import LOWER_IS_BETTER, MonitoringEngine, PipelineConfig
from retrainer.ports import DriftAlarmSpec, ModelMonitorSpec, ScheduleSpec
from retrainer.run_data import Champion
from retrainer.services.monitoring import layout
from retrainer.services.monitoring.quality_window import QualityRun
from retrainer.services.monitoring.wiring import MonitoringAdapters, MonitoringRequest, MonitoringStack

logger = Logger(child=True)

BASELINE_CODE = "/opt/ml/processing/input/code/monitoring/__main__.py"


class StopMonitoring(MonitoringRequest):
    action: Literal["stop"]
    run_id: str = ""
    engine: MonitoringEngine = "retrainer"
    champion: Champion = Field(default_factory=Champion)


def stop(request: StopMonitoring, stack: MonitoringStack, adapters: MonitoringAdapters) -> dict[str, Any]:
    """The retired champion is no longer watched: its schedule and its drift alarms go (idempotent)."""
    retired = request.champion
    if not retired.exists or not retired.variant_name or retired.variant_name == request.run_id:
        return {"stopped": "", "alarms_deleted": []}
    name = layout.schedule_name(retired.variant_name)
    found = adapters.schedules.delete(name)
    if not found and request.engine == "model_monitor":  # the model's engine now (a switch keeps the old one)
        found = adapters.model_monitor.delete(name)
    alarms = [
        alarm
        for prefix in (
            naming.drift_alarm_name(stack.stack_name, request.model_name, ""),
            naming.quality_alarm_name(stack.stack_name, request.model_name, ""),
        )
        for alarm in adapters.alarms.of_schedule(prefix, name)
    ]
    adapters.alarms.delete(alarms)
    logger.info("retired model's monitoring removed", extra={"schedule": name, "found": found, "alarms": alarms})
    return {"stopped": name if found else "", "alarms_deleted": alarms}


class PlanBaseline(MonitoringRequest):
    action: Literal["plan_baseline"]
    run_id: str
    config: PipelineConfig


def plan_baseline(request: PlanBaseline, stack: MonitoringStack, adapters: MonitoringAdapters) -> dict[str, Any]:
    """The baseline job's output and arguments: the model's raw input columns (target, dropped and id columns out)."""
    config = request.config
    # Clients send the model's inputs: never the target, a dropped column or the id column (a row's split key).
    dropped = [config.target_column, *config.drop_columns, *([config.id_column] if config.id_column else [])]
    return {
        "enabled": config.monitoring.enabled,
        "baseline_uri": layout.baseline_uri(stack.artifacts_bucket, request.model_name, request.run_id),
        "arguments": [
            "baseline",
            "--input-dir",
            "/opt/ml/processing/input/baseline_dataset_input",
            "--output-dir",
            "/opt/ml/processing/output",
            "--drop-columns",
            ",".join(dropped),
            "--message-file",
            "/opt/ml/output/message",
        ],
    }


class StartMonitoring(MonitoringRequest):
    action: Literal["start"]
    run_id: str
    endpoint_name: str
    variant_name: str
    model_package_arn: str = ""
    baseline_uri: str
    capture_uri: str = Field(description="The endpoint's DataCaptureConfig DestinationS3Uri.")
    config: PipelineConfig
    baseline_score: float | None = Field(
        default=None, description="The promoted challenger's test value of the gate metric ($.evaluation.value)."
    )
    baseline_standard_error: float | None = Field(
        default=None, description="That value's standard error on its test rows ($.evaluation.value_standard_error)."
    )
    schema_uri: str = Field(default="", description="The promoted run's schema.json (feedback columns, labels).")
    data_bucket: str = Field(default="", description="The DataBucket: ground truth and feedback data live there.")
    data_prefix: str = Field(default="", description="The model's folder in the DataBucket (`<prefix><model>/`).")


def start(request: StartMonitoring, stack: MonitoringStack, adapters: MonitoringAdapters) -> dict[str, Any]:
    """Watch the promoted version: baseline on the registry, a schedule, one drift alarm per feature."""
    settings = request.config.monitoring
    name = layout.schedule_name(request.variant_name)
    statistics_uri, constraints_uri = (
        f"{request.baseline_uri}statistics.json",
        f"{request.baseline_uri}constraints.json",
    )
    constraints = layout.read_json(adapters.objects, constraints_uri)
    listed = constraints.get("features", []) if isinstance(constraints, dict) else []
    features = [str(feature["name"]) for feature in listed]
    reports = layout.reports_uri(stack.artifacts_bucket, request.model_name, name)
    quality = _quality_run(request)
    if request.model_package_arn:
        # With the approval Promote gave it (UpdateModelPackage without a status clears it on moto).
        adapters.registry.set_status(
            request.model_package_arn,
            "Approved",
            f"promoted to {request.endpoint_name} by {request.run_id}",
            {
                "monitoring_baseline_statistics": statistics_uri,
                "monitoring_baseline_constraints": constraints_uri,
                "monitoring_schedule": f"{settings.engine}:{name}",
                "monitoring_reports": reports,
            },
        )
    if settings.engine == "model_monitor":
        adapters.model_monitor.create(
            ModelMonitorSpec(
                name=name,
                endpoint_name=request.endpoint_name,
                expression=settings.schedule,
                image_uri=stack.model_monitor_image_uri,
                role_arn=stack.sagemaker_role_arn,
                statistics_uri=statistics_uri,
                constraints_uri=constraints_uri,
                output_uri=reports.rstrip("/"),
                instance_type=settings.instance_type,
                kms_key_arn=stack.data_key_arn,
            )
        )
    else:
        adapters.schedules.put(_schedule(request, stack, name, quality))
    alarms = [
        DriftAlarmSpec(
            name=layout.drift_alarm_name(stack.stack_name, request.model_name, feature),
            description=(
                f"Data drift of {feature} on {request.endpoint_name} ({name}): the hourly L-infinity distance to "
                f"the baseline {request.baseline_uri} is above {settings.drift_threshold}; starts a retraining. "
                f"Reports: {reports}"
            ),
            metric_name=f"{layout.DRIFT_METRIC_PREFIX}{feature}",
            endpoint_name=request.endpoint_name,
            schedule_name=name,
            threshold=settings.drift_threshold,
        )
        for feature in features
    ]
    if quality is not None:
        alarms.append(_quality_alarm(request, stack, name, quality))
    adapters.alarms.put(alarms)
    logger.info("monitoring started", extra={"schedule": name, "engine": settings.engine, "features": len(features)})
    return {
        "engine": settings.engine,
        "schedule": name,
        "expression": settings.schedule,
        "baseline": request.baseline_uri,
        "reports": reports,
        "alarms": [alarm.name for alarm in alarms if alarm.namespace != layout.MODEL_QUALITY_NAMESPACE],
        "quality_alarm": next((a.name for a in alarms if a.namespace == layout.MODEL_QUALITY_NAMESPACE), ""),
    }


def _quality_run(request: StartMonitoring) -> QualityRun | None:
    """The model-quality run's settings, when the model has them on (the retrainer engine: Model Monitor's
    schedules run the data-quality job only) and the run says where its data lives."""
    config = request.config
    settings = config.monitoring.quality
    if not settings.enabled or config.monitoring.engine != "retrainer" or not request.data_bucket:
        return None
    return QualityRun(
        lookback_hours=settings.lookback_hours,
        margin=quality_margin(settings.margin, request.baseline_standard_error),
        min_labels=settings.min_labels,
        metric=config.metric,
        threshold=config.threshold,
        baseline_score=request.baseline_score,
        schema_uri=request.schema_uri,
        ground_truth_uri=f"s3://{request.data_bucket}/{naming.ground_truth_prefix(request.model_name)}",
        feedback_uri=f"s3://{request.data_bucket}/{request.data_prefix}{naming.FEEDBACK_FOLDER}/",
    )


# How many standard errors of the promoted model's test score the live metric may fall below it by chance.
STANDARD_ERRORS = 2.0


def quality_margin(margin: float, standard_error: float | None) -> float:
    """The configured margin, or twice the test score's standard error when that is wider: a score measured on a
    small test split is a rough estimate (90 test rows give an AUC within about +-0.09), and a bound set closer
    than that would alarm on a model that is as good as it ever was."""
    if standard_error is None:
        return margin
    return round(max(margin, STANDARD_ERRORS * standard_error), 4)


def quality_bound(quality: QualityRun) -> float:
    """The alarm's threshold, the job's gate (model_quality_checks.Gate): below the model's threshold or the
    promoted model's test score minus the margin, whichever is higher (above either, the lower, for logloss)."""
    if quality.baseline_score is None:
        return quality.threshold
    if quality.metric in LOWER_IS_BETTER:
        return min(quality.threshold, round(quality.baseline_score + quality.margin, 12))
    return max(quality.threshold, round(quality.baseline_score - quality.margin, 12))


def _quality_alarm(request: StartMonitoring, stack: MonitoringStack, name: str, quality: QualityRun) -> DriftAlarmSpec:
    lower = quality.metric in LOWER_IS_BETTER
    bound = quality_bound(quality)
    score = "" if quality.baseline_score is None else f", promoted model's test score {quality.baseline_score:g}"
    return DriftAlarmSpec(
        name=naming.quality_alarm_name(stack.stack_name, request.model_name, quality.metric),
        description=(
            f"Model quality of {request.model_name} on {request.endpoint_name} ({name}): the hourly {quality.metric} "
            f"of the predictions joined with their ground truth is {'above' if lower else 'below'} {bound:g} "
            f"(threshold {quality.threshold:g}{score}, margin {quality.margin:g}: monitoring.quality.margin or twice "
            f"the test score's standard error); starts a retraining. Upload labels "
            f"to {quality.ground_truth_uri}yyyy/mm/dd/hh/*.jsonl; labelled traffic becomes training data under "
            f"{quality.feedback_uri}."
        ),
        metric_name=quality.metric,
        endpoint_name=request.endpoint_name,
        schedule_name=name,
        threshold=bound,
        namespace=layout.MODEL_QUALITY_NAMESPACE,
        statistic="Maximum" if lower else "Minimum",
        comparison="GreaterThanThreshold" if lower else "LessThanThreshold",
    )


def _schedule(request: StartMonitoring, stack: MonitoringStack, name: str, quality: QualityRun | None) -> ScheduleSpec:
    settings = request.config.monitoring
    payload: dict[str, Any] = {
        "model_name": request.model_name,
        "endpoint_name": request.endpoint_name,
        "variant_name": request.variant_name,
        "schedule_name": name,
        "baseline_uri": request.baseline_uri,
        "capture_uri": request.capture_uri,
        "window_minutes": settings.window_minutes,
        "instance_type": settings.instance_type,
        # EventBridge Scheduler fills in the invocation's time (a context attribute of the target's Input).
        "scheduled_time": "<aws.scheduler.scheduled-time>",
    }
    if quality is not None:  # present only when on: the workflow's QualityOn tests for it
        payload["quality"] = quality.model_dump(mode="json")
    return ScheduleSpec(
        name=name,
        expression=settings.schedule,
        state_machine_arn=stack.workflow_arn,
        payload=json.dumps(payload),
        description=(
            f"retrainer {'data- and model-quality' if quality else 'data-quality'} monitoring of "
            f"{request.model_name} ({request.variant_name})"
        ),
    )
