"""What a deployed stack hands out: typed handles of its resources, and the error that names what failed."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"


class DeployError(Exception):
    """The template cannot be deployed offline; the message names the resource and why."""


@dataclass
class DeployedFunction:
    """A function of the stack: its deployed name, and the code folder and layers it runs from in-process."""

    logical_id: str
    function_name: str
    code_dir: Path
    handler: str
    layer_dirs: list[Path]
    environment: dict[str, str]
    dead_letter_target: str | None = None


@dataclass
class DeployedStack:
    """What CloudFormation knows of a created stack: each resource's physical id, attributes and type, the outputs."""

    stack_name: str
    resources: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, dict[str, str]] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    functions: dict[str, DeployedFunction] = field(default_factory=dict)
    state_machine_arns: dict[str, str] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)

    def output(self, name: str) -> str:
        """A stack output's value; a KeyError that lists the outputs there are."""
        if name not in self.outputs:
            raise KeyError(f"stack {self.stack_name} has no output {name!r}; it has {sorted(self.outputs)}")
        return self.outputs[name]

    def function(self, logical_id: str) -> DeployedFunction:
        """A function by its logical id in template.yaml; a KeyError that lists the functions there are."""
        if logical_id not in self.functions:
            raise KeyError(f"no function {logical_id!r} in template.yaml; choose from {sorted(self.functions)}")
        return self.functions[logical_id]
