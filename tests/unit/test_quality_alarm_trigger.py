"""Issue 15's trigger on fakes: the quality alarm retrains on the feedback data, feedback files never start a run.

The handlers on the moto stack with the sample events: tests/functional/test_quality_alarm_trigger.py.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml

from retrainer import naming
from retrainer.errors import ActionNeeded, EventRejected
from retrainer.events import AlarmStateChangeEvent, S3ObjectCreatedEvent
from retrainer.services.monitor_violation import start_from_alarm
from retrainer.services.runs import Adapters
from retrainer.services.start_retraining import start_from_upload
from retrainer.settings import MonitorViolationSettings, StartRetrainingSettings
from retrainer_jobs import preprocess
from retrainer_jobs.data_checks import Rules
from tests.fakes import FakeObjects, FakeStarter, FreeLedger
from tests.samples import ENVIRONMENT, ROOT, load_event

QUALITY = load_event("quality_alarm.json")
DRIFT = load_event("alarm_state_change.json")
UPLOAD = load_event("s3_object_created.json")
BUCKET = ENVIRONMENT["DATA_BUCKET"]
ALARM = "retrainer-quality-churn--auc"
FEEDBACK_CSV = "incoming/churn/feedback/2026-12-01-10.csv"


def _adapters(starter: FakeStarter, *keys: str) -> Adapters:
    data = FakeObjects({(BUCKET, key): b"label,age\n1,40\n" for key in ("incoming/churn/part-1.csv", *keys)})
    return Adapters(config_store=FakeObjects(), data_catalog=data, ledger=FreeLedger(), starter=starter)


def _alarm(name: str = ALARM, **state: Any) -> AlarmStateChangeEvent:
    event = copy.deepcopy(QUALITY)
    event["detail"]["alarmName"] = name
    event["detail"]["state"].update(state)
    return AlarmStateChangeEvent.model_validate(event)


def _upload(key: str) -> S3ObjectCreatedEvent:
    event = copy.deepcopy(UPLOAD)
    event["detail"]["object"]["key"] = key
    return S3ObjectCreatedEvent.model_validate(event)


MONITOR_SETTINGS = MonitorViolationSettings.model_validate({**ENVIRONMENT})
UPLOAD_SETTINGS = StartRetrainingSettings.model_validate({**ENVIRONMENT})


# ------------------------------------------------------------------------------------------ the quality alarm
def test_the_sample_quality_alarm_follows_the_naming_convention() -> None:
    assert QUALITY["detail"]["alarmName"] == naming.quality_alarm_name("retrainer", "churn", "auc") == ALARM


def test_a_quality_alarm_with_feedback_data_retrains_the_model_on_its_folder() -> None:
    # Given churn has an upload and a model-quality run wrote feedback rows
    starter = FakeStarter()
    # When its quality alarm goes to ALARM
    outcome = start_from_alarm(_alarm(), MONITOR_SETTINGS, _adapters(starter, FEEDBACK_CSV))
    # Then churn retrains on its whole folder (feedback included), the trigger says it was the quality alarm
    assert outcome.status == "started" and outcome.model_name == "churn"
    request = json.loads(starter.executions[outcome.run_id])
    assert request["trigger"]["kind"] == "quality_alarm" and request["trigger"]["source"] == ALARM
    assert "0.61" in request["trigger"]["detail"]
    assert request["data"]["prefix"] == "incoming/churn/"


def test_the_run_is_named_after_the_alarm_and_its_state_change_time() -> None:
    # Given the same transition delivered twice, and a later transition of the same alarm
    first, again, later = (
        start_from_alarm(event, MONITOR_SETTINGS, _adapters(FakeStarter(), FEEDBACK_CSV)).run_id
        for event in (_alarm(), _alarm(), _alarm(timestamp="2026-12-02T11:02:41.205+0000"))
    )
    # Then one transition is one run id (redelivery starts nothing new) and a new transition is a new run
    assert first == again == naming.run_id("churn", ALARM, QUALITY["detail"]["state"]["timestamp"])
    assert later != first


@pytest.mark.parametrize(
    "feedback",
    [(), ("incoming/churn/feedback/2026-12-01-10.json",), ("incoming/churn/part-2.csv",)],
    ids=["no feedback folder", "only the window's .json", "new upload but no feedback"],
)
def test_a_quality_alarm_without_feedback_csv_names_where_the_ground_truth_goes(feedback: tuple[str, ...]) -> None:
    # Given churn has data but no feedback CSV (no labelled rows were written for the alarm's window)
    starter = FakeStarter()
    # When its quality alarm fires
    # Then the owner is told (ActionNeeded) where ground truth goes and that no labelled rows were written
    with pytest.raises(ActionNeeded) as rejected:
        start_from_alarm(_alarm(), MONITOR_SETTINGS, _adapters(starter, *feedback))
    reason = rejected.value.reason
    assert f"s3://{BUCKET}/ground-truth/churn/yyyy/mm/dd/hh/" in reason
    assert "no labelled rows were written" in reason and f"s3://{BUCKET}/incoming/churn/feedback/" in reason
    assert rejected.value.context["model_name"] == "churn"
    # And nothing runs (retraining would relearn the champion's rows)
    assert starter.started == []


@pytest.mark.parametrize(
    ("name", "rejection", "reason"),
    [
        ("retrainer-quality-Churn--auc", ActionNeeded, "quality-alarm convention"),
        ("retrainer-quality---auc", ActionNeeded, "quality-alarm convention"),
        ("prod-quality-churn--auc", EventRejected, "convention"),
    ],
    ids=["invalid model name", "no model", "another stack's alarm"],
)
def test_quality_alarms_off_the_convention_start_nothing(name: str, rejection: type[Exception], reason: str) -> None:
    starter = FakeStarter()
    with pytest.raises(rejection, match=reason) as rejected:
        start_from_alarm(_alarm(name), MONITOR_SETTINGS, _adapters(starter, FEEDBACK_CSV))
    # Another stack's alarm is not this stack's problem: a plain rejection, no notice
    assert type(rejected.value) is rejection
    assert starter.started == []


def test_a_quality_alarm_back_to_ok_starts_nothing() -> None:
    starter = FakeStarter()
    with pytest.raises(EventRejected, match="not in ALARM state"):
        start_from_alarm(_alarm(value="OK"), MONITOR_SETTINGS, _adapters(starter, FEEDBACK_CSV))
    assert starter.started == []


def test_the_drift_alarm_still_needs_no_feedback() -> None:
    starter = FakeStarter()
    outcome = start_from_alarm(AlarmStateChangeEvent.model_validate(DRIFT), MONITOR_SETTINGS, _adapters(starter))
    assert outcome.status == "started"
    assert json.loads(starter.executions[outcome.run_id])["trigger"]["kind"] == "drift_alarm"


# ---------------------------------------------------------------------------------- uploads to the data bucket
@pytest.mark.parametrize(
    ("key", "reason"),
    [
        (FEEDBACK_CSV, "feedback data: a quality alarm starts the retraining"),
        ("incoming/churn/feedback/2026-12-01-10.json", "feedback data: a quality alarm starts the retraining"),
        ("incoming/churn/feedback/2026-12-01-1000--2026-12-01-1200.csv", "feedback data"),
        ("ground-truth/churn/2026/12/01/11/labels.jsonl", "ground truth"),
        ("ground-truth/churn/2026/12/01/11/labels.csv", "ground truth"),
    ],
)
def test_feedback_and_ground_truth_objects_never_start_a_run(key: str, reason: str) -> None:
    starter = FakeStarter()
    with pytest.raises(EventRejected, match=reason) as rejected:
        start_from_upload(_upload(key), UPLOAD_SETTINGS, _adapters(starter))
    # A plain rejection (logged and counted, never an "action needed" notice: they land every window)
    assert type(rejected.value) is EventRejected
    assert starter.started == []


def test_ground_truth_is_refused_even_when_the_data_prefix_is_the_ground_truth_folder() -> None:
    settings = StartRetrainingSettings.model_validate({**ENVIRONMENT, "DATA_PREFIX": "ground-truth/"})
    with pytest.raises(EventRejected, match="ground truth"):
        start_from_upload(_upload("ground-truth/churn/labels.csv"), settings, _adapters(FakeStarter()))


@pytest.mark.parametrize("key", ["incoming/churn/2026/feedback/part-1.csv", "incoming/feedback/part-1.csv"])
def test_a_folder_named_feedback_elsewhere_is_ordinary_data(key: str) -> None:
    # Given an upload into a feedback folder that is not <prefix><model>/feedback/ (deeper, or a model so named)
    starter = FakeStarter()
    # When its event arrives, Then the model retrains as for any upload
    outcome = start_from_upload(_upload(key), UPLOAD_SETTINGS, _adapters(starter))
    assert outcome.status == "started" and starter.started == [outcome.run_id]


# ------------------------------------------------------------------- the feedback counts in the data fingerprint
def _rows(path: Path, start: int, count: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["customer_id,age,plan,label"] + [
        f"c{i},{20 + i % 60},{'gold' if i % 3 else 'basic'},{i % 2}" for i in range(start, start + count)
    ]
    path.write_text("\n".join(lines) + "\n")


def _schema(data: Path, out: Path) -> dict[str, Any]:
    preprocess.run(data, out, Rules(target="label"), id_column="customer_id")
    schema: dict[str, Any] = json.loads((out / "schema" / "schema.json").read_text())
    return schema


def test_preprocess_fingerprints_the_feedback_folder_so_the_same_rows_end_as_no_new_data(tmp_path: Path) -> None:
    # Given a model folder with an upload
    data = tmp_path / "incoming" / "churn"
    _rows(data / "upload.csv", 0, 120)
    champion = _schema(data, tmp_path / "champion")
    # When it is preprocessed again unchanged, Then the fingerprint is the champion's (CheckNewData: NoNewData)
    assert _schema(data, tmp_path / "same")["fingerprint"] == champion["fingerprint"]
    # When a model-quality run wrote feedback rows (and its .json) under feedback/
    _rows(data / "feedback" / "2026-12-01-10.csv", 1000, 30)
    (data / "feedback" / "2026-12-01-10.json").write_text('{"rows": 30}')
    with_feedback = _schema(data, tmp_path / "feedback")
    # Then Preprocess read it (recursively): more rows, a new fingerprint, the file listed
    assert with_feedback["fingerprint"] != champion["fingerprint"]
    assert sum(with_feedback["rows"].values()) == sum(champion["rows"].values()) + 30
    assert any("feedback/2026-12-01-10.csv" in f for f in with_feedback["files"])
    # And a second alarm on the same feedback finds nothing new (no retraining loop)
    assert _schema(data, tmp_path / "again")["fingerprint"] == with_feedback["fingerprint"]


# --------------------------------------------------------------------------------------- the rule in template.yaml
def test_the_quality_alarm_rule_sits_beside_the_drift_rule_with_its_retries_and_dead_letters() -> None:
    template = cfn_yaml.load(str(ROOT / "template.yaml"))
    events = template["Resources"]["MonitorViolationFunction"]["Properties"]["Events"]
    quality, drift = events["QualityAlarm"]["Properties"], events["DriftAlarm"]["Properties"]
    assert quality["Pattern"] == {
        "source": ["aws.cloudwatch"],
        "detail-type": ["CloudWatch Alarm State Change"],
        "detail": {"alarmName": [{"prefix": {"Fn::Sub": "${AWS::StackName}-quality-"}}], "state": {"value": ["ALARM"]}},
    }
    assert quality["RetryPolicy"] == drift["RetryPolicy"]
    assert quality["DeadLetterConfig"] == drift["DeadLetterConfig"]
