"""Test-wide setup: never reach real AWS, whatever the machine's environment holds."""

from __future__ import annotations

import os

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
