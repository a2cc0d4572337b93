"""What is deployed to AWS never imports moto or the offline runtime."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.samples import ROOT

DEPLOYED = [p for folder in ("functions", "shared", "sagemaker_jobs") for p in (ROOT / folder).rglob("*.py")]


@pytest.mark.parametrize("path", DEPLOYED, ids=lambda p: str(p.relative_to(ROOT)))
def test_deployed_code_does_not_import_the_emulator(path) -> None:  # type: ignore[no-untyped-def]
    # Given a module that is deployed (a handler, the layer, job code)
    tree = ast.parse(path.read_text())
    # When its imports are read
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    # Then none is moto, the offline runtime or the authoring SDKs (they are not in the Lambda runtime)
    assert not imported & {"moto", "retrainer_offline", "stepfunctions", "sagemaker"}


TRIGGER_HANDLERS = ["start_retraining", "monitor_violation", "coordinate_runs"]


@pytest.fixture(scope="module")
def cold_imports() -> Iterator[dict[str, subprocess.Popen[str]]]:
    """Each trigger handler imported in a fresh interpreter, as a Lambda cold start has; the three start together."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(ROOT / p) for p in ("shared", "sagemaker_jobs", "."))}
    started = {}
    for handler in TRIGGER_HANDLERS:
        code = f"import sys, functions.{handler}.app; print(sorted({{m.split('.')[0] for m in sys.modules}}))"
        started[handler] = subprocess.Popen(
            [sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
    yield started
    for process in started.values():
        process.kill()
        process.communicate()


@pytest.mark.parametrize("handler", TRIGGER_HANDLERS)
def test_trigger_handlers_import_without_the_xray_sdk_or_boto3(
    handler: str, cold_imports: dict[str, subprocess.Popen[str]]
) -> None:
    # Given a fresh interpreter, as a Lambda cold start has
    # When the handler module is imported
    loaded, errors = cold_imports[handler].communicate(timeout=120)
    assert cold_imports[handler].returncode == 0, errors
    # Then neither the X-Ray SDK (what building a Tracer imports) nor boto3 was: they load at the first call
    assert "'aws_xray_sdk'" not in loaded and "'boto3'" not in loaded


def test_the_lazy_tracer_traces_from_the_first_call(monkeypatch: pytest.MonkeyPatch) -> None:
    from aws_lambda_powertools import Tracer

    from retrainer.tracing import LazyTracer

    # Given a handler wrapped by a LazyTracer (tracing disabled here, as outside Lambda)
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    lazy = LazyTracer()
    calls: list[dict[str, str]] = []
    handler = lazy.capture_lambda_handler(lambda event, context: calls.append(event) or {"ok": "yes"})
    assert lazy.tracer is None
    # When it is invoked twice
    answers = [handler({"n": "1"}, None), handler({"n": "2"}, None)]
    # Then a Powertools Tracer was built once, at the first call, and the handler ran inside it each time
    assert isinstance(lazy.tracer, Tracer)
    assert answers == [{"ok": "yes"}, {"ok": "yes"}] and calls == [{"n": "1"}, {"n": "2"}]
