"""Unit tests: services and handlers on the fakes of tests/fakes.py; no moto, no network (tests/unit/test_kinds.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _no_leaked_environment(no_leaked_environment: None) -> Iterator[None]:
    yield
