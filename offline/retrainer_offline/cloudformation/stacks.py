"""CreateStack offline: template.yaml itself deployed into the emulator, no second, hand-kept list of resources.

The SAM template is transformed (sam_transform.py), then each resource of the CloudFormation template
is created in dependency order (intrinsics.py) through the ordinary boto3 APIs, one `create_<type>`
method per resource type below. Where moto's own CloudFormation falls short (offline-runtime-notes
"CloudFormation and SAM"), this does what AWS does: the state machine gets its `DefinitionSubstitutions`
and runs in the executing backend, a bucket's `EventBridgeConfiguration` is turned on, a custom
resource's function answers through CloudFormation's protocol (custom_resources.py).

Code: `CodeUri`/`ContentUri` folders stay folders; a function runs in-process from its code folder
with its stack layers' folders on the path (`on_function`). Public layers from other accounts (the
Powertools layer) are satisfied by the packages installed here. A resource type with no creator
below goes to moto's own CloudFormation model for that type; a type moto does not know either is
an error naming it. What the stack hands out is typed (handles.py).
"""

from __future__ import annotations

import io
import json
import re
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3

from retrainer_offline.cloudformation.custom_resources import ResponseCatcher, create_custom_resource
from retrainer_offline.cloudformation.handles import ACCOUNT_ID, REGION, DeployedFunction, DeployedStack, DeployError
from retrainer_offline.cloudformation.intrinsics import Resolver, creation_order
from retrainer_offline.cloudformation.sam_transform import load_sam_template, translate


class _Empty:
    """The Lambda API needs a code package; the runtime runs the code folder instead."""

    zip_bytes = b""

    @classmethod
    def zip(cls) -> bytes:
        if not cls.zip_bytes:
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w") as archive:
                archive.writestr("README", "code runs in-process from its folder")
            cls.zip_bytes = buffer.getvalue()
        return cls.zip_bytes


