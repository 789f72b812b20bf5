"""Generic HTTP request through the injected client (``ctx.http``, an ``httpx.Client``).

Config: ``method``, ``url``, ``headers``, ``query``, ``json`` or ``form``
body, ``timeout`` (seconds, capped by the step's deadline),
``max_response_bytes``, ``follow_redirects``, ``fail_on_error_status``.
Returns ``{"status", "headers", "body"}``: JSON bodies parsed, text as text,
anything else base64 with ``"body_encoding": "base64"``.

Outcomes: connection errors, 5xx, 408 and 429 are retryable ``StepFailed``
(429 carries the remote's Retry-After); other 4xx are
``NonRetryableStepError`` unless ``fail_on_error_status`` is false; a response
over the size limit fails without retry. Unsafe methods send
``Idempotency-Key: ctx.idempotency_key`` so a retried attempt is recognisable.

Credentials (when the node has a connection) are applied to the request only:
``{"type": "bearer"|"oauth2", "token"|"access_token"}``,
``{"type": "basic", "username", "password"}``,
``{"type": "api_key", "api_key"|"value", "in": "header"|"query", "name"}``,
``{"type": "header", "name", "value"}`` (``type`` inferred when absent).
They never appear in the output, the logs or an error.
This module imports httpx only for its exception types: it is the HTTP
adapter among the steps.
"""

from __future__ import annotations

import base64
import json
import re
import time
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from chalicelib.connectors.auth import AuthAdapter, adapter_for
from chalicelib.connectors.definition import ApiKeyAuth, BasicAuth, BearerAuth
from chalicelib.connectors.errors import InvalidActionInput
from chalicelib.engine.config_schema import require_config, templated
from chalicelib.engine.context import StepContext
from chalicelib.engine.errors import ConfigInvalid, NonRetryableStepError, StepFailed, StepTimeout
from chalicelib.errors import ConfigurationError
from chalicelib.masking import SecretMasker

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
DEFAULT_TIMEOUT = 30.0
MAX_TIMEOUT = 300.0
DEFAULT_MAX_RESPONSE_BYTES = 1_048_576
MAX_RESPONSE_BYTES = 10_485_760
EXCERPT_CHARS = 500

_SCALAR = {"type": ["string", "number", "boolean"]}
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

TITLE = "HTTP request"
CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["url"],
    "properties": {
        "method": {"enum": METHODS, "default": "GET"},
        "url": {"type": "string", "minLength": 1, "maxLength": 8192},
        "headers": templated({"type": "object", "additionalProperties": _SCALAR}),
        "query": templated(
            {
                "type": "object",
                "additionalProperties": {"anyOf": [_SCALAR, {"type": "array", "items": _SCALAR}]},
            }
        ),
        "json": {"description": "JSON request body."},
        "form": templated({"type": "object", "additionalProperties": _SCALAR}),
        "timeout": templated({"type": "number", "exclusiveMinimum": 0, "maximum": MAX_TIMEOUT}),
        "max_response_bytes": {"type": "integer", "minimum": 1, "maximum": MAX_RESPONSE_BYTES},
        "follow_redirects": {"type": "boolean", "default": False},
        "fail_on_error_status": {"type": "boolean", "default": True},
    },
    "additionalProperties": False,
    "not": {"required": ["json", "form"]},
}
PORTS = ["out"]
NEEDS_CREDENTIALS = True  # optional: applied when the node has a connection
RAW_CONFIG_KEYS: frozenset[str] = frozenset()
# Where a ``$secrets`` value may go: the parts of the request sent to the remote. Not ``url``
# (it names the target in logs and errors) and nothing the step records.
SECRET_CONFIG_KEYS = frozenset({"headers", "query", "json", "form"})


