"""Where the run-management commands find the stack: boto3 clients configured like the AWS CLI's.

`--endpoint-url`, `--profile` and `--region` mean what they mean to `aws`; the environment
(`AWS_ENDPOINT_URL`, `AWS_PROFILE`, `AWS_DEFAULT_REGION`) fills in what is not given. Only boto3 here:
these commands must work against a stack on AWS, where moto is not installed.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Any

import boto3

DEFAULT_STACK = "retrainer"


class StackNotFound(Exception):
    """The stack (or an output the commands need) does not exist where the clients point."""


@dataclass
class Stack:
    """A deployed retrainer stack as its CloudFormation outputs describe it."""

    session: Any
    endpoint_url: str | None
    name: str
    _outputs: dict[str, str] | None = field(default=None, repr=False)
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(service, endpoint_url=self.endpoint_url)
        return self._clients[service]

    @property
    def outputs(self) -> dict[str, str]:
        if self._outputs is None:
            try:
                stacks = self.client("cloudformation").describe_stacks(StackName=self.name)["Stacks"]
            except self.client("cloudformation").exceptions.ClientError as exc:
                raise StackNotFound(f"stack {self.name!r}: {exc}") from exc
            self._outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
        return self._outputs

    def output(self, key: str) -> str:
        if key not in self.outputs:
            raise StackNotFound(f"stack {self.name!r} has no output {key}")
        return self.outputs[key]

    @property
    def state_machine_arn(self) -> str:
        return self.output("StateMachineArn")

    def execution_arn(self, run: str) -> str:
        """A run id (the execution's name) or a full execution ARN."""
        if run.startswith("arn:"):
            return run
        machine = self.state_machine_arn
        return machine.replace(":stateMachine:", ":execution:") + ":" + run


def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--endpoint-url", help="an AWS endpoint, e.g. http://127.0.0.1:4566 for `retrainer serve`")
    parser.add_argument("--profile", help="an AWS CLI profile")
    parser.add_argument("--region", help="an AWS region")
    parser.add_argument("--stack-name", default=DEFAULT_STACK, help=f"the stack (default {DEFAULT_STACK})")


def stack_from(args: argparse.Namespace) -> Stack:
    session = boto3.session.Session(profile_name=args.profile, region_name=args.region)
    return Stack(session=session, endpoint_url=args.endpoint_url, name=args.stack_name)
