"""CloudFormation's custom-resource protocol: the ServiceToken function is invoked with a Create request,
and it answers by a PUT of its result to the request's pre-signed ResponseURL.

Offline the ResponseURL points at `ResponseCatcher`, a PUT endpoint on 127.0.0.1; the answer's
`Data` becomes the resource's `Fn::GetAtt` attributes (AWS docs "Custom resources",
"Custom resource request objects" and "Custom resource response objects").
"""

from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

from retrainer_offline.cloudformation.handles import DeployError


class ResponseCatcher:
    """Where CloudFormation's pre-signed ResponseURL points: a local PUT endpoint on 127.0.0.1."""

    def __init__(self) -> None:
        self.responses: dict[str, dict[str, Any]] = {}
        catcher = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                catcher.responses[self.path.strip("/")] = json.loads(body or b"{}")
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                del args

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, token: str) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/{token}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def create_custom_resource(
    lambda_client: Any, catcher: ResponseCatcher, request: dict[str, Any]
) -> tuple[str, dict[str, str]]:
    """Send a Create `request` (without its ResponseURL) to its ServiceToken; the physical id and Data it answered."""
    logical_id = request["LogicalResourceId"]
    token = uuid.uuid4().hex
    request = {**request, "RequestType": "Create", "ResponseURL": catcher.url(token), "RequestId": str(uuid.uuid4())}
    response = lambda_client.invoke(FunctionName=request["ServiceToken"], Payload=json.dumps(request).encode())
    payload = response["Payload"].read().decode()
    answer = catcher.responses.get(token)
    if answer is None:
        raise DeployError(f"{logical_id}: the custom resource did not answer CloudFormation ({payload[:300]})")
    if answer.get("Status") != "SUCCESS":
        raise DeployError(f"{logical_id}: custom resource FAILED: {answer.get('Reason')}")
    data = {k: str(v) for k, v in answer.get("Data", {}).items()}
    return str(answer.get("PhysicalResourceId", logical_id)), data
