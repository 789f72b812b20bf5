"""Validate a connector document and build its ``ConnectorDefinition``.

The JSON Schema in ``connector.schema.json`` (Draft 2020-12) is the source of
truth for the shape. On top of it, checks a schema cannot express: embedded
schemas are valid JSON Schemas with local references only, templates parse
and only reference what exists, the test action exists, action keys are
unique, auth fields exist and secrets are marked ``writeOnly``, and each
action's sample input satisfies its own schemas. Every problem is reported at
once, each with the JSON pointer of the failing spot.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from chalicelib import expressions
from chalicelib.connectors.definition import (
    CONNECTOR_RETRY,
    CONNECTOR_RETRY_TOTAL_SECONDS,
    ActionDefinition,
    ApiKeyAuth,
    AuthConfig,
    BasicAuth,
    BearerAuth,
    ConnectorDefinition,
    CustomHeaderAuth,
    ErrorCondition,
    ErrorRule,
    NoAuth,
    OAuth2Auth,
    RateLimitHint,
)
from chalicelib.connectors.errors import InvalidConnector
from chalicelib.connectors.schema_errors import (
    details_from_errors,
    pointer,
    schema_problems,
    validate_against,
)
from chalicelib.engine.errors import ConfigInvalid
from chalicelib.engine.retry import RetryPolicy
from chalicelib.errors import ConfigurationError

SCHEMA_PATH = Path(__file__).with_name("connector.schema.json")
EMPTY_OBJECT_SCHEMA: Mapping[str, Any] = {"type": "object", "properties": {}}
REQUEST_ROOTS = frozenset({"path", "query", "headers", "body", "input", "settings"})
OUTPUT_ROOTS = frozenset({"status", "headers", "body"})
_SCHEMA_KEYS = ("path_schema", "query_schema", "headers_schema", "body_schema", "output_schema")
_LITERAL_START = tuple("\"'-0123456789[{")

# A retry block as read: the policy, and the budget of a whole call (``max_total_seconds``).
_Retry = tuple[RetryPolicy, float]
_DEFAULT_RETRY: _Retry = (CONNECTOR_RETRY, CONNECTOR_RETRY_TOTAL_SECONDS)
# A retry block speaks the engine's words (``chalicelib.engine.retry.RetryPolicy``), as a node's
# ``retry`` does; older documents' names of the delays are still read.
_RETRY_FIELDS = ("max_attempts", "base_delay", "max_delay", "multiplier")
LEGACY_RETRY_NAMES = {"initial_backoff_seconds": "base_delay", "max_backoff_seconds": "max_delay"}


@lru_cache(maxsize=1)
def connector_schema() -> dict[str, Any]:
    """The connector format's own JSON Schema (served to editors and the API docs)."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _format_validator() -> Draft202012Validator:
    schema = connector_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def validate_connector(doc: Any) -> ConnectorDefinition:
    """Validate ``doc`` against the connector format; ``InvalidConnector`` (422) lists every problem."""
    if not isinstance(doc, Mapping):
        raise InvalidConnector(
            "A connector definition must be a JSON object.",
            details=[{"path": "", "issue": "must be an object"}],
        )
    details = details_from_errors(_format_validator().iter_errors(doc))
    if not details:
        details = _semantic_problems(doc)
    if details:
        raise InvalidConnector(
            f"Connector definition is invalid ({len(details)} problem(s)).", details=details
        )
    return _build(doc)


# --- semantic checks -------------------------------------------------------------------------------


