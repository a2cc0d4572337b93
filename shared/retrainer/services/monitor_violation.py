"""monitor_violation: a drift or model-quality alarm in ALARM, or a Model Monitor run with violations, retrains
the model."""

from __future__ import annotations

from retrainer import naming
from retrainer.errors import ActionNeeded, EventRejected, ProcessingJobNotFound
from retrainer.events import AlarmStateChangeEvent, ProcessingJobStateChangeEvent
from retrainer.ports import ProcessingJobs
from retrainer.run_data import TriggerInfo
from retrainer.services.runs import Adapters, RunOutcome, StackDefaults, prepare_and_start

VIOLATIONS_PREFIX = "CompletedWithViolations"
ENDPOINT_ENVIRONMENT_KEY = "sagemaker_endpoint_name"


def start_from_alarm(event: AlarmStateChangeEvent, defaults: StackDefaults, adapters: Adapters) -> RunOutcome:
    alarm = event.detail.alarm_name
    if event.detail.state.value != "ALARM":
        raise EventRejected("alarm is not in ALARM state", alarm=alarm, state=event.detail.state.value)
    if alarm.startswith(naming.quality_alarm_prefix(defaults.stack_name)):
        return _start_from_quality_alarm(event, defaults, adapters)
    prefix = naming.drift_alarm_prefix(defaults.stack_name)
    model_name = naming.model_from_alarm(defaults.stack_name, alarm)
    if model_name is None:
        # An alarm with this stack's prefix was meant for it: its owner must rename it (and is told).
        rejection = ActionNeeded if alarm.startswith(prefix) else EventRejected
        raise rejection(
            "alarm name does not follow the drift-alarm convention <stack>-drift-<model>[--<suffix>] "
            "(or the quality-alarm convention <stack>-quality-<model>--<metric>)",
            alarm=alarm,
            expected_prefix=prefix,
        )
    if naming.ALARM_SUFFIX_SEPARATOR not in alarm[len(prefix) :]:
        _check_not_one_hyphen_off(alarm, model_name, defaults, adapters)
    trigger = TriggerInfo(kind="drift_alarm", event_id=event.id, source=alarm, detail=event.detail.state.reason[:500])
    return prepare_and_start(
        model_name=model_name,
        trigger=trigger,
        identity=(alarm, event.detail.state.timestamp),
        defaults=defaults,
        adapters=adapters,
    )


def _start_from_quality_alarm(event: AlarmStateChangeEvent, defaults: StackDefaults, adapters: Adapters) -> RunOutcome:
    """The model-quality alarm `<stack>-quality-<model>--<metric>`: the served model scores worse on the labelled
    traffic, so it retrains on its data folder, where model-quality runs wrote that traffic (`feedback/`).

    Without feedback CSVs the run would train on the rows the champion already learnt from: rejected, and the
    owner is told where the labels go. With them, CheckNewData still ends a run whose rows equal the champion's
    (NoNewData), and the alarm sends no second event while it stays in ALARM: no retraining loop."""
    alarm = event.detail.alarm_name
    model_name = naming.model_from_quality_alarm(defaults.stack_name, alarm)
    if model_name is None:
        raise ActionNeeded(
            "alarm name does not follow the quality-alarm convention <stack>-quality-<model>--<metric>",
            alarm=alarm,
            expected_prefix=naming.quality_alarm_prefix(defaults.stack_name),
        )
    feedback = naming.feedback_prefix(defaults.data_prefix, model_name)
    if not adapters.data_catalog.has_csv(defaults.data_bucket, feedback):
        ground_truth = f"s3://{defaults.data_bucket}/{naming.ground_truth_prefix(model_name)}yyyy/mm/dd/hh/"
        raise ActionNeeded(
            f"the quality alarm fired but no labelled rows were written as feedback data for model {model_name!r} "
            f"(s3://{defaults.data_bucket}/{feedback} holds no CSV): retraining now would relearn the champion's "
            f"data; upload ground truth (JSON lines) to {ground_truth} so the next model-quality run writes them",
            alarm=alarm,
            model_name=model_name,
            feedback=f"s3://{defaults.data_bucket}/{feedback}",
            ground_truth=ground_truth,
        )
    trigger = TriggerInfo(kind="quality_alarm", event_id=event.id, source=alarm, detail=event.detail.state.reason[:500])
    return prepare_and_start(
        model_name=model_name,
        trigger=trigger,
        identity=(alarm, event.detail.state.timestamp),
        defaults=defaults,
        adapters=adapters,
    )


def _check_not_one_hyphen_off(alarm: str, model_name: str, defaults: StackDefaults, adapters: Adapters) -> None:
    """`retrainer-drift-churn-age` names model `churn-age`; when that model has no data but `churn` has, the
    alarm is one hyphen off `<stack>-drift-<model>--<feature>`: say so instead of "no data"."""
    candidates = naming.models_one_hyphen_off(model_name)
    bucket, prefix_of = defaults.data_bucket, naming.model_data_prefix
    if not candidates or adapters.data_catalog.has_csv(bucket, prefix_of(defaults.data_prefix, model_name)):
        return
    for candidate in candidates:
        if adapters.data_catalog.has_csv(bucket, prefix_of(defaults.data_prefix, candidate)):
            feature = model_name[len(candidate) + 1 :]
            expected = naming.drift_alarm_name(defaults.stack_name, candidate, feature)
            raise ActionNeeded(
                "alarm name is one hyphen off the drift-alarm convention <stack>-drift-<model>--<feature>: "
                f"model {model_name!r} has no data but {candidate!r} has; name the alarm {expected}",
                alarm=alarm,
                model_name=candidate,
            )


def start_from_monitoring_run(
    event: ProcessingJobStateChangeEvent,
    defaults: StackDefaults,
    adapters: Adapters,
    jobs: ProcessingJobs,
) -> RunOutcome:
    detail = event.detail
    job = detail.processing_job_name
    if detail.processing_job_status != "Completed":
        raise EventRejected("processing job did not complete", job=job, status=detail.processing_job_status)
    exit_message = detail.exit_message
    environment = detail.environment
    if exit_message is None or ENDPOINT_ENVIRONMENT_KEY not in environment:
        # The event may not carry ExitMessage (sagemaker-contracts.md §8): ask SageMaker.
        try:
            summary = jobs.summary(job)
        except ProcessingJobNotFound as missing:
            raise EventRejected(
                "monitoring run names a processing job that does not exist (DescribeProcessingJob)", job=job
            ) from missing
        exit_message = summary.exit_message if exit_message is None else exit_message
        environment = {**summary.environment, **environment}
    if not (exit_message or "").startswith(VIOLATIONS_PREFIX):
        raise EventRejected("monitoring run completed without violations", job=job, exit_message=exit_message)
    endpoint = environment.get(ENDPOINT_ENVIRONMENT_KEY, "")
    model_name = naming.model_from_endpoint(defaults.stack_name, endpoint)
    if model_name is None:
        raise EventRejected("monitoring run is not for one of this stack's endpoints", job=job, endpoint=endpoint)
    trigger = TriggerInfo(kind="monitoring_violation", event_id=event.id, source=job, detail=(exit_message or "")[:500])
    return prepare_and_start(
        model_name=model_name, trigger=trigger, identity=(job,), defaults=defaults, adapters=adapters
    )
