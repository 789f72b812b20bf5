"""The typed, immutable view of a validated connector definition.

``format.validate_connector`` builds these from JSON; everything else (the
invoker, the catalog, the API) reads them. Embedded JSON Schemas and templates
stay plain dicts/lists (the expression renderer needs real dicts): treat them
as read-only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from chalicelib.connectors.errors import ActionNotFound
from chalicelib.engine.retry import RetryPolicy

HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
BodyEncoding = Literal["json", "form", "none"]
IDEMPOTENT_METHODS = frozenset({"GET", "PUT", "DELETE", "HEAD", "OPTIONS"})


# The connector format's ``retry`` block is the platform's one retry policy, in its words:
# ``max_attempts``, ``base_delay``, ``max_delay``, ``multiplier`` (older documents' names of the delays,
# ``initial_backoff_seconds`` and ``max_backoff_seconds``, are still read); its ``max_total_seconds``
# bounds a whole call made outside a workflow (``ActionDefinition``). Inside a workflow the policy is
# the default of the action step's own (the node's ``retry`` keys override).
CONNECTOR_RETRY = RetryPolicy(max_attempts=3, base_delay=0.5, max_delay=8.0, multiplier=2.0)
CONNECTOR_RETRY_TOTAL_SECONDS = 30.0


@dataclass(frozen=True)
class RateLimitHint:
    """The vendor's documented rate limit; the engine may pace calls with it."""

    max_requests: int
    per_seconds: float


@dataclass(frozen=True)
class ErrorCondition:
    """Flags a 2xx response body as a failure: ``path`` equals ``equals`` (or exists, when ``exists``)."""

    path: str
    equals: Any = None
    has_equals: bool = False
    exists: bool | None = None


@dataclass(frozen=True)
class ErrorRule:
    """How to read a vendor's error: when a 2xx is a failure, and the message/code templates."""

    when: ErrorCondition | None = None
    message: str | None = None
    code: str | None = None
    auth_error_codes: tuple[str, ...] = ()
    retryable_codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ApiKeyAuth:
    """An API key sent in a header or a query parameter."""

    location: Literal["header", "query"]
    name: str
    field: str
    prefix: str = ""
    type: Literal["api_key"] = "api_key"


@dataclass(frozen=True)
class BasicAuth:
    """HTTP Basic; the password field is optional (Stripe sends the key as username)."""

    username_field: str
    password_field: str | None = None
    type: Literal["basic"] = "basic"


@dataclass(frozen=True)
class BearerAuth:
    """``Authorization: <scheme> <token>``."""

    field: str
    scheme: str = "Bearer"
    type: Literal["bearer"] = "bearer"


@dataclass(frozen=True)
class CustomHeaderAuth:
    """A vendor-specific header carrying the secret (e.g. ``X-Shopify-Access-Token``)."""

    header: str
    field: str
    prefix: str = ""
    type: Literal["custom_header"] = "custom_header"


@dataclass(frozen=True)
class OAuth2Auth:
    """OAuth2 authorization code (with refresh); calls send the stored access token as a bearer."""

    authorize_url: str
    token_url: str
    scopes: tuple[str, ...] = ()
    scope_separator: str = " "
    pkce: bool = True
    client_auth: Literal["client_secret_basic", "client_secret_post"] = "client_secret_basic"
    authorize_params: Mapping[str, str] = field(default_factory=dict)
    access_token_field: str = "access_token"
    type: Literal["oauth2"] = "oauth2"


@dataclass(frozen=True)
class NoAuth:
    """No credentials."""

    type: Literal["none"] = "none"


AuthConfig = ApiKeyAuth | BasicAuth | BearerAuth | CustomHeaderAuth | OAuth2Auth | NoAuth


@dataclass(frozen=True)
class ActionDefinition:
    """One operation of an app: how to build the request and read the response."""

    key: str
    name: str
    method: HttpMethod
    path: str
    description: str = ""
    headers: Mapping[str, Any] = field(default_factory=dict)
    path_schema: Mapping[str, Any] | bool = True
    query_schema: Mapping[str, Any] | bool = True
    headers_schema: Mapping[str, Any] | bool | None = None
    body_schema: Mapping[str, Any] | bool = True
    body_encoding: BodyEncoding = "json"
    query_template: Any = None
    body_template: Any = None
    output_schema: Mapping[str, Any] | bool = True
    output_template: Any = None
    retry: RetryPolicy = CONNECTOR_RETRY
    max_total_seconds: float = CONNECTOR_RETRY_TOTAL_SECONDS
    timeout_seconds: float = 30.0
    rate_limit: RateLimitHint | None = None
    error_rule: ErrorRule | None = None
    idempotency_header: str = "Idempotency-Key"
    max_response_bytes: int | None = None
    sample_input: Mapping[str, Any] = field(default_factory=dict)
    input_schema: Mapping[str, Any] = field(default_factory=lambda: {"type": "object"})

    @property
    def is_idempotent(self) -> bool:
        return self.method in IDEMPOTENT_METHODS


@dataclass(frozen=True)
class ConnectorDefinition:
    """One app version: metadata, base URL, auth, settings and actions."""

    name: str
    slug: str
    vendor: str
    category: str
    description: str
    icon: str
    base_url: str
    auth: AuthConfig
    auth_fields: Mapping[str, Any]
    settings_schema: Mapping[str, Any]
    actions: tuple[ActionDefinition, ...]
    test_action: str
    default_headers: Mapping[str, Any] = field(default_factory=dict)
    format_version: int = 1
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def action(self, key: str) -> ActionDefinition:
        """The action named ``key``; ``ActionNotFound`` otherwise."""
        for action in self.actions:
            if action.key == key:
                return action
        raise ActionNotFound(f"Connector {self.slug!r} has no action {key!r}.")

    @cached_property
    def secret_fields(self) -> frozenset[str]:
        """Credential fields marked ``writeOnly`` in ``auth_fields`` (never shown, always masked)."""
        props = self.auth_fields.get("properties", {}) if isinstance(self.auth_fields, Mapping) else {}
        return frozenset(
            name
            for name, spec in props.items()
            if isinstance(spec, Mapping) and spec.get("writeOnly") is True
        )

    @cached_property
    def declared_credential_fields(self) -> frozenset[str]:
        props = self.auth_fields.get("properties", {}) if isinstance(self.auth_fields, Mapping) else {}
        return frozenset(props)