def _semantic_problems(doc: Mapping[str, Any]) -> list[dict[str, str]]:
    problems: list[dict[str, str]] = []
    auth_fields = doc.get("auth_fields", EMPTY_OBJECT_SCHEMA)
    settings_schema = doc.get("settings_schema", EMPTY_OBJECT_SCHEMA)
    problems += schema_problems(auth_fields, base="/auth_fields")
    problems += schema_problems(settings_schema, base="/settings_schema")
    settings_props = set(settings_schema.get("properties", {}))
    problems += _template_problems(doc["base_url"], "/base_url", roots={"settings"}, settings=settings_props)
    problems += _template_problems(
        doc.get("default_headers", {}), "/default_headers", REQUEST_ROOTS, settings_props
    )
    problems += _error_rule_problems(doc.get("error_rule"), "/error_rule")
    problems += _auth_problems(doc["auth"], auth_fields)
    problems += _retry_problems(doc.get("retry"), _DEFAULT_RETRY, "/retry")
    inherited = _retry(doc.get("retry"), _DEFAULT_RETRY) if not problems else _DEFAULT_RETRY
    keys: set[str] = set()
    for index, action in enumerate(doc["actions"]):
        base = f"/actions/{index}"
        if action["key"] in keys:
            problems.append({"path": f"{base}/key", "issue": f"duplicate action key {action['key']!r}"})
        keys.add(action["key"])
        problems += _action_problems(action, base, settings_props)
        problems += _retry_problems(action.get("retry"), inherited, f"{base}/retry")
    if doc["test_action"] not in keys:
        problems.append(
            {"path": "/test_action", "issue": f"names no action of this connector ({doc['test_action']!r})"}
        )
    return sorted(problems, key=lambda d: d["path"])


def _action_problems(action: Mapping[str, Any], base: str, settings_props: set[str]) -> list[dict[str, str]]:
    problems: list[dict[str, str]] = []
    for key in _SCHEMA_KEYS:
        if key in action:
            problems += schema_problems(action[key], base=f"{base}/{key}")
    if problems:
        return problems
    problems += _template_problems(action["path"], f"{base}/path", REQUEST_ROOTS, settings_props)
    problems += _path_param_problems(action, base)
    for key in ("headers", "query", "body"):
        if key in action:
            problems += _template_problems(action[key], f"{base}/{key}", REQUEST_ROOTS, settings_props)
    if "output" in action:
        problems += _template_problems(action["output"], f"{base}/output", OUTPUT_ROOTS, settings_props)
    problems += _error_rule_problems(action.get("error_rule"), f"{base}/error_rule")
    if action.get("body_encoding") == "none" and ("body" in action or "body_schema" in action):
        problems.append(
            {"path": f"{base}/body_encoding", "issue": "is 'none' but the action declares a body"}
        )
    if "sample_input" in action and not problems:
        schema = input_schema_for(action)
        problems += validate_against(schema, action["sample_input"], base=f"{base}/sample_input")
    return problems


def _heads(template: Any) -> Iterator[list[str | int] | None]:
    """The parsed leading path of each expression (``None`` for literals)."""
    for expression in expressions.references(template):
        head = expression.split("|", 1)[0].strip()
        if not head or head.startswith(_LITERAL_START) or head in ("true", "false", "null"):
            yield None
            continue
        yield expressions.parse_path(head)


def _template_problems(template: Any, where: str, roots: Any, settings: set[str]) -> list[dict[str, str]]:
    try:
        expressions.validate(template)
        heads = list(_heads(template))
    except expressions.ExpressionError as exc:
        return [{"path": where, "issue": exc.message}]
    problems: list[dict[str, str]] = []
    for parts in heads:
        if parts is None:
            continue
        if parts[0] not in roots:
            problems.append(
                {"path": where, "issue": f"references {parts[0]!r}; allowed roots: {sorted(roots)}"}
            )
        elif parts[0] == "settings" and len(parts) > 1 and parts[1] not in settings:
            problems.append(
                {"path": where, "issue": f"references setting {parts[1]!r}, absent from settings_schema"}
            )
    return problems


def _path_param_problems(action: Mapping[str, Any], base: str) -> list[dict[str, str]]:
    schema = action.get("path_schema", {})
    declared = set(schema.get("properties", {})) if isinstance(schema, Mapping) else set()
    required = set(schema.get("required", [])) if isinstance(schema, Mapping) else set()
    problems = []
    for parts in _heads(action["path"]):
        if parts is None or parts[0] != "path" or len(parts) < 2:
            continue
        name = parts[1]
        if name not in declared or name not in required:
            problems.append(
                {"path": f"{base}/path_schema", "issue": f"must declare and require path parameter {name!r}"}
            )
    return problems


def _retry_problems(
    raw: Mapping[str, Any] | None, inherited: _Retry, where: str
) -> list[dict[str, str]]:
    try:
        _retry(raw, inherited)
    except ConfigurationError as exc:
        return [{"path": where, "issue": exc.message}]
    return []


