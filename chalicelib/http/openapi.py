"""The OpenAPI 3.1 document, generated from the route table and its pydantic models.

Every route declares its request body, query parameters, headers, success
answer and other answers (``chalicelib/http/routing``); this module turns the
declarations into the document. Served at ``GET /openapi.json`` and kept in the
repo as ``docs/openapi.json`` (``python -m devstack.openapi`` rewrites it; a
test fails when it is stale), so the description cannot drift from the routes.
The test suite also validates every answer against its declaration
(``chalicelib/http/contract_check``).
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from chalicelib.http.error_shape import Error
from chalicelib.http.routing import ROUTE_TABLE, RouteInfo
from chalicelib.version import VERSION

_PARAM = re.compile(r"\{(\w+)\}")
_REF = "#/components/schemas/{model}"
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
_CATALOG_ID = r"^(builtin:[a-z][a-z0-9_:@-]{1,140}|" + UUID_PATTERN[1:-1] + ")$"
PATH_PARAMS: dict[str, dict[str, Any]] = {
    "app_id": {"type": "string", "pattern": _CATALOG_ID, "description": "A custom app's id or `builtin:<slug>`."},
    "version_id": {"type": "string", "pattern": _CATALOG_ID, "description": "An id or `builtin:<slug>@1`."},
    "action_id": {"type": "string", "pattern": _CATALOG_ID, "description": "An id or `builtin:<slug>:<key>`."},
    "path": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$", "description": "The webhook's path."},
}

# Statuses any route may answer with the error shape (besides what it declares).
COMMON_ERRORS = {
    "400": "Malformed request (not JSON, too deep, bad query parameter, bad id)",
    "401": "Unauthenticated",
    "403": "Forbidden",
    "404": "Not found (also another tenant's id)",
    "409": "Conflict",
    "413": "Too large",
    "414": "The URI is too long",
    "415": "Unsupported media type (send application/json)",
    "422": "Validation failed",
    "429": "Rate limited (see Retry-After)",
    "503": "A dependency is unavailable; retry later",
}
_NO_INPUT = {"/health", "/openapi.json"}  # no parameters, no body, no credentials: only a failing dependency




def _security(route: RouteInfo) -> list[dict[str, list[str]]]:
    name = route.access.name
    if name == "public":
        return []
    if name == "operator":
        return [{"operatorToken": []}]
    return [{"bearer": []}]


def _is_model(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, BaseModel)


class _Schemas:
    """Collects every model once (pydantic names request/response variants apart when they differ)."""

    def __init__(self) -> None:
        self.wanted: list[tuple[type[BaseModel], str]] = [(Error, "serialization")]

    def want(self, model: Any, mode: str) -> None:
        if _is_model(model) and (model, mode) not in self.wanted:
            self.wanted.append((model, mode))

    def build(self) -> tuple[dict[Any, dict[str, Any]], dict[str, Any]]:
        refs, top = models_json_schema(self.wanted, ref_template=_REF)  # type: ignore[arg-type]
        return refs, top.get("$defs", {})


def _content(schema: dict[str, Any], media: str) -> dict[str, Any]:
    return {media: {"schema": schema}}


def _body_schema(model: Any, refs: dict[tuple[type, str], dict[str, Any]], mode: str) -> dict[str, Any]:
    if _is_model(model):
        return refs[(model, mode)]
    if model is str:
        return {"type": "string"}
    return {}


def _query_parameters(model: Any) -> list[dict[str, Any]]:
    schema = model.model_json_schema()
    params = []
    for name, prop in schema.get("properties", {}).items():
        prop = dict(prop)
        variants = [v for v in prop.pop("anyOf", []) if v.get("type") != "null"]
        if len(variants) == 1:
            prop.update(variants[0])
        elif variants:
            prop["anyOf"] = variants
        prop.pop("title", None)
        prop.pop("default", None)
        description = prop.pop("description", None)
        param = {"name": name, "in": "query", "required": name in schema.get("required", []), "schema": prop}
        if description:
            param["description"] = description
        params.append(param)
    return params


def _operation(route: RouteInfo, method: str, refs: dict[tuple[type, str], dict[str, Any]]) -> dict[str, Any]:
    lines = (route.view.__doc__ or route.view.__name__.replace("_", " ")).strip().splitlines()
    op: dict[str, Any] = {
        "operationId": f"{route.blueprint}_{route.view.__name__}",
        "summary": lines[0],
        "tags": [route.blueprint],
        "security": _security(route),
    }
    if len(lines) > 1:
        op["description"] = "\n".join(line.strip() for line in lines[1:]).strip()
    if route.access.name not in ("public", "operator"):
        op["x-least-role"] = route.access.name
    params: list[dict[str, Any]] = [
        {"name": p, "in": "path", "required": True,
         "schema": PATH_PARAMS.get(p, {"type": "string", "pattern": UUID_PATTERN})}
        for p in _PARAM.findall(route.path)
    ]
    if route.query is not None:
        params += _query_parameters(route.query)
    for header in route.headers:
        params.append({"name": header.name, "in": "header", "required": False, "schema": header.schema,
                       "description": header.description})
    if method == "POST" and route.access.name not in ("public", "operator"):
        params.append({"name": "Idempotency-Key", "in": "header", "required": False,
                       "schema": {"type": "string", "minLength": 1, "maxLength": 200},
                       "description": "A repeat with the same key and body returns the first answer."})
    if params:
        op["parameters"] = params
    if route.body is not None:
        schema = _body_schema(route.body, refs, "validation")
        op["requestBody"] = {"required": route.body_required,
                             "content": {media: {"schema": schema if media == "application/json"
                                                 else {"type": "string"}}
                                         for media in route.content_types}}
    responses: dict[str, Any] = {}
    ok: dict[str, Any] = {"description": "No content" if route.status == 204 else "Success"}
    if route.status != 204:
        ok["content"] = _content(_body_schema(route.response, refs, "serialization"), route.media_type)
    if route.status == 201:
        ok["headers"] = {"Location": {"schema": {"type": "string"}, "description": "The new resource."}}
    responses[str(route.status)] = ok
    for status, answer in sorted(route.answers.items()):
        entry: dict[str, Any] = {"description": answer.description}
        if answer.model is not None:
            entry["content"] = _content(_body_schema(answer.model, refs, "serialization"), answer.media_type)
        if answer.headers:
            entry["headers"] = {name: {"schema": {"type": "string"}} for name in answer.headers}
        responses[str(status)] = entry
    error = {"$ref": _REF.format(model="Error")}
    for code, text in COMMON_ERRORS.items():
        if route.path in _NO_INPUT and code != "503":
            continue
        if route.access.name == "public" and code == "403":
            continue
        if code == "415" and route.body is None:
            continue
        entry = {"description": text, "content": _content(error, "application/json")}
        if code == "429":
            entry["headers"] = {name: {"schema": {"type": "string"}} for name in
                                ("Retry-After", "RateLimit", "RateLimit-Policy")}
        responses.setdefault(code, entry)
    op["responses"] = responses
    return op


def document() -> dict[str, Any]:
    collector = _Schemas()
    for route in ROUTE_TABLE:
        collector.want(route.body, "validation")
        collector.want(route.response, "serialization")
        for answer in route.answers.values():
            collector.want(answer.model, "serialization")
    refs, schemas = collector.build()
    paths: dict[str, Any] = {}
    for route in sorted(ROUTE_TABLE, key=lambda r: r.path):
        for method in route.methods:
            paths.setdefault(route.path, {})[method.lower()] = _operation(route, method, refs)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Stepline API", "version": VERSION,
                 "description": "Multi-tenant integration platform. Errors share one shape; ids are opaque. "
                                "Every response carries `X-Request-Id`."},
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