# ------------------------------------------------------------------------------ the deployer
class Deployer:
    def __init__(
        self,
        stack: DeployedStack,
        code_dirs: dict[str, Path],
        resolver: Resolver,
        on_function: Callable[[DeployedFunction], None] | None,
    ) -> None:
        self.stack = stack
        self.code_dirs = code_dirs
        self.resolver = resolver
        self.on_function = on_function
        self.layer_dirs: dict[str, Path] = {}
        self.clients: dict[str, Any] = {}
        self.catcher: ResponseCatcher | None = None

    def client(self, service: str) -> Any:
        if service not in self.clients:
            self.clients[service] = boto3.client(service, region_name=REGION)  # type: ignore[call-overload]
        return self.clients[service]

    def name(self, logical_id: str, limit: int = 63, lower: bool = True) -> str:
        raw = f"{self.stack.stack_name}-{logical_id}"[: limit - 13] + "-" + uuid.uuid4().hex[:12]
        return raw.lower() if lower else raw

    def done(self, logical_id: str, ref: str, **attributes: str) -> None:
        self.stack.resources[logical_id] = ref
        self.stack.attributes[logical_id] = attributes

    def create(self, logical_id: str, resource: dict[str, Any]) -> None:
        kind = resource["Type"]
        self.stack.types[logical_id] = kind
        props = self.resolver.resolve(resource.get("Properties", {}))
        creator = getattr(self, "create_" + kind.replace("AWS::", "").replace("::", "_").lower(), None)
        if kind.startswith("Custom::") or kind == "AWS::CloudFormation::CustomResource":
            creator = self.create_custom_resource
        if creator is None:
            self.create_with_moto_model(logical_id, kind, props)
            return
        try:
            creator(logical_id, props)
        except DeployError:
            raise
        except Exception as exc:
            raise DeployError(f"{logical_id} ({kind}): {type(exc).__name__}: {exc}") from exc

    # -- storage and encryption
    def create_kms_key(self, logical_id: str, props: dict[str, Any]) -> None:
        key = self.client("kms").create_key(
            Description=props.get("Description", ""), Policy=json.dumps(props.get("KeyPolicy", {}))
        )["KeyMetadata"]
        if props.get("EnableKeyRotation"):
            self.client("kms").enable_key_rotation(KeyId=key["KeyId"])
        self.done(logical_id, key["KeyId"], Arn=key["Arn"], KeyId=key["KeyId"])

    def create_kms_alias(self, logical_id: str, props: dict[str, Any]) -> None:
        self.client("kms").create_alias(AliasName=props["AliasName"], TargetKeyId=props["TargetKeyId"])
        self.done(logical_id, props["AliasName"])

    def create_s3_bucket(self, logical_id: str, props: dict[str, Any]) -> None:
        s3 = self.client("s3")
        name = props.get("BucketName") or self.name(logical_id)
        s3.create_bucket(Bucket=name)
        if "VersioningConfiguration" in props:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration=props["VersioningConfiguration"])
        if "BucketEncryption" in props:
            # CloudFormation's ServerSideEncryptionByDefault is the API's ApplyServerSideEncryptionByDefault.
            rules = [
                {
                    ("ApplyServerSideEncryptionByDefault" if k == "ServerSideEncryptionByDefault" else k): v
                    for k, v in rule.items()
                }
                for rule in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
            ]
            s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
        if "PublicAccessBlockConfiguration" in props:
            s3.put_public_access_block(
                Bucket=name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"]
            )
        notification = props.get("NotificationConfiguration", {})
        if notification.get("EventBridgeConfiguration", {}).get("EventBridgeEnabled"):
            s3.put_bucket_notification_configuration(
                Bucket=name, NotificationConfiguration={"EventBridgeConfiguration": {}}
            )
        self.done(logical_id, name, Arn=f"arn:aws:s3:::{name}", DomainName=f"{name}.s3.amazonaws.com")

    def create_s3_bucketpolicy(self, logical_id: str, props: dict[str, Any]) -> None:
        self.client("s3").put_bucket_policy(Bucket=props["Bucket"], Policy=json.dumps(props["PolicyDocument"]))
        self.done(logical_id, props["Bucket"])

    def create_dynamodb_table(self, logical_id: str, props: dict[str, Any]) -> None:
        name = props.get("TableName") or self.name(logical_id, 255, lower=False)
        kwargs = {
            k: props[k]
            for k in ("AttributeDefinitions", "KeySchema", "BillingMode", "GlobalSecondaryIndexes")
            if k in props
        }
        table = self.client("dynamodb").create_table(TableName=name, **kwargs)["TableDescription"]
        self.done(logical_id, name, Arn=table["TableArn"])

    # -- messaging
    def create_sns_topic(self, logical_id: str, props: dict[str, Any]) -> None:
        attributes = {"KmsMasterKeyId": props["KmsMasterKeyId"]} if "KmsMasterKeyId" in props else {}
        if "DisplayName" in props:
            attributes["DisplayName"] = props["DisplayName"]
        arn = self.client("sns").create_topic(
            Name=props.get("TopicName") or self.name(logical_id, 256, lower=False), Attributes=attributes
        )["TopicArn"]
        self.done(logical_id, arn, TopicArn=arn, TopicName=arn.rsplit(":", 1)[1])

    def create_sns_topicpolicy(self, logical_id: str, props: dict[str, Any]) -> None:
        for topic in props["Topics"]:
            self.client("sns").set_topic_attributes(
                TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps(props["PolicyDocument"])
            )
        self.done(logical_id, logical_id)

    def create_sns_subscription(self, logical_id: str, props: dict[str, Any]) -> None:
        arn = self.client("sns").subscribe(
            TopicArn=props["TopicArn"], Protocol=props["Protocol"], Endpoint=props["Endpoint"]
        )["SubscriptionArn"]
        self.done(logical_id, arn)

    def create_scheduler_schedulegroup(self, logical_id: str, props: dict[str, Any]) -> None:
        """EventBridge Scheduler group (moto's scheduler; schedules fire through eventbridge/scheduler.py)."""
        name = props.get("Name") or self.name(logical_id, 64, lower=False)
        arn = self.client("scheduler").create_schedule_group(Name=name)["ScheduleGroupArn"]
        self.done(logical_id, name, Arn=arn)

    def create_sqs_queue(self, logical_id: str, props: dict[str, Any]) -> None:
        attributes = {
            k: str(v)
            for k, v in props.items()
            if k in {"MessageRetentionPeriod", "KmsMasterKeyId", "VisibilityTimeout", "DelaySeconds"}
        }
        url = self.client("sqs").create_queue(
            QueueName=props.get("QueueName") or self.name(logical_id, 80, lower=False), Attributes=attributes
        )["QueueUrl"]
        arn = self.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self.done(logical_id, url, Arn=arn, QueueName=arn.rsplit(":", 1)[1], QueueUrl=url)

    def create_sqs_queuepolicy(self, logical_id: str, props: dict[str, Any]) -> None:
        for url in props["Queues"]:
            self.client("sqs").set_queue_attributes(
                QueueUrl=url, Attributes={"Policy": json.dumps(props["PolicyDocument"])}
            )
        self.done(logical_id, logical_id)

    # -- identity and logs
    def create_iam_role(self, logical_id: str, props: dict[str, Any]) -> None:
        iam = self.client("iam")
        name = props.get("RoleName") or self.name(logical_id, 64, lower=False)
        role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(props["AssumeRolePolicyDocument"]))[
            "Role"
        ]
        for policy in props.get("Policies", []):
            iam.put_role_policy(
                RoleName=name,
                PolicyName=policy["PolicyName"],
                PolicyDocument=json.dumps(policy["PolicyDocument"]),
            )
        for arn in props.get("ManagedPolicyArns", []):
            if f":{ACCOUNT_ID}:policy/" in arn:  # AWS-managed policies are not loaded offline
                iam.attach_role_policy(RoleName=name, PolicyArn=arn)
        self.done(logical_id, name, Arn=role["Arn"], RoleId=role["RoleId"])

    def create_iam_managedpolicy(self, logical_id: str, props: dict[str, Any]) -> None:
        policy = self.client("iam").create_policy(
            PolicyName=props.get("ManagedPolicyName") or self.name(logical_id, 128, lower=False),
            PolicyDocument=json.dumps(props["PolicyDocument"]),
        )["Policy"]
        self.done(logical_id, policy["Arn"], PolicyArn=policy["Arn"])

    def create_logs_loggroup(self, logical_id: str, props: dict[str, Any]) -> None:
        name = props.get("LogGroupName") or f"/{self.stack.stack_name}/{logical_id}"
        self.client("logs").create_log_group(logGroupName=name)
        if "RetentionInDays" in props:
            self.client("logs").put_retention_policy(logGroupName=name, retentionInDays=int(props["RetentionInDays"]))
        self.done(logical_id, name, Arn=f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:{name}:*")

    # -- compute
    def _code_dir(self, code: dict[str, Any]) -> Path:
        key = code.get("S3Key", "") if isinstance(code, dict) else ""
        if key not in self.code_dirs:
            raise DeployError(f"code location {code} is not a folder of this project")
        return self.code_dirs[key]

    def create_lambda_layerversion(self, logical_id: str, props: dict[str, Any]) -> None:
        layer = self.client("lambda").publish_layer_version(
            LayerName=props.get("LayerName") or logical_id,
            Content={"ZipFile": _Empty.zip()},
            CompatibleRuntimes=props.get("CompatibleRuntimes", []),
        )
        self.layer_dirs[layer["LayerVersionArn"]] = self._code_dir(props["Content"])
        self.done(logical_id, layer["LayerVersionArn"])

    def create_lambda_function(self, logical_id: str, props: dict[str, Any]) -> None:
        code_dir = self._code_dir(props["Code"])
        layers = [arn for arn in props.get("Layers", []) if arn in self.layer_dirs]
        name = props.get("FunctionName") or self.name(logical_id, 64, lower=False)
        environment = {k: str(v) for k, v in props.get("Environment", {}).get("Variables", {}).items()}
        kwargs: dict[str, Any] = {
            "FunctionName": name,
            "Runtime": props["Runtime"],
            "Role": props["Role"],
            "Handler": props["Handler"],
            "Code": {"ZipFile": _Empty.zip()},
            "Timeout": int(props.get("Timeout", 3)),
            "MemorySize": int(props.get("MemorySize", 128)),
            "Environment": {"Variables": environment},
            "Layers": layers,
        }
        if "DeadLetterConfig" in props:
            kwargs["DeadLetterConfig"] = props["DeadLetterConfig"]
        deployed = DeployedFunction(
            logical_id,
            name,
            code_dir,
            props["Handler"],
            [self.layer_dirs[a] for a in layers],
            environment,
            props.get("DeadLetterConfig", {}).get("TargetArn"),
        )
        if self.on_function is not None:
            self.on_function(deployed)  # registered before anything can invoke it
        function = self.client("lambda").create_function(**kwargs)
        self.stack.functions[logical_id] = deployed
        self.done(logical_id, name, Arn=function["FunctionArn"])

    def create_lambda_eventinvokeconfig(self, logical_id: str, props: dict[str, Any]) -> None:
        kwargs = {
            k: props[k] for k in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig") if k in props
        }
        self.client("lambda").put_function_event_invoke_config(
            FunctionName=props["FunctionName"], Qualifier=props.get("Qualifier", "$LATEST"), **kwargs
        )
        self.done(logical_id, logical_id)

    def create_lambda_permission(self, logical_id: str, props: dict[str, Any]) -> None:
        del props  # resource policies are not evaluated offline
        self.done(logical_id, logical_id)

    def create_events_rule(self, logical_id: str, props: dict[str, Any]) -> None:
        events = self.client("events")
        name = props.get("Name") or self.name(logical_id, 64, lower=False)
        kwargs: dict[str, Any] = {"Name": name, "State": props.get("State", "ENABLED")}
        if "EventPattern" in props:
            kwargs["EventPattern"] = json.dumps(props["EventPattern"])
        if "ScheduleExpression" in props:
            kwargs["ScheduleExpression"] = props["ScheduleExpression"]
        if "EventBusName" in props:
            kwargs["EventBusName"] = props["EventBusName"]
        arn = events.put_rule(**kwargs)["RuleArn"]
        if props.get("Targets"):
            events.put_targets(
                Rule=name,
                Targets=props["Targets"],
                **({"EventBusName": props["EventBusName"]} if "EventBusName" in props else {}),
            )
        self.done(logical_id, name, Arn=arn)

    def create_stepfunctions_statemachine(self, logical_id: str, props: dict[str, Any]) -> None:
        definition = props.get("DefinitionString") or json.dumps(props.get("Definition", {}))
        for key, value in props.get("DefinitionSubstitutions", {}).items():
            definition = definition.replace("${" + key + "}", str(value))
        leftover = re.findall(r"\$\{(\w+)\}", definition)
        if leftover:
            raise DeployError(f"{logical_id}: no DefinitionSubstitutions for {sorted(set(leftover))}")
        name = props.get("StateMachineName") or self.name(logical_id, 80, lower=False)
        arn = self.client("stepfunctions").create_state_machine(
            name=name,
            definition=definition,
            roleArn=props["RoleArn"],
            type=props.get("StateMachineType", "STANDARD"),
        )["stateMachineArn"]
        self.stack.state_machine_arns[logical_id] = arn
        self.done(logical_id, arn, Arn=arn, Name=name)

    def create_custom_resource(self, logical_id: str, props: dict[str, Any]) -> None:
        """CloudFormation's custom-resource protocol (custom_resources.py): invoke the ServiceToken, read the PUT."""
        if self.catcher is None:
            self.catcher = ResponseCatcher()
        request = {
            "ServiceToken": props["ServiceToken"],
            "StackId": self.resolver.pseudo["AWS::StackId"],
            "LogicalResourceId": logical_id,
            "ResourceType": self.stack.types[logical_id],
            "ResourceProperties": props,
        }
        physical_id, data = create_custom_resource(self.client("lambda"), self.catcher, request)
        self.done(logical_id, physical_id, **data)

    def create_with_moto_model(self, logical_id: str, kind: str, props: dict[str, Any]) -> None:
        from moto.cloudformation.parsing import get_model_map

        model = get_model_map().get(kind)
        if model is None:
            raise DeployError(f"{logical_id}: resource type {kind} is not supported offline")
        created = model.create_from_cloudformation_json(
            self.name(logical_id), {"Properties": props}, ACCOUNT_ID, REGION, LogicalId=logical_id
        )
        attributes = {}
        for attribute in ("Arn",):
            try:
                attributes[attribute] = created.get_cfn_attribute(attribute)
            except Exception:  # noqa: S112 - not every model has every attribute
                continue
        self.done(logical_id, created.physical_resource_id, **attributes)

    def close(self) -> None:
        if self.catcher is not None:
            self.catcher.close()


def deploy(
    template_path: Path,
    stack_name: str,
    parameters: dict[str, str] | None = None,
    on_function: Callable[[DeployedFunction], None] | None = None,
) -> DeployedStack:
    """Create every resource of the SAM template in the active moto mock; return what was created."""
    parameters = parameters or {}
    template, code_dirs = translate(load_sam_template(template_path), template_path.parent, parameters)
    stack = DeployedStack(stack_name=stack_name)
    resolver = Resolver(template, stack, parameters)
    deployer = Deployer(stack, code_dirs, resolver, on_function)
    try:
        for logical_id in creation_order(template["Resources"]):
            resource = template["Resources"][logical_id]
            if "Condition" in resource and not resolver.condition(resource["Condition"]):
                continue
            deployer.create(logical_id, resource)
        for name, output in template.get("Outputs", {}).items():
            if "Condition" in output and not resolver.condition(output["Condition"]):
                continue
            stack.outputs[name] = str(resolver.resolve(output["Value"]))
    finally:
        deployer.close()
    return stack