def _error_rule_problems(rule: Mapping[str, Any] | None, where: str) -> list[dict[str, str]]:
    if not rule:
        return []
    problems: list[dict[str, str]] = []
    for key in ("message", "code"):
        if key in rule:
            try:
                expressions.validate(rule[key])
            except expressions.ExpressionError as exc:
                problems.append({"path": f"{where}/{key}", "issue": exc.message})
    if "when" in rule:
        try:
            expressions.parse_path(rule["when"]["path"])
        except expressions.ExpressionError as exc:
            problems.append({"path": f"{where}/when/path", "issue": exc.message})
    return problems


def _auth_problems(auth: Mapping[str, Any], auth_fields: Mapping[str, Any]) -> list[dict[str, str]]:
    props = auth_fields.get("properties", {})
    refs: list[tuple[str, bool]] = []  # (auth key naming a field, must the field be secret)
    kind = auth["type"]
    if kind in ("api_key", "bearer", "custom_header"):
        refs.append(("field", True))
    elif kind == "basic":
        refs.append(("username_field", False))
        if "password_field" in auth:
            refs.append(("password_field", True))
    elif kind == "oauth2":
        refs.append(("access_token_field", True))
    problems = []
    for key, secret in refs:
        name = auth.get(key, "access_token" if key == "access_token_field" else None)
        spec = props.get(name)
        if not isinstance(spec, Mapping):
            problems.append({"path": f"/auth/{key}", "issue": f"names {name!r}, absent from auth_fields"})
        elif secret and spec.get("writeOnly") is not True:
            problems.append(
                {
                    "path": pointer(["properties", name, "writeOnly"], "/auth_fields"),
                    "issue": "a secret field must be writeOnly: true",
                }
            )
    if kind == "basic" and "password_field" not in auth:
        name = auth["username_field"]
        if isinstance(props.get(name), Mapping) and props[name].get("writeOnly") is not True:
            problems.append(
                {
                    "path": pointer(["properties", name, "writeOnly"], "/auth_fields"),
                    "issue": "the only Basic field carries the secret: mark it writeOnly",
                }
            )
    return problems


# --- building ----------------------------------------------------------------------------------------


def _section_required(schema: Any) -> bool:
    return isinstance(schema, Mapping) and bool(schema.get("required"))


def _scoped(schema: Any, scope: str) -> Any:
    """Give a section schema its own ``$id`` so its local ``#/$defs/…`` references keep resolving."""
    if isinstance(schema, Mapping) and "$id" not in schema:
        return {"$id": f"urn:stepline:action-input:{scope}", **schema}
    return schema


