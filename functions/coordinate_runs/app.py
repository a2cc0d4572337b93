"""Run coordination: claim pending triggers, release the model at a run's end, and the scheduled sweep."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from retrainer import composition, settings
from retrainer.services.coordination import ClaimRequest, ReleaseRequest, claim, release, sweep

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context(correlation_id_path="correlation_id", log_event=False)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    config = settings.load(settings.CoordinateRunsSettings)
    adapters = composition.trigger_adapters(config)
    action = event.get("action")
    if action == "claim":
        return claim(ClaimRequest.model_validate(event), adapters)
    if action == "sweep":
        return sweep(config, adapters)
    return release(ReleaseRequest.model_validate(event), config, adapters)
