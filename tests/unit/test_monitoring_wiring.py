"""The monitoring loop's wiring (issue 14 items 1-4): what promotion sets up and retirement takes down, each
scheduled run's window, what a run publishes, and the two state machines' structure. AWS through fakes only."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, ValidationError

import retrainer_jobs
from retrainer import naming
from retrainer.errors import MonitoringJobFailed
from retrainer.events import ProcessingJobStateChangeEvent
from retrainer.pipeline_config import ModelOverrides, PipelineConfig
from retrainer.run_data import Champion
from retrainer.services.job_code import job_files
from retrainer.services.monitor_violation import ENDPOINT_ENVIRONMENT_KEY, VIOLATIONS_PREFIX
from retrainer.services.monitoring import ACTIONS, MonitoringAdapters, MonitoringStack, handle, parse_request
from statemachines import monitoring_workflow, retraining_workflow
from statemachines.monitoring_setup import MONITORING_ARN
from tests.fakes import (
    FakeDriftAlarms,
    FakeEventBus,
    FakeModelMonitor,
    FakeNotifier,
    FakeObjects,
    FakeRegistry,
    FakeSchedules,
)

ROOT = Path(__file__).resolve().parents[2]
STACK = MonitoringStack(
    stack_name="retrainer",
    artifacts_bucket="artifacts",
    workflow_arn="arn:aws:states:us-east-1:123456789012:stateMachine:retrainer-monitoring",
    job_code_prefix="s3://artifacts/job-code/abc/",
    model_monitor_image_uri="156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer",
    sagemaker_role_arn="arn:aws:iam::123456789012:role/sagemaker",
)
BASELINE = "s3://artifacts/monitoring/churn/baseline/churn-aaa/"
PACKAGE = "arn:aws:sagemaker:us-east-1:123456789012:model-package/retrainer-churn/2"
CONSTRAINTS = {"version": 0.0, "features": [{"name": "age", "inferred_type": "Integral"}, {"name": "plan"}]}


def adapters() -> MonitoringAdapters:
    return MonitoringAdapters(
        objects=FakeObjects(),
        schedules=FakeSchedules(),
        model_monitor=FakeModelMonitor(),
        alarms=FakeDriftAlarms(),
        registry=FakeRegistry(),
        bus=FakeEventBus(),
        notifier=FakeNotifier(),
    )


def fakes(a: MonitoringAdapters) -> tuple[FakeObjects, FakeSchedules, FakeModelMonitor, FakeDriftAlarms]:
    assert isinstance(a.objects, FakeObjects) and isinstance(a.schedules, FakeSchedules)
    assert isinstance(a.model_monitor, FakeModelMonitor) and isinstance(a.alarms, FakeDriftAlarms)
    return a.objects, a.schedules, a.model_monitor, a.alarms


def call(event: dict[str, Any], a: MonitoringAdapters) -> dict[str, Any]:
    return handle(parse_request({"model_name": "churn", **event}), STACK, a)


def promote(a: MonitoringAdapters, config: dict[str, Any] | None = None, run_id: str = "churn-aaa") -> dict[str, Any]:
    objects, *_ = fakes(a)
    baseline = f"s3://artifacts/monitoring/churn/baseline/{run_id}/"
    objects.put(
        "artifacts", baseline.removeprefix("s3://artifacts/") + "constraints.json", json.dumps(CONSTRAINTS).encode()
    )
    merged = ModelOverrides.model_validate({"monitoring": config or {}}).apply_to(PipelineConfig())
    return call(
        {
            "action": "start",
            "run_id": run_id,
            "endpoint_name": "retrainer-churn",
            "variant_name": run_id,
            "model_package_arn": PACKAGE,
            "baseline_uri": baseline,
            "capture_uri": "s3://artifacts/data-capture",
            "config": merged.model_dump(mode="json"),
        },
        a,
    )


# ---------------------------------------------------------------- job code


def test_job_code_publishes_the_monitoring_folder_and_its_entry_point_runs(tmp_path: Path) -> None:
    # Given the files the JobCode custom resource publishes, laid out as the container sees its code input
    files = job_files(Path(retrainer_jobs.__file__).parent)
    assert "monitoring/__main__.py" in files and "monitoring/__init__.py" in files and "preprocess.py" in files
    for name, body in files.items():
        (tmp_path / "code" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "code" / name).write_bytes(body)
    data = tmp_path / "input"
    data.mkdir()
    out_args = ["--output-dir", str(tmp_path / "out"), "--drop-columns", "label"]
    (data / "part.csv").write_text("age,plan,label\n30,gold,1\n41,basic,0\n52,gold,1\n")
    # When the baseline command runs from there, as the Baseline state starts it
    done = subprocess.run(
        [
            sys.executable,
            str(tmp_path / "code/monitoring/__main__.py"),
            "baseline",
            "--input-dir",
            str(data),
            *out_args,
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin"},
        check=False,
    )
    # Then it writes the baseline of the raw columns without the target
    assert done.returncode == 0, done.stderr
    names = [f["name"] for f in json.loads((tmp_path / "out/constraints.json").read_text())["features"]]
    assert names == ["age", "plan"]


# ---------------------------------------------------------------- promotion and retirement


def test_promotion_schedules_hourly_runs_of_the_monitoring_workflow_and_records_the_baseline() -> None:
    # Given a promoted version whose baseline job wrote constraints.json
    a = adapters()
    # When monitoring starts with the default settings
    result = promote(a)
    # Then an hourly EventBridge Scheduler schedule starts the monitoring workflow with the version's inputs
    _, schedules, model_monitor, _ = fakes(a)
    schedule = schedules.schedules["churn-aaa"]
    assert schedule.expression == "cron(0 * ? * * *)" and schedule.state_machine_arn == STACK.workflow_arn
    payload = json.loads(schedule.payload)
    assert payload["scheduled_time"] == "<aws.scheduler.scheduled-time>"
    assert payload["baseline_uri"] == BASELINE and payload["endpoint_name"] == "retrainer-churn"
    assert model_monitor.created == {}
    # And the model version names its baseline and where its reports go
    assert isinstance(a.registry, FakeRegistry)
    assert a.registry.metadata[PACKAGE]["monitoring_baseline_constraints"] == BASELINE + "constraints.json"
    assert a.registry.statuses[PACKAGE][0] == "Approved"
    assert result["reports"] == "s3://artifacts/monitoring/churn/churn-aaa/"


def test_promotion_creates_one_drift_alarm_per_feature_that_the_drift_rule_maps_to_the_model() -> None:
    # Given a promoted version with features age and plan, and a model threshold of 0.3
    a = adapters()
    result = promote(a, {"drift_threshold": 0.3})
    # Then each feature has an alarm on its drift metric, named by the convention the DriftAlarm rule reads
    *_, alarms = fakes(a)
    assert (
        sorted(alarms.alarms)
        == ["retrainer-drift-churn--age", "retrainer-drift-churn--plan"]
        == sorted(result["alarms"])
    )
    alarm = alarms.alarms["retrainer-drift-churn--age"]
    assert alarm.metric_name == "feature_baseline_drift_age" and alarm.threshold == 0.3
    assert (alarm.endpoint_name, alarm.schedule_name) == ("retrainer-churn", "churn-aaa")
    assert naming.model_from_alarm("retrainer", alarm.name) == "churn"


def test_the_default_drift_threshold_is_the_constraints_comparison_threshold() -> None:
    a = adapters()
    promote(a)
    assert {alarm.threshold for alarm in fakes(a)[3].alarms.values()} == {0.1}


def test_retirement_removes_the_old_versions_schedule_and_its_alarms_but_not_hand_made_ones() -> None:
    # Given the old champion monitored, and an alarm someone made by hand on another metric
    a = adapters()
    promote(a, run_id="churn-old")
    _, schedules, _, alarms = fakes(a)
    alarms.alarms["retrainer-drift-churn--by-hand"] = alarms.alarms["retrainer-drift-churn--age"].__class__(
        "retrainer-drift-churn--by-hand", "", "my_metric", "retrainer-churn", "my-own-schedule", 1.0
    )
    champion = Champion(exists=True, variant_name="churn-old", model_package_arn=PACKAGE)
    # When a new version is promoted and the old one retires
    result = call({"action": "stop", "run_id": "churn-new", "champion": champion.model_dump()}, a)
    # Then the old schedule and the alarms on its metrics are gone; the hand-made alarm stays
    assert schedules.schedules == {}
    assert sorted(result["alarms_deleted"]) == ["retrainer-drift-churn--age", "retrainer-drift-churn--plan"]
    assert list(alarms.alarms) == ["retrainer-drift-churn--by-hand"]


def test_a_first_deployment_has_nothing_to_retire() -> None:
    a = adapters()
    assert call({"action": "stop", "run_id": "churn-new", "champion": Champion().model_dump()}, a)["stopped"] == ""


def test_model_monitor_engine_creates_a_data_quality_schedule_on_the_same_baseline() -> None:
    # Given a model configured for Model Monitor (offline unsupported: moto has no monitoring schedules)
    a = adapters()
    promote(a, {"engine": "model_monitor"})
    _, schedules, model_monitor, alarms = fakes(a)
    # Then no EventBridge schedule, but a DataQualityJobDefinition + MonitoringSchedule in AWS's request shape
    assert schedules.schedules == {}
    definition, schedule = model_monitor.created["churn-aaa"]
    assert definition["DataQualityBaselineConfig"] == {
        "ConstraintsResource": {"S3Uri": BASELINE + "constraints.json"},
        "StatisticsResource": {"S3Uri": BASELINE + "statistics.json"},
    }
    assert definition["DataQualityAppSpecification"]["ImageUri"].endswith("/sagemaker-model-monitor-analyzer")
    assert definition["DataQualityJobInput"]["EndpointInput"]["EndpointName"] == "retrainer-churn"
    assert definition["RoleArn"] == STACK.sagemaker_role_arn
    assert schedule["MonitoringScheduleConfig"] == {
        "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"},
        "MonitoringJobDefinitionName": "churn-aaa",
        "MonitoringType": "DataQuality",
    }
    # And the same alarms (Model Monitor publishes the same metric names)
    assert len(alarms.alarms) == 2


def test_model_monitor_needs_a_cron_schedule() -> None:
    with pytest.raises(ValidationError, match="cron"):
        ModelOverrides.model_validate({"monitoring": {"engine": "model_monitor", "schedule": "rate(1 hour)"}}).apply_to(
            PipelineConfig()
        )


def test_plan_baseline_drops_the_target_and_the_dropped_columns() -> None:
    config = PipelineConfig(target_column="churned", drop_columns=("customer_id",))
    plan = call(
        {"action": "plan_baseline", "run_id": "churn-aaa", "config": config.model_dump(mode="json")}, adapters()
    )
    assert plan["baseline_uri"] == BASELINE and plan["enabled"] is True
    assert plan["arguments"][plan["arguments"].index("--drop-columns") + 1] == "churned,customer_id"


def test_plan_baseline_leaves_the_id_column_out_of_the_baseline() -> None:
    """Given a model keyed by an id column, when its baseline is planned, then the id is not a feature to watch:
    clients never send it (a drift alarm on `customer_id` and a column-count mismatch would follow)."""
    config = PipelineConfig(target_column="churned", id_column="customer_id")
    plan = call(
        {"action": "plan_baseline", "run_id": "churn-aaa", "config": config.model_dump(mode="json")}, adapters()
    )
    assert plan["arguments"][plan["arguments"].index("--drop-columns") + 1] == "churned,customer_id"


# ---------------------------------------------------------------- a scheduled run


def window(a: MonitoringAdapters, scheduled_time: str = "2026-12-01T11:00:00Z") -> dict[str, Any]:
    return call(
        {
            "action": "plan_window",
            "endpoint_name": "retrainer-churn",
            "variant_name": "churn-aaa",
            "schedule_name": "churn-aaa",
            "baseline_uri": BASELINE,
            "capture_uri": "s3://artifacts/data-capture",
            "scheduled_time": scheduled_time,
        },
        a,
    )


def test_a_window_reads_the_capture_hours_it_touches_and_reports_under_the_hour() -> None:
    # Given captures written at 10:xx and 11:00 (a file opened just before the hour)
    a = adapters()
    objects, *_ = fakes(a)
    for hour in ("10", "11"):
        objects.put("artifacts", f"data-capture/retrainer-churn/churn-aaa/2026/12/01/{hour}/00-01.jsonl", b"{}")
    # When the 11:00 run plans its window
    plan = window(a)
    # Then it analyses [10:00, 11:00) from both hour folders, against the baseline, into the hour's report folder
    assert (plan["has_data"], plan["start"], plan["end"]) == (True, "2026-12-01T10:00:00Z", "2026-12-01T11:00:00Z")
    uris = [i["S3Input"]["S3Uri"] for i in plan["inputs"]]
    assert uris == [
        STACK.job_code_prefix,
        BASELINE,
        "s3://artifacts/data-capture/retrainer-churn/churn-aaa/2026/12/01/10/",
        "s3://artifacts/data-capture/retrainer-churn/churn-aaa/2026/12/01/11/",
    ]
    assert plan["output_uri"] == "s3://artifacts/monitoring/churn/churn-aaa/2026/12/01/11/"
    assert len(plan["job_name"]) <= 63 and re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9])*", plan["job_name"])


def test_a_window_without_captures_starts_no_job() -> None:
    plan = window(adapters())
    assert plan["has_data"] is False and "inputs" not in plan and plan["outcome"].startswith("no data")


def report(a: MonitoringAdapters, violations: list[dict[str, Any]]) -> str:
    objects, *_ = fakes(a)
    folder = "monitoring/churn/churn-aaa/2026/12/01/11/"
    metrics = [{"Namespace": "aws/sagemaker/Endpoints/data-metrics", "MetricData": [{"MetricName": "x", "Value": 0.4}]}]
    objects.put("artifacts", folder + "cloudwatch_metrics.json", json.dumps(metrics).encode())
    objects.put("artifacts", folder + "constraint_violations.json", json.dumps({"violations": violations}).encode())
    return f"s3://artifacts/{folder}"


RUN = {"action": "publish", "endpoint_name": "retrainer-churn", "schedule_name": "churn-aaa", "job_name": "churn-aaa-1"}
DRIFT = {
    "feature_name": "age",
    "constraint_check_type": "baseline_drift_check",
    "description": "Baseline drift distance: 0.4123 exceeds threshold: 0.1",
}


def test_a_run_with_drift_publishes_metrics_an_event_the_trigger_accepts_and_a_notice() -> None:
    # Given a run whose report lists a drifted feature
    a = adapters()
    output = report(a, [DRIFT, {"feature_name": "plan", "constraint_check_type": "missing_column_check"}])
    # When its results are published
    result = call({**RUN, "output_uri": output}, a)
    # Then the metrics are in CloudWatch for the alarms
    *_, alarms = fakes(a)
    assert result["outcome"] == "violations" and alarms.metric_requests[0]["MetricData"][0]["MetricName"] == "x"
    # And one event, in the shape MonitorViolationFunction parses into a trigger for this endpoint's model
    assert isinstance(a.bus, FakeEventBus) and len(a.bus.events) == 1
    event = ProcessingJobStateChangeEvent.model_validate(
        {"id": "1", "version": "0", "account": "1", "time": "2026-12-01T11:05:00Z", "region": "us-east-1"}
        | {"resources": [], **a.bus.events[0]}
    )
    assert event.detail.exit_message and event.detail.exit_message.startswith(VIOLATIONS_PREFIX)
    assert event.detail.environment[ENDPOINT_ENVIRONMENT_KEY] == "retrainer-churn"
    # And the notice says which feature drifted, by how much, and where the report is
    assert isinstance(a.notifier, FakeNotifier)
    [notice] = a.notifier.sent
    assert notice["message"]["drifted"] == [{"feature": "age", "distance": 0.4123, "threshold": 0.1}]
    assert notice["message"]["report"] == output and output in notice["message"]["headline"]
    assert "age 0.412 > 0.1" in event.detail.exit_message


def test_a_run_without_violations_publishes_metrics_only() -> None:
    a = adapters()
    result = call({**RUN, "output_uri": report(a, [])}, a)
    assert result["outcome"] == "no violations" and result["metrics"] == 1
    assert isinstance(a.bus, FakeEventBus) and a.bus.events == []


def test_a_window_without_traffic_ends_quietly_and_other_failures_are_errors() -> None:
    a = adapters()
    no_data = {"Error": "States.TaskFailed", "Cause": '{"FailureReason": "AlgorithmError: Job inputs had no data"}'}
    assert call({**RUN, "output_uri": "s3://artifacts/x/", "failure": no_data}, a)["outcome"] == "no data"
    with pytest.raises(MonitoringJobFailed, match="OutOfMemory"):
        call({**RUN, "output_uri": "s3://x/", "failure": {"Error": "States.TaskFailed", "Cause": "OutOfMemory"}}, a)


# ---------------------------------------------------------------- the state machines


MONITORING = json.loads((ROOT / "statemachines/monitoring.asl.json").read_text())
RETRAINING = json.loads((ROOT / "statemachines/retraining.asl.json").read_text())
MODELS = {model.model_fields["action"].annotation.__args__[0]: model for model in ACTIONS}  # type: ignore[union-attr]


def _fields(payload: dict[str, Any]) -> set[str]:
    return {key.removesuffix(".$") for key in payload}


def _required(model: type[BaseModel]) -> set[str]:
    return {name for name, info in model.model_fields.items() if info.is_required()}


def test_the_committed_monitoring_asl_is_the_render() -> None:
    assert monitoring_workflow.render() == (ROOT / "statemachines/monitoring.asl.json").read_text()
    assert retraining_workflow.render() == (ROOT / "statemachines/retraining.asl.json").read_text()


def test_the_monitoring_workflow_plans_analyses_publishes_and_ends_quietly_without_data() -> None:
    states = MONITORING["States"]
    assert MONITORING["StartAt"] == "PlanWindow" and MONITORING["TimeoutSeconds"] > 3600
    assert states["PlanWindow"]["Next"] == "Captured"
    assert states["Captured"]["Choices"] == [
        {"Variable": "$.window.has_data", "BooleanEquals": True, "Next": "Analyze"}
    ]
    assert states["Captured"]["Default"] == "NoData" and states["NoData"]["Next"] == "QualityOn"
    analyze = states["Analyze"]
    assert analyze["Resource"] == "arn:aws:states:::sagemaker:createProcessingJob.sync"
    assert analyze["Parameters"]["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri.$"] == "$.window.output_uri"
    assert analyze["Next"] == "Publish" and [c["Next"] for c in analyze["Catch"]] == ["JudgeFailure"]
    assert states["JudgeFailure"]["Next"] == "NoData" and states["Publish"]["Next"] == "QualityOn"
    # A data-quality failure is recorded, the model-quality part still runs, and the execution fails at the end
    assert {c["Next"] for s in ("PlanWindow", "Publish", "JudgeFailure") for c in states[s]["Catch"]} == {
        "DataQualityFailed"
    }
    assert states["DataQualityFailed"]["Next"] == "QualityOn"
    assert states["Outcome"]["Choices"][0] == {
        "Variable": "$.data_quality_failed",
        "IsPresent": True,
        "Next": "MonitoringFailed",
    }


@pytest.mark.parametrize(
    "asl, name",
    [(MONITORING, n) for n in ("PlanWindow", "Publish", "JudgeFailure")]
    + [(RETRAINING, n) for n in ("StopRetiredMonitoring", "PlanBaseline", "StartMonitoring")],
)
def test_each_monitoring_payload_is_what_its_action_model_reads(asl: dict[str, Any], name: str) -> None:
    step = asl["States"][name]
    assert step["Resource"] == MONITORING_ARN
    model = MODELS[step["Parameters"]["action"]]
    fields = _fields(step["Parameters"])
    assert _required(model) <= fields <= set(model.model_fields), (name, _required(model) - fields)


def test_promotion_sets_up_monitoring_and_a_failure_there_never_undoes_the_deployment() -> None:
    states = RETRAINING["States"]
    chain = ["Promote", "StopRetiredMonitoring", "PlanBaseline", "MonitoringOn"]
    assert [states[s]["Next"] for s in chain[:-1]] == chain[1:]
    assert states["Baseline"]["Next"] == "StartMonitoring" and states["StartMonitoring"]["Next"] == "NoticeDeployed"
    for name in ("PlanBaseline", "Baseline", "StartMonitoring"):
        assert [(c["Next"], c["ResultPath"]) for c in states[name]["Catch"]] == [
            ("NoticeDeployed", f"$.failure.{name}")
        ]
    baseline = states["Baseline"]["Parameters"]
    assert baseline["AppSpecification"]["ContainerEntrypoint"][-1].endswith("/code/monitoring/__main__.py")
    assert baseline["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri.$"] == "$.monitoring.baseline_uri"


def test_the_monitoring_state_machine_is_deployed_with_every_substitution() -> None:
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    template = yaml.load((ROOT / "template.yaml").read_text(), Loader=Loader)
    props = template["Resources"]["MonitoringStateMachine"]["Properties"]
    assert props["DefinitionUri"] == "statemachines/monitoring.asl.json"
    text = (ROOT / "statemachines/monitoring.asl.json").read_text()
    assert set(re.findall(r"\$\{(\w+)\}", text)) == set(props["DefinitionSubstitutions"])
    rule = template["Resources"]["MonitorViolationFunction"]["Properties"]["Events"]["OwnMonitoringRunCompleted"]
    assert rule["Properties"]["Pattern"]["source"] == ["retrainer.monitoring"]
