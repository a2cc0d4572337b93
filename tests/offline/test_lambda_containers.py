"""Each Lambda function keeps its own cold-start state, as each has its own containers on AWS.

Module-level state in a layer (composition's cached clients, settings, the per-container memory of
handled triggers) must not leak from one function to another in the offline runtime.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from retrainer_offline.awslambda.functions import LambdaRegistry


@dataclass
class Function:
    """The attributes of moto's LambdaFunction the runner reads."""

    function_name: str
    handler: str = "app.handler"
    memory_size: int = 128
    timeout: int = 3
    region: str = "us-east-1"
    run_time: str = "python3.12"
    function_arn: str = ""
    environment_vars: dict[str, str] = field(default_factory=dict)


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[tuple[LambdaRegistry, Function, Function]]:
    layer = tmp_path / "layer"
    (layer / "warmstate").mkdir(parents=True)
    (layer / "warmstate" / "__init__.py").write_text("INVOCATIONS: list[str] = []\n")
    code = tmp_path / "function"
    code.mkdir()
    (code / "app.py").write_text(
        textwrap.dedent(
            """
            import os
            import warmstate

            def handler(event, context):
                warmstate.INVOCATIONS.append(os.environ["AWS_LAMBDA_FUNCTION_NAME"])
                return list(warmstate.INVOCATIONS)
            """
        )
    )
    registry = LambdaRegistry()
    first, second = Function("first-function"), Function("second-function")
    for function in (first, second):
        registry.register(function.function_name, code, "app.handler", [layer])
    with mock_aws():
        yield registry, first, second


def invoke(registry: LambdaRegistry, function: Function) -> Any:
    invocation = registry.run(function, {})  # type: ignore[arg-type]
    assert not invocation.errored, invocation.payload
    return json.loads(invocation.payload)


def test_a_layer_module_state_is_per_function_and_kept_while_warm(
    registry: tuple[LambdaRegistry, Function, Function],
) -> None:
    runner, first, second = registry

    # Given the first function invoked twice (a warm container keeps its module state)
    assert invoke(runner, first) == ["first-function"]
    assert invoke(runner, first) == ["first-function", "first-function"]

    # When the second function, sharing the same layer, is invoked
    answer = invoke(runner, second)

    # Then it starts cold with its own copy of the layer's module; the first keeps its own
    assert answer == ["second-function"]
    assert invoke(runner, first) == ["first-function"] * 3
