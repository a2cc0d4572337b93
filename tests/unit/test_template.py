"""template.yaml: the security and wiring properties the stack promises, asserted on the parsed file."""

from __future__ import annotations

import functools
import json
import re
import tomllib
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml

from statemachines.images import image_mapping
from tests.samples import ROOT

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
        [deny] = [s for s in policies[name]["Properties"]["PolicyDocument"]["Statement"] if s.get("Effect") == "Deny"]
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
    bucket_statements = [
        s["Fn::If"][1] if "Fn::If" in s else s
        for policy in of_type("AWS::S3::BucketPolicy").values()
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Effect") == "Allow" or "Fn::If" in s
    ]
    statements = (
        policy_statements()
        + [("DataKey", s) for s in RESOURCES["DataKey"]["Properties"]["KeyPolicy"]["Statement"]]
        + [("BucketPolicy", s) for s in bucket_statements]
    )
    assert len(statements) > 20
    for name, statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        for action in actions:
            assert "*" not in action, f"{name} {statement.get('Sid')}: wildcard action {action}"


def test_pass_role_names_one_role_for_the_service_that_assumes_it() -> None:
    # Given every PassRole statement: the SageMaker role (jobs, Model Monitor) and the scheduler role (schedules)
    passes = [s for _, s in policy_statements() if "iam:PassRole" in str(s["Action"])]
    allowed = {
        "SageMakerExecutionRole": "sagemaker.amazonaws.com",
        "MonitoringSchedulerRole": "scheduler.amazonaws.com",
    }
    assert len(passes) >= 2
    for statement in passes:
        # Then each names one role of the stack, passed only to the service that role trusts
        [role, _] = statement["Resource"]["Fn::GetAtt"]
        service = allowed[role]
        assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": service}}
        trust = RESOURCES[role]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
        assert trust["Principal"] == {"Service": service}


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


# Functions something invokes asynchronously: EventBridge rules and schedules, CloudFormation (custom resource).
ASYNC_FUNCTIONS = (
    "StartRetrainingFunction",
    "MonitorViolationFunction",
    "CoordinateRunsFunction",
    "PublishJobCodeFunction",
)
DEAD_LETTERS = {"Fn::GetAtt": ["TriggerDeadLetterQueue", "Arn"]}


def test_every_asynchronously_invoked_function_and_rule_has_a_dead_letter_queue() -> None:
    for name in ASYNC_FUNCTIONS:
        props = RESOURCES[name]["Properties"]
        assert props["DeadLetterQueue"] == {"Type": "SQS", "TargetArn": DEAD_LETTERS}, name
        for event_name, event in props.get("Events", {}).items():
            assert event["Properties"]["DeadLetterConfig"]["Arn"] == DEAD_LETTERS, f"{name} {event_name}"
    # Every other function is invoked only synchronously (by the state machine) and says so to checkov.
    for name in set(of_type("AWS::Serverless::Function")) - set(ASYNC_FUNCTIONS):
        assert "Events" not in RESOURCES[name]["Properties"], name
        assert "CKV_AWS_116" in [s["id"] for s in RESOURCES[name]["Metadata"]["checkov"]["skip"]], name


RETAINED_TYPES = (
    "AWS::KMS::Key",
    "AWS::S3::Bucket",
    "AWS::DynamoDB::Table",
    "AWS::SQS::Queue",
    "AWS::Logs::LogGroup",
    "AWS::CloudTrail::Trail",
)


def test_data_keys_and_logs_survive_stack_deletion_and_replacement() -> None:
    retained = {name: r for name, r in RESOURCES.items() if r["Type"] in RETAINED_TYPES}
    assert {"DataKey", "DataBucket", "ArtifactsBucket", "TriggerTable", "TriggerDeadLetterQueue"} <= set(retained)
    for name, resource in retained.items():
        assert resource.get("DeletionPolicy") == "Retain", name
        assert resource.get("UpdateReplacePolicy") == "Retain", name


def test_every_function_logs_into_an_encrypted_expiring_group_of_the_stack() -> None:
    groups = of_type("AWS::Logs::LogGroup")
    named = {json.dumps(g["Properties"]["LogGroupName"]): g for g in groups.values()}
    for name in of_type("AWS::Serverless::Function"):
        group = named[json.dumps({"Fn::Sub": f"/aws/lambda/${{{name}}}"})]
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, name
    for name, group in groups.items():
        assert group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": ["DataKey", "Arn"]}, name
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, name
    # The key lets CloudWatch Logs use it, only for this account's log groups
    [logs] = [s for s in RESOURCES["DataKey"]["Properties"]["KeyPolicy"]["Statement"] if "Logs" in s["Sid"]]
    assert logs["Principal"] == {"Service": {"Fn::Sub": "logs.${AWS::Region}.amazonaws.com"}}
    assert list(logs["Condition"]["ArnLike"]) == ["kms:EncryptionContext:aws:logs:arn"]
    # The custom resource's function logs into its group from its first invocation
    assert RESOURCES["JobCode"]["DependsOn"] == "PublishJobCodeFunctionLogGroup"