def input_schema_for(action: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON Schema of an action's input ``{"path", "query", "headers", "body"}`` (raw action dict)."""
    key = action.get("key", "action")
    properties: dict[str, Any] = {
        "path": _scoped(action.get("path_schema", {"type": "object"}), f"{key}:path"),
        "query": _scoped(action.get("query_schema", {"type": "object"}), f"{key}:query"),
    }
    if "headers_schema" in action:
        properties["headers"] = _scoped(action["headers_schema"], f"{key}:headers")
    if action.get("body_encoding", "json") != "none":
        properties["body"] = _scoped(action.get("body_schema", True), f"{key}:body")
    required = [name for name, schema in properties.items() if _section_required(schema)]
    return {"type": "object", "additionalProperties": False, "properties": properties, "required": required}


def _retry(raw: Mapping[str, Any] | None, inherited: _Retry) -> _Retry:
    """The block's policy over the inherited one, and the whole call's time budget."""
    if not raw:
        return inherited
    policy, total = inherited
    current = dict(raw)
    for legacy, name in LEGACY_RETRY_NAMES.items():
        if legacy in current:
            if name in current:
                raise ConfigurationError(f"retry.{legacy} is the older name of retry.{name}: give one.")
            current[name] = current.pop(legacy)
    changes = {name: value for name, value in current.items() if name in _RETRY_FIELDS}
    try:
        policy = dataclasses.replace(policy, **changes)
    except ConfigInvalid as exc:
        issues = [f"{d['path'].rsplit('/', 1)[-1]} {d['issue']}" for d in exc.details or []]
        raise ConfigurationError("; ".join(issues) or exc.message) from None
    return policy, float(current.get("max_total_seconds", total))


def _rate_limit(raw: Mapping[str, Any] | None) -> RateLimitHint | None:
    return RateLimitHint(raw["max_requests"], float(raw["per_seconds"])) if raw else None


def _error_rule(raw: Mapping[str, Any] | None) -> ErrorRule | None:
    if not raw:
        return None
    when = None
    if "when" in raw:
        w = raw["when"]
        when = ErrorCondition(
            path=w["path"], equals=w.get("equals"), has_equals="equals" in w, exists=w.get("exists")
        )
    return ErrorRule(
        when=when,
        message=raw.get("message"),
        code=raw.get("code"),
        auth_error_codes=tuple(raw.get("auth_error_codes", ())),
        retryable_codes=tuple(raw.get("retryable_codes", ())),
    )


def _auth(raw: Mapping[str, Any]) -> AuthConfig:
    kind = raw["type"]
    if kind == "api_key":
        return ApiKeyAuth(
            location=raw["in"], name=raw["name"], field=raw["field"], prefix=raw.get("prefix", "")
        )
    if kind == "basic":
        return BasicAuth(username_field=raw["username_field"], password_field=raw.get("password_field"))
    if kind == "bearer":
        return BearerAuth(field=raw["field"], scheme=raw.get("scheme", "Bearer"))
    if kind == "custom_header":
        return CustomHeaderAuth(header=raw["header"], field=raw["field"], prefix=raw.get("prefix", ""))
    if kind == "oauth2":
        return OAuth2Auth(
            authorize_url=raw["authorize_url"],
            token_url=raw["token_url"],
            scopes=tuple(raw.get("scopes", ())),
            scope_separator=raw.get("scope_separator", " "),
            pkce=raw.get("pkce", True),
            client_auth=raw.get("client_auth", "client_secret_basic"),
            authorize_params=dict(raw.get("authorize_params", {})),
            access_token_field=raw.get("access_token_field", "access_token"),
        )
    return NoAuth()


def _build(doc: Mapping[str, Any]) -> ConnectorDefinition:
    retry = _retry(doc.get("retry"), _DEFAULT_RETRY)
    timeout = float(doc.get("timeout_seconds", 30.0))
    rate_limit = _rate_limit(doc.get("rate_limit"))
    error_rule = _error_rule(doc.get("error_rule"))
    actions = tuple(
        ActionDefinition(
            key=a["key"],
            name=a["name"],
            description=a.get("description", ""),
            method=a["method"],
            path=a["path"],
            headers=a.get("headers", {}),
            path_schema=a.get("path_schema", {"type": "object"}),
            query_schema=a.get("query_schema", {"type": "object"}),
            headers_schema=a.get("headers_schema"),
            body_schema=a.get("body_schema", True),
            body_encoding=a.get("body_encoding", "json"),
            query_template=a.get("query"),
            body_template=a.get("body"),
            output_schema=a.get("output_schema", True),
            output_template=a.get("output"),
            retry=(action_retry := _retry(a.get("retry"), retry))[0],
            max_total_seconds=action_retry[1],
            timeout_seconds=float(a.get("timeout_seconds", timeout)),
            rate_limit=_rate_limit(a.get("rate_limit")) or rate_limit,
            error_rule=_error_rule(a.get("error_rule")) or error_rule,
            idempotency_header=a.get("idempotency_header", "Idempotency-Key"),
            max_response_bytes=a.get("max_response_bytes"),
            sample_input=a.get("sample_input", {}),
            input_schema=input_schema_for(a),
        )
        for a in doc["actions"]
    )
    return ConnectorDefinition(
        format_version=doc.get("format_version", 1),
        name=doc["name"],
        slug=doc["slug"],
        vendor=doc["vendor"],
        category=doc["category"],
        description=doc.get("description", ""),
        icon=doc.get("icon", ""),
        base_url=doc["base_url"],
        auth=_auth(doc["auth"]),
        auth_fields=doc.get("auth_fields", EMPTY_OBJECT_SCHEMA),
        settings_schema=doc.get("settings_schema", EMPTY_OBJECT_SCHEMA),
        default_headers=doc.get("default_headers", {}),
        actions=actions,
        test_action=doc["test_action"],
        raw=doc,
    )
