"""Test-wide setup: never reach real AWS, whatever the machine's environment holds.

Test kinds (CONTRIBUTING.md): tests/unit (fakes only), tests/contract (fakes and adapters, same expectations),
tests/functional (handlers and adapters on moto), tests/offline (the offline runtime: imitations and whole runs).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

# Set before any boto3 client exists: fake credentials and a fixed region, so a missing mock
# fails closed instead of calling a real account.
for _key, _value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "SAGEMAKER_SUPPRESS_V2_WARNING": "1",
    "POWERTOOLS_TRACE_DISABLED": "1",
    "POWERTOOLS_METRICS_NAMESPACE": "Retrainer",
}.items():
    os.environ[_key] = _value
os.environ.pop("AWS_PROFILE", None)

from tests.aws_stack import stack  # noqa: E402 - after the environment above; registers the fixture
from tests.samples import FakeContext  # noqa: E402

__all__ = ["context", "stack"]


@pytest.fixture
def context() -> FakeContext:
    return FakeContext()


@pytest.fixture
def no_leaked_environment() -> Iterator[None]:
    """What a test adds to os.environ goes when it ends (handlers read settings from the environment)."""
    before = dict(os.environ)
    yield
    for key in set(os.environ) - set(before):
        os.environ.pop(key, None)