def test_custom_resource_fails_fast_instead_of_waiting_an_hour() -> None:
    assert 60 <= RESOURCES["JobCode"]["Properties"]["ServiceTimeout"] <= 900


def test_powertools_layer_is_the_version_the_tests_run() -> None:
    # Given the version pyproject.toml pins (what every test runs)
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    [pin] = [d for d in pyproject["project"]["dependencies"] if d.startswith("aws-lambda-powertools")]
    version = pin.split("==")[1]
    # Then the template's layer is AWS's public SSM parameter of that version, runtime and architecture
    parameter = TEMPLATE["Parameters"]["PowertoolsLayerArn"]
    assert parameter["Type"] == "AWS::SSM::Parameter::Value<String>"
    function_globals = TEMPLATE["Globals"]["Function"]
    [arch] = function_globals["Architectures"]
    runtime = function_globals["Runtime"]
    assert parameter["Default"] == f"/aws/service/powertools/python/{arch}/{runtime}/{version}"
    assert {"Ref": "PowertoolsLayerArn"} in function_globals["Layers"]


def test_audit_trail_is_optional_and_records_sagemaker_and_bucket_data_events() -> None:
    assert TEMPLATE["Parameters"]["EnableAuditTrail"]["Default"] == "false"
    trail = RESOURCES["AuditTrail"]
    assert trail["Condition"] == "HasAuditTrail"
    props = trail["Properties"]
    assert props["S3BucketName"] == {"Ref": "ArtifactsBucket"} and props["EnableLogFileValidation"] is True
    assert props["KMSKeyId"] == {"Fn::GetAtt": ["DataKey", "Arn"]}
    selectors = [{f["Field"]: f for f in s["FieldSelectors"]} for s in props["AdvancedEventSelectors"]]
    assert any(s["eventSource"]["Equals"] == ["sagemaker.amazonaws.com"] for s in selectors if "eventSource" in s)
    assert any(s["eventCategory"]["Equals"] == ["Data"] and "resources.ARN" in s for s in selectors)
    # Only CloudTrail, for this stack's trail, may write into the bucket
    statements = RESOURCES["ArtifactsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    trail_statements = [s["Fn::If"][1] for s in statements if "Fn::If" in s]
    assert {s["Sid"] for s in trail_statements} == {"CloudTrailChecksTheBucket", "CloudTrailWritesTheAuditTrail"}
    for statement in trail_statements:
        assert statement["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
        assert "aws:SourceArn" in statement["Condition"]["StringEquals"]


def test_every_checkov_skip_carries_a_reason() -> None:
    skips = [
        (name, skip)
        for name, resource in RESOURCES.items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    assert skips
    for name, skip in skips:
        assert re.fullmatch(r"CKV_AWS_\d+", skip["id"]) and len(skip.get("comment", "")) > 40, (name, skip)


def test_samconfig_has_dev_and_prod_and_never_watches_prod() -> None:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    assert {"dev", "prod"} <= set(config)
    assert config["dev"]["global"]["parameters"]["stack_name"] != config["prod"]["global"]["parameters"]["stack_name"]
    # Only prod deploys to the production stack, through a reviewed change set; nothing syncs or watches it
    assert "sync" not in config["prod"] and config["prod"]["deploy"]["parameters"]["confirm_changeset"] is True
    prod_stack = config["prod"]["global"]["parameters"]["stack_name"]
    for name, environment in config.items():
        if name in ("version", "prod") or not isinstance(environment, dict):
            continue
        assert environment.get("global", {}).get("parameters", {}).get("stack_name") != prod_stack, name
    # and a bare `sam deploy`/`sam sync` (the default environment) has no target at all
    assert not {"deploy", "sync", "global"} & set(config.get("default", {}))


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


def test_image_mapping_is_what_the_sagemaker_sdk_resolves(monkeypatch: pytest.MonkeyPatch) -> None:
    from sagemaker import utils

    # Given the SDK's region resolver read once (the SDK re-reads botocore's endpoints file for every image: seconds)
    monkeypatch.setattr(utils, "_botocore_resolver", functools.cache(utils._botocore_resolver))
    # When the images of every region are resolved
    # Then the template's mapping is what the installed SDK resolves
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
