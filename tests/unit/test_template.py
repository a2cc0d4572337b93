"""template.yaml: the security and wiring properties the stack promises, asserted on the parsed file."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml

from statemachines.images import image_mapping
from tests.unit.conftest import ROOT

TEMPLATE: dict[str, Any] = cfn_yaml.load(str(ROOT / "template.yaml"))
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
ASL_TEXT = (ROOT / "statemachines" / "retraining.asl.json").read_text()


def of_type(kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in RESOURCES.items() if r["Type"] == kind}


def policy_statements() -> list[tuple[str, dict[str, Any]]]:
    """Every IAM statement that grants something: roles, managed policies and function policies."""
    found: list[tuple[str, dict[str, Any]]] = []
    for name, resource in RESOURCES.items():
        props = resource.get("Properties", {})
        documents = [
            p["PolicyDocument"] for p in props.get("Policies", []) if isinstance(p, dict) and "PolicyDocument" in p
        ]
        documents += [p for p in props.get("Policies", []) if isinstance(p, dict) and "Statement" in p]
        if "PolicyDocument" in props and resource["Type"] == "AWS::IAM::ManagedPolicy":
            documents.append(props["PolicyDocument"])
        for document in documents:
            found += [(name, s) for s in document["Statement"]]
    return found


def test_buckets_are_versioned_kms_encrypted_private_and_tls_only() -> None:
    buckets = of_type("AWS::S3::Bucket")
    assert set(buckets) == {"DataBucket", "ArtifactsBucket"}
    policies = {p["Properties"]["Bucket"]["Ref"]: p for p in of_type("AWS::S3::BucketPolicy").values()}
    for name, bucket in buckets.items():
        props = bucket["Properties"]
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}
        [rule] = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
        assert rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"] == {"Fn::GetAtt": ["DataKey", "Arn"]}
        assert all(
            props["PublicAccessBlockConfiguration"][k] is True
            for k in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")
        )
        [deny] = policies[name]["Properties"]["PolicyDocument"]["Statement"]
        assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert buckets["DataBucket"]["Properties"]["NotificationConfiguration"] == {
        "EventBridgeConfiguration": {"EventBridgeEnabled": True}
    }


def test_customer_managed_key_rotates_and_encrypts_topic_queue_and_table() -> None:
    assert RESOURCES["DataKey"]["Properties"]["EnableKeyRotation"] is True
    key = {"Fn::GetAtt": ["DataKey", "Arn"]}
    assert RESOURCES["NotificationTopic"]["Properties"]["KmsMasterKeyId"] == key
    assert RESOURCES["TriggerDeadLetterQueue"]["Properties"]["KmsMasterKeyId"] == key
    assert RESOURCES["TriggerTable"]["Properties"]["SSESpecification"]["KMSMasterKeyId"] == key


def test_no_wildcard_actions_anywhere() -> None:
    statements = policy_statements() + [
        ("DataKey", s) for s in RESOURCES["DataKey"]["Properties"]["KeyPolicy"]["Statement"]
    ]
    assert len(statements) > 20
    for name, statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        for action in actions:
            assert "*" not in action, f"{name} {statement.get('Sid')}: wildcard action {action}"


def test_pass_role_names_the_sagemaker_role_for_sagemaker_only() -> None:
    passes = [s for _, s in policy_statements() if "iam:PassRole" in str(s["Action"])]
    assert len(passes) == 1
    [statement] = passes
    assert statement["Resource"] == {"Fn::GetAtt": ["SageMakerExecutionRole", "Arn"]}
    assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}


def test_state_machine_may_manage_only_the_sync_integration_rules() -> None:
    [statement] = [
        s for n, s in policy_statements() if n == "StateMachineRole" and s.get("Sid") == "SyncIntegrationRules"
    ]
    assert sorted(statement["Action"]) == ["events:DescribeRule", "events:PutRule", "events:PutTargets"]
    rules = [r["Fn::Sub"].rsplit("/", 1)[1] for r in statement["Resource"]]
    assert rules and all(r.startswith("StepFunctionsGetEventsForSageMaker") for r in rules)


def test_state_machine_substitutions_cover_every_placeholder_and_it_logs_and_traces() -> None:
    props = RESOURCES["RetrainingStateMachine"]["Properties"]
    assert props["DefinitionUri"] == "statemachines/retraining.asl.json"
    placeholders = set(re.findall(r"\$\{(\w+)\}", ASL_TEXT))
    assert placeholders == set(props["DefinitionSubstitutions"])
    assert props["Tracing"] == {"Enabled": True}
    assert props["Logging"]["Destinations"][0]["CloudWatchLogsLogGroup"]["LogGroupArn"] == {
        "Fn::GetAtt": ["StateMachineLogGroup", "Arn"]
    }


def test_trigger_rules_match_uploads_drift_alarms_and_monitoring_runs() -> None:
    start = RESOURCES["StartRetrainingFunction"]["Properties"]["Events"]["DataUploaded"]["Properties"]["Pattern"]
    assert start["source"] == ["aws.s3"] and start["detail-type"] == ["Object Created"]
    assert start["detail"]["object"]["key"] == [{"prefix": {"Ref": "DataPrefix"}}]
    assert TEMPLATE["Parameters"]["DataPrefix"]["Default"] == "incoming/"
    events = RESOURCES["MonitorViolationFunction"]["Properties"]["Events"]
    alarm = events["DriftAlarm"]["Properties"]["Pattern"]
    assert alarm["detail-type"] == ["CloudWatch Alarm State Change"]
    assert alarm["detail"]["state"] == {"value": ["ALARM"]}
    assert alarm["detail"]["alarmName"] == [{"prefix": {"Fn::Sub": "${AWS::StackName}-drift-"}}]
    run = events["MonitoringRunCompleted"]["Properties"]["Pattern"]
    assert run["detail-type"] == ["SageMaker Processing Job State Change"]
    assert run["detail"]["ProcessingJobStatus"] == ["Completed"]


def test_every_asynchronously_invoked_function_has_a_dead_letter_queue() -> None:
    for name in ("StartRetrainingFunction", "MonitorViolationFunction"):
        props = RESOURCES[name]["Properties"]
        assert props["DeadLetterQueue"]["Type"] == "SQS"
        for event in props["Events"].values():
            assert event["Properties"]["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": ["TriggerDeadLetterQueue", "Arn"]}


def test_functions_run_python312_with_tracing() -> None:
    function_globals = TEMPLATE["Globals"]["Function"]
    assert function_globals["Runtime"] == "python3.12" and function_globals["Tracing"] == "Active"
    for name, function in of_type("AWS::Serverless::Function").items():
        code = ROOT / function["Properties"]["CodeUri"] / "app.py"
        assert code.exists(), name


def test_tunable_parameters_have_documented_defaults() -> None:
    for name in (
        "DataPrefix",
        "DefaultTargetColumn",
        "EvaluationMetric",
        "EvaluationThreshold",
        "ProcessingInstanceType",
        "TrainingInstanceType",
        "TransformInstanceType",
        "EndpointInstanceType",
        "NotificationEmail",
    ):
        parameter = TEMPLATE["Parameters"][name]
        assert "Default" in parameter and parameter.get("Description"), name


def test_image_mapping_is_what_the_sagemaker_sdk_resolves() -> None:
    assert TEMPLATE["Mappings"]["SageMakerImages"] == image_mapping()


@pytest.mark.parametrize(
    "state", json.loads(ASL_TEXT)["States"].items(), ids=lambda s: s[0] if isinstance(s, tuple) else ""
)
def test_every_task_has_timeout_jittered_retry_and_catch(state: tuple[str, dict[str, Any]]) -> None:
    name, body = state
    if body["Type"] != "Task":
        return
    assert body["TimeoutSeconds"] > 0, name
    assert body["Retry"], name
    for retry in body["Retry"]:
        assert retry["JitterStrategy"] == "FULL" and retry["MaxDelaySeconds"] > 0, name
    assert body["Catch"][0]["ErrorEquals"] == ["States.ALL"], name
