"""CloudFormation custom resources: the answer to CloudFormation's pre-signed ResponseURL
(port: retrainer.ports.CustomResourceResponder)."""

from __future__ import annotations

import json
from typing import Any


class HttpCustomResourceResponder:
    """Answers CloudFormation by PUTting the response document to the pre-signed ResponseURL."""

    def __init__(self, timeout_seconds: float = 10.0) -> None:
        self._timeout = timeout_seconds

    def send(self, response_url: str, body: dict[str, Any]) -> None:
        if not response_url.startswith(("https://", "http://")):
            raise ValueError("ResponseURL must be an http(s) URL")
        import urllib.request  # only the custom-resource function needs it: kept out of the handlers' import

        data = json.dumps(body).encode("utf-8")
        request = urllib.request.Request(  # noqa: S310 - scheme checked above
            response_url, data=data, method="PUT", headers={"Content-Type": ""}
        )
        with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310 - scheme checked above  # nosec B310
            response.read()