def handle(msg: dict[str, Any], config: dict[str, Any], ctx: StepContext, credentials: dict | None) -> dict:
    require_config(CONFIG_SCHEMA, config)
    if ctx.http is None:
        raise ConfigurationError("No HTTP client was injected into the step context.")
    method = config.get("method", "GET")
    url = config["url"]
    target = _target(url)
    headers = _headers(config.get("headers") or {})
    params = {
        k: _scalar_text(v) if not isinstance(v, list) else [_scalar_text(x) for x in v]
        for k, v in (config.get("query") or {}).items()
    }
    secrets = apply_credentials(credentials, headers, params)
    if method not in SAFE_METHODS and not any(k.lower() == "idempotency-key" for k in headers):
        headers["Idempotency-Key"] = ctx.idempotency_key
    timeout = _timeout(config, ctx)
    limit = config.get("max_response_bytes", DEFAULT_MAX_RESPONSE_BYTES)
    body_args: dict[str, Any] = {}
    if params:
        body_args["params"] = _merged_query(url, params)
    if "json" in config:
        body_args["json"] = config["json"]
    elif "form" in config:
        body_args["data"] = {k: _scalar_text(v) for k, v in config["form"].items()}

    started = time.monotonic()
    try:
        with ctx.http.stream(
            method,
            url,
            headers=headers,
            timeout=timeout,
            follow_redirects=bool(config.get("follow_redirects", False)),
            **body_args,
        ) as response:
            raw = _read_limited(response, limit, started + timeout, target)
            status, response_headers = response.status_code, dict(response.headers)
    except httpx.TimeoutException:
        raise StepTimeout(f"{target} did not answer within {timeout:g} s.", info={"target": target}) from None
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
        raise ConfigInvalid(
            f"Cannot send a request to {target}.",
            details=[{"path": "/config/url", "issue": type(exc).__name__}],
        ) from None
    except httpx.TooManyRedirects:
        raise NonRetryableStepError(f"{target} redirected too many times.", code="http_too_many_redirects") from None
    except httpx.DecodingError:
        raise NonRetryableStepError(f"{target} sent a body that cannot be decoded.", code="http_bad_response") from None
    except httpx.RequestError as exc:
        raise StepFailed(
            f"Could not reach {target} ({type(exc).__name__}).",
            code="http_connection_failed",
            info={"target": target},
        ) from None

    elapsed_ms = round((time.monotonic() - started) * 1000)
    ctx.log("info", "HTTP request sent.", method=method, target=target, status=status, elapsed_ms=elapsed_ms)
    body, encoding = _decode(raw, response_headers.get("content-type", ""))
    # A remote that echoes the request (debug endpoints do) must not leak the credentials into the run.
    masker = SecretMasker(secrets, show_hint=False)
    body, response_headers = masker.values(body), masker.values(response_headers)
    if status >= 400 and config.get("fail_on_error_status", True):
        _raise_for_status(status, response_headers, raw, target, masker)
    result: dict[str, Any] = {"status": status, "headers": response_headers, "body": body}
    if encoding:
        result["body_encoding"] = encoding
    return result


def apply_credentials(credentials: dict | None, headers: dict[str, str], params: dict[str, Any]) -> list[str]:
    """Put the credentials on the request (through the connectors' auth adapters); return what to mask."""
    if not credentials:
        return []
    adapter, field_name, what = _auth_of(credentials)
    try:
        material = adapter.material(credentials)
    except InvalidActionInput:
        raise NonRetryableStepError(f"The connection's credentials lack {what}.", code="credentials_invalid") from None
    headers.update(material.headers)
    params.update(material.query)
    return [str(credentials[field_name]), *material.secret_values()]


def _auth_of(credentials: dict) -> tuple[AuthAdapter, str, str]:
    """The adapter for a generic credential mapping, the field holding the secret, and what it needs."""
    kind = credentials.get("type") or _infer_type(credentials)
    if kind in ("bearer", "oauth2"):
        field_name = "token" if credentials.get("token") else "access_token"
        return adapter_for(BearerAuth(field=field_name)), field_name, "a token"
    if kind == "basic":
        _require("username" in credentials and "password" in credentials, "a username and a password")
        auth = BasicAuth(username_field="username", password_field="password")
        return adapter_for(auth), "password", "a username and a password"
    if kind in ("api_key", "header"):
        field_name = "api_key" if credentials.get("api_key") else "value"
        if credentials.get("in", "header") == "query":
            name = credentials.get("name") or "api_key"
            return adapter_for(ApiKeyAuth("query", str(name), field_name)), field_name, "a key value"
        name = credentials.get("name") or credentials.get("header") or "X-API-Key"
        _require(_HEADER_NAME.match(str(name)), "a valid header name")
        return adapter_for(ApiKeyAuth("header", str(name), field_name)), field_name, "a key value"
    raise NonRetryableStepError(
        "The connection's credential type is not supported by HTTP requests.", code="credentials_unsupported"
    )


