"""Custom resource: publishes the SageMaker job code (the JobCode layer) to the artifacts bucket."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

import retrainer_jobs
from retrainer import composition, settings
from retrainer.boundary import require_custom_resource_request
from retrainer.services.job_code import handle_custom_resource, job_files

logger = Logger()


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    request = require_custom_resource_request(event)
    config = settings.load(settings.PublishJobCodeSettings)
    return handle_custom_resource(
        request,
        files=job_files(Path(retrainer_jobs.__file__).parent),
        bucket=config.artifacts_bucket,
        writer=composition.s3_objects(),
        responder=composition.custom_resource_responder(),
        log_stream_name=context.log_stream_name,
    )
