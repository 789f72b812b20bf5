"""API Gateway's own answers (no route, throttled, too large, its 4xx/5xx) in the API's one error shape.

API Gateway answers some requests before any function runs. By default it says
``{"message": "Missing Authentication Token"}`` for an unknown path, and with an
``Authorization`` header that message repeats the header. These gateway
responses use ``{"error": {"code", "message", "request_id"}}`` instead, with
fixed messages (never the request's credentials) and API Gateway's request id.
"""

from __future__ import annotations

import json
from typing import Any

from devstack.cloud.cfn import ref
from devstack.cloud.stages import Stage

RESPONSES = {
    # resource name: (response type, status or None to keep API Gateway's, code, message)
    "GatewayNoRoute": ("MISSING_AUTHENTICATION_TOKEN", "404", "route_not_found", "No route serves this path."),
    "GatewayThrottled": ("THROTTLED", "429", "rate_limited", "Too many requests."),
    "GatewayTooLarge": ("REQUEST_TOO_LARGE", "413", "payload_too_large", "Payload too large."),
    "GatewayDefault4xx": ("DEFAULT_4XX", None, "gateway_refused", "The gateway refused the request."),
    "GatewayDefault5xx": ("DEFAULT_5XX", None, "gateway_error", "The service is unavailable; retry later."),
}


def add(template: dict[str, Any], stage: Stage, *, release: str) -> None:
    resources = template["Resources"]
    for name, (kind, status, code, message) in RESPONSES.items():
        body = json.dumps({"error": {"code": code, "message": message, "request_id": "$context.requestId"}})
        properties: dict[str, Any] = {"RestApiId": ref("RestAPI"), "ResponseType": kind,
                                      "ResponseTemplates": {"application/json": body},
                                      "ResponseParameters": {
                                          "gatewayresponse.header.Content-Type": "'application/json'"}}
        if status:
            properties["StatusCode"] = status
        resources[name] = {"Type": "AWS::ApiGateway::GatewayResponse", "Properties": properties}
