"""retrainer's service layer, shipped to Lambda as a layer.

- `pipeline_config`: the typed pipeline configuration (stack defaults, then the model's own document).
- `run_data`: the execution input of a retraining run, the state it gathers, the state machine's timings.
- `events`: pydantic models of the AWS events the functions accept.
- `services`: what the functions do, written against the ports in `ports`.
- `adapters`: the boto3 implementations of those ports; `composition` wires them from settings.
"""
