"""boto3 implementations of `retrainer.ports`."""
