"""API Gateway's own answers use the API's error shape and never repeat the request's credentials."""

from __future__ import annotations

import json


def test_gateway_responses_use_the_error_shape(template):
    resources = template("dev")["Resources"]
    responses = {r["Properties"]["ResponseType"]: r["Properties"] for r in resources.values()
                 if r["Type"] == "AWS::ApiGateway::GatewayResponse"}
    assert {"MISSING_AUTHENTICATION_TOKEN", "THROTTLED", "DEFAULT_4XX", "DEFAULT_5XX"} <= set(responses)
    assert responses["MISSING_AUTHENTICATION_TOKEN"]["StatusCode"] == "404"
    for kind, properties in responses.items():
        body = properties["ResponseTemplates"]["application/json"]
        error = json.loads(body)["error"]
        assert error["request_id"] == "$context.requestId" and error["code"], kind
        assert "$context.error" not in body, kind  # the default message may repeat the Authorization header
