"""The OpenAPI 3.1 document, generated from the route table and the pydantic request models.

Served at ``GET /openapi.json`` and kept in the repo as ``docs/openapi.json``
(``python -m devstack.openapi`` rewrites it; a test fails when it is stale),
so the description cannot drift from the routes.
"""

from __future__ import annotations

import re
from typing import Any

from chalicelib.http.routing import ROUTE_TABLE, RouteInfo
from chalicelib.version import VERSION

_PARAM = re.compile(r"\{(\w+)\}")
_ERROR_STATUSES = {"400": "Malformed request", "401": "Unauthenticated", "403": "Forbidden",
                   "404": "Not found (also another tenant's id)", "409": "Conflict", "413": "Too large",
                   "422": "Validation failed", "429": "Rate limited"}

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {
        "type": "object",
        "required": ["code", "message"],
        "properties": {
            "code": {"type": "string", "description": "Stable snake_case error code."},
            "message": {"type": "string"},
            "details": {"type": "array", "items": {"type": "object", "properties": {
                "path": {"type": "string", "description": "JSON pointer"}, "issue": {"type": "string"}}}},
            "request_id": {"type": "string"},
        },
    }},
}


def _security(route: RouteInfo) -> list[dict[str, list[str]]]:
    name = route.access.name
    if name == "public":
        return []
    if name == "operator":
        return [{"operatorToken": []}]
    return [{"bearer": []}]


def _operation(route: RouteInfo, method: str, schemas: dict[str, Any]) -> dict[str, Any]:
    doc = (route.view.__doc__ or route.view.__name__.replace("_", " ")).strip().splitlines()[0]
    op: dict[str, Any] = {
        "operationId": f"{route.blueprint}_{route.view.__name__}",
        "summary": doc,
        "tags": [route.blueprint],
        "security": _security(route),
        "responses": {str(route.status): {"description": "Success" if route.status != 204 else "No content"}},
    }
    if route.access.name not in ("public", "operator"):
        op["x-least-role"] = route.access.name
    params = [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
              for p in _PARAM.findall(route.path)]
    if method == "GET" and route.path.endswith("s") or method == "GET" and not params:
        params += [{"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
                   {"name": "cursor", "in": "query", "schema": {"type": "string"}}]
    if params:
        op["parameters"] = params
    if route.body is not None:
        schema = route.body.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in schema.pop("$defs", {}).items():
            schemas[name] = sub
        schemas[route.body.__name__] = schema
        op["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": {"$ref": f"#/components/schemas/{route.body.__name__}"}}}}
    elif method in ("POST", "PUT", "PATCH"):
        op["requestBody"] = {"required": False, "content": {"application/json": {"schema": {"type": "object"}}}}
    for status, text in _ERROR_STATUSES.items():
        op["responses"].setdefault(status, {"description": text, "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Error"}}}})
    return op


def document() -> dict[str, Any]:
    schemas: dict[str, Any] = {"Error": ERROR_SCHEMA}
    paths: dict[str, Any] = {}
    for route in sorted(ROUTE_TABLE, key=lambda r: r.path):
        for method in route.methods:
            paths.setdefault(route.path, {})[method.lower()] = _operation(route, method, schemas)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Stepline API", "version": VERSION,
                 "description": "Multi-tenant integration platform. Errors share one shape; ids are opaque."},
        "servers": [{"url": "http://127.0.0.1:8000", "description": "local (make up)"}],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "Access token (JWT) or API token"},
                "operatorToken": {"type": "apiKey", "in": "header", "name": "X-Operator-Token"},
            },
        },
    }
