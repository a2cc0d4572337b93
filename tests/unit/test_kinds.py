"""Unit tests stay unit tests: no file under tests/unit imports moto or asks for the moto `stack`.

A test that needs AWS resources goes to tests/functional (CONTRIBUTING.md, "Tests by kind"); there are no exceptions.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.samples import ROOT

UNIT = ROOT / "tests" / "unit"
MOTO_MODULES = {"moto", "tests.aws_stack"}
MOTO_FIXTURES = {"stack"}


def _imports(tree: ast.AST) -> set[str]:
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    names |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    return names


def _fixtures_asked(tree: ast.AST) -> set[str]:
    return {
        arg.arg
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and (node.name.startswith("test_") or node.decorator_list)
        for arg in node.args.args
    }


def _on_moto(path: Path) -> bool:
    tree = ast.parse(path.read_text())
    imported = _imports(tree)
    uses_moto = any(name == module or name.startswith(f"{module}.") for name in imported for module in MOTO_MODULES)
    return uses_moto or bool(_fixtures_asked(tree) & MOTO_FIXTURES)


UNIT_FILES = sorted(UNIT.glob("*.py"))


@pytest.mark.parametrize("path", UNIT_FILES, ids=lambda p: p.name)
def test_a_unit_test_file_runs_without_moto(path: Path) -> None:
    # Given a file under tests/unit
    # When its imports and the fixtures its tests ask for are read
    # Then neither moto nor the moto stack is among them (such a test goes to tests/functional)
    assert not _on_moto(path), f"{path.name} runs on moto: move it to tests/functional (CONTRIBUTING.md)"


def test_the_guard_notices_a_unit_test_that_asks_for_the_stack(tmp_path: Path) -> None:
    # Given a test file that imports nothing from moto but asks for the moto stack
    sneaky = tmp_path / "test_sneaky.py"
    sneaky.write_text("def test_x(stack, context):\n    pass\n")
    direct = tmp_path / "test_direct.py"
    direct.write_text("from moto import mock_aws\n")
    # When the guard reads them
    # Then both are on moto
    assert _on_moto(sneaky) and _on_moto(direct)
