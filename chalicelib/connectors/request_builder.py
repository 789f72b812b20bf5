"""Build the outbound request of an action call from its templates and validated input.

Templates are rendered with ``chalicelib.expressions`` against
``{"input", "path", "query", "headers", "body", "settings"}`` — never against
credentials: only the auth adapter touches those, and its headers are applied
last so neither a template nor input can override them. Path parameters are
URL-encoded (a property marked ``"x-raw-path": true`` keeps its slashes, but
never ``.``/``..`` segments).
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib import expressions
from chalicelib.connectors.auth import AuthAdapter
from chalicelib.connectors.definition import ActionDefinition, ConnectorDefinition
from chalicelib.connectors.errors import InvalidActionInput, InvalidUpstreamUrl
from chalicelib.connectors.http_transport import OutboundRequest
from chalicelib.connectors.schema_errors import validate_against

_EXPR = re.compile(r"\{\{\s*(.*?)\s*\}\}", re.DOTALL)
BASE_URL_SETTING = "base_url"


@dataclass(frozen=True)
class BuiltRequest:
    """The wire request plus its decoded body (for the masked trace)."""

    request: OutboundRequest
    body_for_trace: Any


def effective_settings(connector: ConnectorDefinition, settings: Mapping[str, Any] | None) -> dict[str, Any]:
    """Connection settings with the settings schema's top-level defaults filled in."""
    merged = dict(settings or {})
    for name, spec in connector.settings_schema.get("properties", {}).items():
        if name not in merged and isinstance(spec, Mapping) and "default" in spec:
            merged[name] = spec["default"]
    return merged


def check_call(
    connector: ConnectorDefinition,
    action: ActionDefinition,
    *,
    input: Mapping[str, Any],
    settings: Mapping[str, Any],
    credentials: Mapping[str, Any],
) -> None:
    """Raise ``InvalidActionInput`` listing every problem with input, settings and credentials."""
    details = validate_against(action.input_schema, input, base="/input")
    details += validate_against(connector.settings_schema, settings, base="/settings")
    # Credentials can be secrets: their issues never quote the value.
    details += validate_against(connector.auth_fields, credentials, base="/credentials", redact=True)
    if details:
        raise InvalidActionInput("The action's input is invalid.", details=details)


