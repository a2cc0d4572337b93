"""Functional tests: handlers and adapters on the deployed stack's resources in moto (the `stack` fixture)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _no_leaked_environment(no_leaked_environment: None) -> Iterator[None]:
    yield