def _infer_type(credentials: dict) -> str:
    if credentials.get("access_token") or credentials.get("token"):
        return "bearer"
    if "username" in credentials and "password" in credentials:
        return "basic"
    if credentials.get("api_key") or credentials.get("value"):
        return "api_key"
    return "unknown"


def _require(ok: Any, what: str) -> None:
    if not ok:
        raise NonRetryableStepError(f"The connection's credentials lack {what}.", code="credentials_invalid")


def _target(url: str) -> str:
    """``scheme://host[:port]/path`` for logs and errors: no userinfo, no query (keys hide there)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigInvalid(
            "The URL must be an absolute http(s) URL.",
            details=[{"path": "/config/url", "issue": "not an absolute http(s) URL"}],
        )
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}{parts.path}"


def _merged_query(url: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    """The URL's own query pairs, then the configured ones (httpx replaces a URL's query with ``params``)."""
    pairs = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    for name, value in params.items():
        pairs.extend((name, v) for v in (value if isinstance(value, list) else [value]))
    return pairs


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _headers(raw: dict[str, Any]) -> dict[str, str]:
    headers = {}
    for name, value in raw.items():
        text = _scalar_text(value)
        if not _HEADER_NAME.match(name) or "\r" in text or "\n" in text:
            raise ConfigInvalid(
                "A header name or value is not allowed.",
                details=[{"path": f"/config/headers/{name}", "issue": "invalid header"}],
            )
        headers[name] = text
    return headers


def _timeout(config: dict[str, Any], ctx: StepContext) -> float:
    timeout = float(config.get("timeout", DEFAULT_TIMEOUT))
    remaining = ctx.remaining_seconds()
    if remaining is not None:
        if remaining <= 0:
            raise StepTimeout("The step ran out of time before sending the request.")
        timeout = min(timeout, remaining)
    return timeout


def _read_limited(response: Any, limit: int, deadline: float, target: str) -> bytes:
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        _too_large(target, limit)
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            _too_large(target, limit)
        chunks.append(chunk)
        if time.monotonic() > deadline:  # a trickling body must not outlive the timeout
            raise StepTimeout(f"{target} did not finish its response in time.")
    return b"".join(chunks)


def _too_large(target: str, limit: int) -> None:
    raise NonRetryableStepError(
        f"The response from {target} exceeds {limit} bytes.",
        code="response_too_large",
        info={"max_response_bytes": limit},
    )


def _decode(raw: bytes, content_type: str) -> tuple[Any, str | None]:
    if not raw:
        return None, None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return base64.b64encode(raw).decode(), "base64"
    if "json" in content_type.lower():
        try:
            return json.loads(text), None
        except ValueError:
            return text, None
    return text, None


def _raise_for_status(status: int, headers: dict[str, str], raw: bytes, target: str, masker: SecretMasker) -> None:
    excerpt = masker.text(raw.decode("utf-8", errors="replace"))[:EXCERPT_CHARS]
    info = {"status": status, "target": target, "body_excerpt": excerpt}
    message = f"{target} answered HTTP {status}."
    if status == 429:
        raise StepFailed(message, code="http_rate_limited", retry_after=_retry_after(headers), info=info)
    if status == 408:
        raise StepFailed(message, code="http_request_timeout", info=info)
    if status >= 500:
        raise StepFailed(message, code="http_server_error", info=info)
    raise NonRetryableStepError(message, code="http_client_error", info=info)


def _retry_after(headers: dict[str, str]) -> float | None:
    """Retry-After as seconds (delta-seconds or an HTTP date)."""
    value = (headers.get("retry-after") or "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())
