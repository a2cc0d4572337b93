"""House limits (issue 9): no module over 500 lines and no function over 80 in the code that is read most.

A module or function past its limit is a sign it holds more than one idea: split it (CONTRIBUTING.md).
A module allowed over the limit would be listed with its issue (none is today), and the list only shrinks.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.samples import ROOT

LIMITED_FOLDERS = ("shared", "statemachines", "functions", "offline")
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80
# Modules known to be over MAX_MODULE_LINES, with the issue that splits them. Remove an entry once it is split.
KNOWN_LONG_MODULES: dict[str, str] = {}


def _modules() -> list[Path]:
    return sorted(path for folder in LIMITED_FOLDERS for path in (ROOT / folder).rglob("*.py"))


def _name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def long_functions(source: str, limit: int = MAX_FUNCTION_LINES) -> list[tuple[str, int]]:
    """Every function or method of `source` longer than `limit` lines (its decorators included), with its length."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno is not None:
            first = min([node.lineno] + [decorator.lineno for decorator in node.decorator_list])
            length = node.end_lineno - first + 1
            if length > limit:
                found.append((node.name, length))
    return found


@pytest.mark.parametrize("path", _modules(), ids=_name)
def test_a_module_stays_within_the_house_limits(path: Path) -> None:
    # Given a module of shared/, statemachines/, functions/ or offline/
    # When its lines and its functions' lines are counted
    # Then it holds at most 500 lines (unless a known exception) and no function over 80
    if _name(path) not in KNOWN_LONG_MODULES:
        assert _lines(path) <= MAX_MODULE_LINES, f"{_name(path)}: {_lines(path)} lines; split it by what it is for"
    assert not long_functions(path.read_text(encoding="utf-8")), f"{_name(path)}: functions over 80 lines"


@pytest.mark.parametrize("name", sorted(KNOWN_LONG_MODULES))
def test_the_known_long_modules_only_shrink(name: str) -> None:
    # Given a module listed as a known exception
    path = ROOT / name
    # When it is measured
    # Then it still exists and is still over the limit: one that was split leaves the list
    assert path.exists() and _lines(path) > MAX_MODULE_LINES, f"{name} is split: remove it from KNOWN_LONG_MODULES"


def test_the_limits_notice_a_long_function() -> None:
    # Given a function of 81 lines (decorator included) and one of 80
    body = "".join(f"    x{n} = {n}\n" for n in range(78))
    source = f"@decorated\ndef too_long():\n{body}    return 1\n\ndef fits():\n{body}    return 1\n"
    # When the limits read them
    # Then only the longer one is named, with its length
    assert long_functions(source) == [("too_long", 81)]
