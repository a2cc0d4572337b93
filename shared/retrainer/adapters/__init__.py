"""boto3 implementations of `retrainer.ports`, one module per AWS service they wrap.

Each adapter takes its boto3 client as an argument: `retrainer.composition` builds the clients and wires them.
"""
