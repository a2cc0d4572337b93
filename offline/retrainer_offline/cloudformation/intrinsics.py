"""CloudFormation's intrinsic functions, pseudo parameters and Conditions, and the order resources are created in.

`Resolver.resolve` evaluates `Ref`, `Fn::GetAtt`, `Fn::Sub`, `Fn::Join`, `Fn::If`, `Fn::Equals`,
`Fn::Not`, `Fn::And`, `Fn::Or`, `Condition`, `Fn::FindInMap`, `Fn::Select`, `Fn::Split`,
`Fn::GetAZs` and `Fn::Base64` against the parameters and what the stack has created so far;
`AWS::NoValue` drops the property. `creation_order` sorts resources so each comes after what it
references (`Ref`, `GetAtt`, `Sub` variables, `DependsOn`), as CloudFormation does; a cycle is an error.
"""

from __future__ import annotations

import base64
import re
import uuid
from typing import Any

from retrainer_offline.cloudformation.handles import ACCOUNT_ID, REGION, DeployedStack, DeployError

NO_VALUE = object()


class Resolver:
    def __init__(self, template: dict[str, Any], stack: DeployedStack, parameters: dict[str, str]) -> None:
        self.template = template
        self.stack = stack
        self.parameters = {
            name: str(parameters.get(name, spec.get("Default", "")))
            for name, spec in template.get("Parameters", {}).items()
        }
        self.pseudo = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::StackName": stack.stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT_ID}:stack/{stack.stack_name}/{uuid.uuid4()}",
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        self.conditions: dict[str, bool] = {}
        for name in template.get("Conditions", {}):
            self.condition(name)

    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            self.conditions[name] = bool(self.resolve(self.template["Conditions"][name]))
        return self.conditions[name]

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.stack.resources:
            return self.stack.resources[name]
        raise DeployError(f"Ref to {name}, which is not created yet or does not exist")

    def get_att(self, name: str, attribute: str) -> Any:
        try:
            return self.stack.attributes[name][attribute]
        except KeyError:
            raise DeployError(f"Fn::GetAtt {name}.{attribute} is not available offline") from None

    def sub(self, text: str, variables: dict[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            token = match.group(1)
            if token.startswith("!"):
                return "${" + token[1:] + "}"
            if token in variables:
                return str(variables[token])
            if "." in token:
                resource, attribute = token.split(".", 1)
                return str(self.get_att(resource, attribute))
            return str(self.ref(token))

        return re.sub(r"\$\{([^}]+)\}", replace, text)

    def resolve(self, value: Any) -> Any:  # noqa: C901, PLR0911, PLR0912 - one branch per intrinsic
        if isinstance(value, list):
            return [v for v in (self.resolve(item) for item in value) if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                name, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.get_att(name, attribute)
            if key == "Fn::Sub":
                if isinstance(arg, list):
                    return self.sub(arg[0], {k: self.resolve(v) for k, v in arg[1].items()})
                return self.sub(arg, {})
            if key == "Fn::Join":
                return str(arg[0]).join(str(v) for v in self.resolve(arg[1]))
            if key == "Fn::If":
                return self.resolve(arg[1] if self.condition(arg[0]) else arg[2])
            if key == "Fn::Equals":
                return self.resolve(arg[0]) == self.resolve(arg[1])
            if key == "Fn::Not":
                return not self.resolve(arg[0])
            if key == "Fn::And":
                return all(self.resolve(a) for a in arg)
            if key == "Fn::Or":
                return any(self.resolve(a) for a in arg)
            if key == "Condition":
                return self.condition(arg)
            if key == "Fn::FindInMap":
                name, first, second = (self.resolve(a) for a in arg)
                return self.template["Mappings"][name][first][second]
            if key == "Fn::Select":
                return self.resolve(arg[1])[int(self.resolve(arg[0]))]
            if key == "Fn::Split":
                return str(self.resolve(arg[1])).split(arg[0])
            if key == "Fn::GetAZs":
                return [f"{REGION}a", f"{REGION}b"]
            if key == "Fn::Base64":
                return base64.b64encode(str(self.resolve(arg)).encode()).decode()
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}


def dependencies(resource: dict[str, Any], names: set[str]) -> set[str]:
    found: set[str] = set()
    depends = resource.get("DependsOn", [])
    found.update([depends] if isinstance(depends, str) else depends)

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, arg in value.items():
                if key == "Ref" and isinstance(arg, str):
                    found.add(arg)
                elif key == "Fn::GetAtt":
                    found.add(arg[0] if isinstance(arg, list) else arg.split(".")[0])
                elif key == "Fn::Sub":
                    text = arg[0] if isinstance(arg, list) else arg
                    found.update(t.split(".")[0] for t in re.findall(r"\$\{([^}!]+)\}", text))
                walk(arg)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(resource.get("Properties", {}))
    return found & names


def creation_order(resources: dict[str, Any]) -> list[str]:
    names = set(resources)
    remaining = {name: dependencies(body, names) for name, body in resources.items()}
    order: list[str] = []
    while remaining:
        ready = sorted(name for name, deps in remaining.items() if not deps - set(order))
        if not ready:
            raise DeployError(f"circular dependency among {sorted(remaining)}")
        order += ready
        for name in ready:
            remaining.pop(name)
    return order
