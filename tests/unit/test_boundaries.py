"""What is deployed to AWS never imports moto or the offline runtime."""

from __future__ import annotations

import ast

import pytest

from tests.unit.conftest import ROOT

DEPLOYED = [p for folder in ("functions", "shared", "sagemaker_jobs") for p in (ROOT / folder).rglob("*.py")]


@pytest.mark.parametrize("path", DEPLOYED, ids=lambda p: str(p.relative_to(ROOT)))
def test_deployed_code_does_not_import_the_emulator(path) -> None:  # type: ignore[no-untyped-def]
    tree = ast.parse(path.read_text())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not imported & {"moto", "retrainer_offline", "stepfunctions", "sagemaker"}