def build_request(
    connector: ConnectorDefinition,
    action: ActionDefinition,
    auth: AuthAdapter,
    *,
    input: Mapping[str, Any],
    settings: Mapping[str, Any],
    credentials: Mapping[str, Any],
    idempotency_key: str | None = None,
) -> BuiltRequest:
    context = {
        "input": input,
        "path": input.get("path", {}),
        "query": input.get("query", {}),
        "headers": input.get("headers", {}),
        "body": input.get("body"),
        "settings": settings,
    }
    material = auth.material(credentials)
    url = _base_url(connector, settings, context) + _render_path(action, context)
    query = (
        _rendered_template(action.query_template, context)
        if action.query_template is not None
        else context["query"]
    )
    pairs = flatten_params(query or {}) + list(material.query)
    if pairs:
        url += "?" + urllib.parse.urlencode(pairs, quote_via=urllib.parse.quote)

    headers: dict[str, str] = {}
    _merge_headers(headers, expressions.render(dict(connector.default_headers), context), "/default_headers")
    _merge_headers(
        headers, expressions.render(dict(action.headers), context), f"/actions/{action.key}/headers"
    )
    if action.headers_schema is not None:
        _merge_headers(headers, context["headers"] or {}, "/input/headers")

    body_value: Any = None
    body: bytes | None = None
    if action.body_encoding != "none":
        if action.body_template is not None:
            body_value = _rendered_template(action.body_template, context)
        else:
            body_value = context["body"]
    if body_value is not None and action.body_encoding == "json":
        body = json.dumps(body_value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        headers["Content-Type"] = "application/json; charset=utf-8"
    elif body_value is not None and action.body_encoding == "form":
        if not isinstance(body_value, Mapping):
            raise InvalidActionInput(
                details=[{"path": "/input/body", "issue": "a form body must be an object"}]
            )
        body = urllib.parse.urlencode(flatten_params(body_value)).encode("ascii")
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    if idempotency_key:
        headers[action.idempotency_header] = idempotency_key
    headers.update(material.headers)
    return BuiltRequest(OutboundRequest(action.method, url, headers, body), body_value)


def _base_url(connector: ConnectorDefinition, settings: Mapping[str, Any], context: Mapping[str, Any]) -> str:
    override = settings.get(BASE_URL_SETTING)
    declares_override = BASE_URL_SETTING in connector.settings_schema.get("properties", {})
    if declares_override and isinstance(override, str) and override:
        base = override
    else:
        base = expressions.render(connector.base_url, context)
    if not isinstance(base, str):
        raise InvalidUpstreamUrl(
            details=[{"path": "/settings", "issue": "the base URL does not render to text"}]
        )
    parts = urllib.parse.urlsplit(base)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host or parts.username or parts.query or parts.fragment:
        raise InvalidUpstreamUrl(
            "The base URL must be an absolute http(s) URL without credentials, query or fragment.",
            details=[{"path": "/settings", "issue": "renders to an invalid base URL"}],
        )
    if host.startswith((".", "-")) or ".." in host:
        raise InvalidUpstreamUrl(details=[{"path": "/settings", "issue": "renders to an invalid host name"}])
    return base.rstrip("/")


def _raw_path_params(action: ActionDefinition) -> set[str]:
    props = action.path_schema.get("properties", {}) if isinstance(action.path_schema, Mapping) else {}
    return {
        name for name, spec in props.items() if isinstance(spec, Mapping) and spec.get("x-raw-path") is True
    }


def _render_path(action: ActionDefinition, context: Mapping[str, Any]) -> str:
    raw_params = _raw_path_params(action)

    def encode(match: re.Match[str]) -> str:
        expression = match.group(1)
        value = expressions.evaluate(expression, context)
        text = _to_text(value)
        head = expression.split("|", 1)[0].strip()
        is_raw = head.startswith("path.") and head[5:] in raw_params
        return urllib.parse.quote(text.lstrip("/") if is_raw else text, safe="/" if is_raw else "")

    path = _EXPR.sub(encode, action.path)
    segments = urllib.parse.urlsplit(path).path.split("/")
    if any(urllib.parse.unquote(s) in (".", "..") for s in segments) or "?" in path or "#" in path:
        raise InvalidUpstreamUrl(
            details=[{"path": "/input/path", "issue": "renders to a path that leaves the base URL"}]
        )
    return path


def _to_text(value: Any) -> str:
    if value is None or value is expressions.MISSING:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    return str(value)


def _rendered_template(template: Any, context: Mapping[str, Any]) -> Any:
    """Render, then drop object keys whose value rendered to null (unset optional input)."""
    return _prune_nulls(expressions.render(template, context))


def _prune_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _prune_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_prune_nulls(v) for v in value]
    return value


def _merge_headers(target: dict[str, str], rendered: Any, where: str) -> None:
    if not isinstance(rendered, Mapping):
        raise InvalidActionInput(details=[{"path": where, "issue": "headers must be an object"}])
    lower = {k.lower(): k for k in target}
    for name, value in rendered.items():
        if value is None or value == "":
            continue
        text = _to_text(value)
        if "\r" in text or "\n" in text or "\r" in name or "\n" in name:
            raise InvalidActionInput(details=[{"path": f"{where}/{name}", "issue": "contains a line break"}])
        if name.lower() in lower:
            del target[lower[name.lower()]]
        target[name] = text
        lower[name.lower()] = name


def flatten_params(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Encode nested objects the way Stripe, Rails and PHP read them: ``a[b][0]=x``.

    A top-level list of scalars repeats the key (``tag=a&tag=b``); ``None`` is omitted.
    """
    pairs: list[tuple[str, str]] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            pairs.extend(flatten_params(item, f"{prefix}[{key}]" if prefix else str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            nested = isinstance(item, (Mapping, list)) or "[" in prefix
            pairs.extend(flatten_params(item, f"{prefix}[{index}]" if nested else prefix))
    elif value is not None:
        pairs.append((prefix, _to_text(value)))
    return pairs
