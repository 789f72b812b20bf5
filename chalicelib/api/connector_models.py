"""Request and response models of the connector routes (pydantic; they also feed the OpenAPI document).

Connector documents and actions are free-form here on purpose: the connector
format's own JSON Schema validates them (``validate_connector``), so their
errors carry pointers into the document rather than pydantic's.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, RootModel

from chalicelib.api.contract import JsonObject, Out, Timestamp, page_of
from chalicelib.api.models import UUID, Body

SLUG = r"^[a-z][a-z0-9_-]{1,62}$"
CATEGORY = r"^[a-z][a-z0-9_-]{0,62}$"
NODE_NAME = r"^[a-z][a-z0-9_]{0,62}$"


class AppCreateBody(Body):
    name: str = Field(min_length=1, max_length=100)
    slug: str = Field(pattern=SLUG)
    vendor: str = Field(min_length=1, max_length=100)
    category: str = Field(pattern=CATEGORY)
    description: str = Field("", max_length=2000)
    icon: str = Field("", max_length=65536)
    definition: dict[str, Any] | None = Field(None, description="Connector document; opens draft 1.")
    notes: str = Field("", max_length=2000)


class AppPatchBody(Body):
    name: str | None = Field(None, min_length=1, max_length=100)
    vendor: str | None = Field(None, min_length=1, max_length=100)
    category: str | None = Field(None, pattern=CATEGORY)
    description: str | None = Field(None, max_length=2000)
    icon: str | None = Field(None, max_length=65536)


class VersionCreateBody(Body):
    definition: dict[str, Any] | None = Field(None, description="Omitted: a copy of the latest version's.")
    notes: str = Field("", max_length=2000)


class VersionPatchBody(Body):
    definition: dict[str, Any] | None = None
    notes: str | None = Field(None, max_length=2000)


class ActionDocument(RootModel[dict[str, Any]]):
    """An action in the connector format (``key``, ``name``, ``method``, ``path``, schemas...);
    validated by the connector format's JSON Schema, whose errors point into the document."""


class ActionTestBody(Body):
    connection_id: str | None = Field(None, pattern=UUID)
    input: dict[str, Any] | None = Field(None, description="Omitted: the action's sample input.")


class NodeTemplateBody(Body):
    name: str = Field(pattern=NODE_NAME, description="Safe name; nodes reference it as tpl:<name>.")
    title: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=2000)
    step_type: str = Field(min_length=1, max_length=63)
    action_ref: str | None = Field(None, max_length=200)
    config: dict[str, Any] = Field(default_factory=dict)
    default_connection_id: str | None = Field(None, pattern=UUID)


class OAuthStartBody(Body):
    redirect_uri: str | None = Field(None, max_length=2000, description="Where the provider sends the browser "
                                     "back; default and allowed: $PUBLIC_BASE_URL/oauth/callback and "
                                     "OAUTH_REDIRECT_URIS.")


class ConnectionCreateBody(Body):
    name: str = Field(min_length=1, max_length=200)
    app_id: str = Field(min_length=1, max_length=100)
    settings: dict[str, Any] = Field(default_factory=dict)
    secrets: dict[str, Any] = Field(default_factory=dict, description="Write-only; reads show them masked.")


class ConnectionPatchBody(Body):
    name: str | None = Field(None, min_length=1, max_length=200)
    settings: dict[str, Any] | None = Field(None, description="Changing them requires `secrets` again.")
    secrets: dict[str, Any] | None = Field(None, description="Merged: given fields replace, null removes.")


class RotateBody(Body):
    secrets: dict[str, Any] = Field(default_factory=dict, description="Fields to replace (null removes).")


# --- responses --------------------------------------------------------------------------------------

VersionStatus = Literal["draft", "published", "deprecated"]
ConnectionStatus = Literal["ok", "expired", "refresh_failed", "invalid"]


class App(Out):
    """A built-in (``builtin:<slug>``) or custom app."""

    id: str
    builtin: bool
    name: str
    slug: str
    vendor: str
    category: str
    description: str
    icon: str
    status: str = Field(description="draft until a version is published; built-in apps are published.")
    created_at: Timestamp | None = Field(description="Null for built-in apps.")
    updated_at: Timestamp | None
    auth_type: str | None = Field(None, description="Built-in apps: their auth type.")
    latest_version_id: str | None = Field(None, description="On built-in apps and on one app read by id.")
    draft_version_id: str | None = Field(None, description="On a custom app read by id.")


class AppVersion(Out):
    id: str
    app_id: str
    builtin: bool
    number: int
    status: VersionStatus
    notes: str
    auth_type: str | None
    action_count: int
    created_at: Timestamp | None
    updated_at: Timestamp | None
    published_at: Timestamp | None
    deprecated_at: Timestamp | None


class AppVersionDetail(AppVersion):
    definition: JsonObject = Field(description="The connector document.")


