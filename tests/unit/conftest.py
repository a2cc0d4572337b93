"""Unit tests: services and handlers on the fakes of tests/fakes.py; no moto, no network (tests/unit/test_kinds.py).

The names below are re-exported for the unit files that still run on the moto `stack` (listed, with where they
belong, in tests/unit/test_kinds.py and CONTRIBUTING.md).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.aws_stack import Stack
from tests.samples import ENVIRONMENT, EVENTS, ROOT, FakeContext, load_event

__all__ = ["ENVIRONMENT", "EVENTS", "ROOT", "FakeContext", "Stack", "load_event"]


@pytest.fixture(autouse=True)
def _no_leaked_environment(no_leaked_environment: None) -> Iterator[None]:
    yield
