"""Unit tests: services and handlers on the fakes of tests/fakes.py; no moto, no network (tests/unit/test_kinds.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _no_leaked_environment(no_leaked_environment: None) -> Iterator[None]:
    yield


@pytest.fixture(scope="session")
def rendered_asl() -> str:
    """The state machine rendered from Python once per session (a render takes seconds; the tests only read it)."""
    from statemachines import retraining_workflow

    return retraining_workflow.render()