class RetrySettings(Out):
    """An action's retry defaults: the vocabulary of a workflow node's ``retry``, plus the budget of calls made
    outside a workflow."""

    max_attempts: int
    base_delay: float
    max_delay: float
    multiplier: float
    max_total_seconds: float


class Action(Out):
    """An action with its argument schemas (what a flow editor needs to build a node's input)."""

    id: str
    app_id: str
    version_id: str
    builtin: bool
    key: str
    name: str
    description: str
    method: str
    path: str
    input_schema: JsonObject
    output_schema: JsonObject | bool
    sample_input: JsonObject
    retry: RetrySettings
    timeout_seconds: float
    is_test_action: bool
    definition: JsonObject = Field(description="The action as written in the connector document.")
    version_status: VersionStatus | None = Field(None, description="On an action read by id.")


class TracedRequest(Out):
    method: str
    url: str
    headers: dict[str, str] = Field(description="Secrets masked.")
    body: Any = Field(description="Masked, cut at a size limit.")


class TracedResponse(Out):
    status: int
    headers: dict[str, str]
    body: Any


class TracedAttempt(Out):
    number: int
    status: int | None
    error_code: str | None
    duration_ms: int
    waited_ms: int = Field(description="The back-off before this send.")
    after_reauthorization: bool = Field(description="Sent again after refreshing an expired OAuth2 token.")


class TrialError(Out):
    code: str
    message: str
    retryable: bool
    upstream_status: int | None
    vendor_code: str | None


class TrialConnection(Out):
    id: str
    status: ConnectionStatus


class TrialReport(Out):
    """A real call of an action (or a connection's test action): outcome and the masked trace."""

    ok: bool
    action: str
    status: int | None = Field(description="The vendor's HTTP status.")
    duration_ms: int
    output: Any
    request: TracedRequest | None
    response: TracedResponse | None
    attempts: list[TracedAttempt]
    error: TrialError | None = None
    connection: TrialConnection | None = None


class Provider(Out):
    """An app a workflow can use, with what a connection form needs."""

    id: str
    version_id: str
    builtin: bool
    name: str
    slug: str
    vendor: str
    category: str
    description: str
    icon: str
    auth_type: str
    auth_fields: JsonObject = Field(description="JSON Schema of the connection's secret fields.")
    settings_schema: JsonObject = Field(description="JSON Schema of the connection's settings.")
    needs_connection: bool
    test_action: str | None
    action_count: int


class StepTypeTemplate(Out):
    kind: Literal["step_type"]
    ref: None
    type: str
    variant: str | None = Field(
        description="A preset of the type with a narrower schema (`jsonata`: a transform whose output is one "
        "JSONata expression); null for the type itself."
    )
    title: str
    description: str
    config_schema: JsonObject
    default_config: JsonObject | None = Field(description="What a new node of this kind starts with, if anything.")
    ports: list[str]
    dynamic_ports: bool
    needs_credentials: bool
    secret_keys: list[str] = Field(description="Top-level config keys whose `{{ }}` templates may read `$secrets` "
                                   "(where a credential goes); `$secrets` elsewhere is refused on save.")


class ActionTemplate(Out):
    kind: Literal["app_action"]
    type: str
    ref: str = Field(description="The action id, for the node's `action` setting.")
    title: str
    description: str
    app_id: str
    version_id: str
    needs_connection: bool
    input_schema: JsonObject
    output_schema: JsonObject | bool
    sample_input: JsonObject


class NodeTemplate(Out):
    """A tenant's named node preset; nodes use it as ``template: "tpl:<name>"``."""

    kind: Literal["custom"]
    id: str
    type: str
    ref: str
    name: str
    title: str
    description: str
    action_ref: str | None
    config: JsonObject
    default_connection_id: str | None
    created_at: Timestamp


AnyNodeTemplate = Annotated[StepTypeTemplate | ActionTemplate | NodeTemplate, Field(discriminator="kind")]


class NodeTemplateCatalog(Out):
    items: list[AnyNodeTemplate]
    next_cursor: str | None


class Connection(Out):
    """A connection; secret fields appear masked (``••••abcd``), never in clear."""

    id: str
    workspace_id: str
    app_id: str
    name: str
    settings: JsonObject
    credentials: dict[str, Any] = Field(description="Masked secret fields.")
    status: ConnectionStatus
    status_detail: str | None
    token_expires_at: Timestamp | None
    last_tested_at: Timestamp | None
    created_at: Timestamp
    updated_at: Timestamp


class OAuthStart(Out):
    authorize_url: str
    redirect_uri: str
    pkce: bool


class OAuthConnected(Out):
    connection_id: str
    workspace_id: str
    status: ConnectionStatus
    token_expires_at: Timestamp | None


AppPage = page_of(App)
AppVersionPage = page_of(AppVersion)
ActionPage = page_of(Action)
ProviderPage = page_of(Provider)
ConnectionPage = page_of(Connection)
