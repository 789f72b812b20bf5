"""``/api``: apps, versions, actions, providers, node templates, connections; ``/oauth/callback``.

Built-in apps and actions have ids such as ``builtin:slack`` that name no row,
so the routes taking an app, version or action id use :class:`CatalogAccess`:
``Access`` for the role and every row id, plus a check that a built-in id
exists in the catalog. A foreign or unknown id answers 404 either way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import Field

from chalicelib.api.connector_models import (
    Action,
    ActionDocument,
    ActionPage,
    ActionTestBody,
    App,
    AppCreateBody,
    AppPage,
    AppPatchBody,
    AppVersion,
    AppVersionDetail,
    AppVersionPage,
    Connection,
    ConnectionCreateBody,
    ConnectionPage,
    ConnectionPatchBody,
    ConnectionStatus,
    NodeTemplate,
    NodeTemplateBody,
    NodeTemplateCatalog,
    OAuthConnected,
    OAuthStart,
    OAuthStartBody,
    ProviderPage,
    RotateBody,
    TrialReport,
    VersionCreateBody,
    VersionPatchBody,
    VersionStatus,
)
from chalicelib.api.contract import UUID_PATTERN, ListQuery, Query, SortedListQuery
from chalicelib.connectors.catalog import load_catalog
from chalicelib.errors import BadRequest, NotFound, SteplineError
from chalicelib.http.access import ADMIN, VIEWER, Access, Ref
from chalicelib.http.console_links import browser_navigation, console_redirect
from chalicelib.http.routing import PUBLIC, Answer, Call, Routes
from chalicelib.identity.roles import Role
from chalicelib.services.connectors import (
    actions,
    apps,
    connections,
    node_templates,
    oauth,
    trials,
    versions,
)
from chalicelib.services.connectors.ids import parse_builtin
from chalicelib.services.connectors.views import APP_FIELDS
from chalicelib.tables.connectors import app_actions, app_versions
from chalicelib.tables.connectors import apps as apps_table
from chalicelib.tables.connectors import connections as connections_table
from chalicelib.tables.connectors import node_templates as node_templates_table

routes = Routes("connectors")


@dataclass(frozen=True)
class CatalogAccess:
    """``Access`` whose ids may also be built-in catalog ids (``builtin:…``), checked against the catalog."""

    role: Role
    ids: dict[str, Ref] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.role.value

    def authorize(self, call: Any) -> Any:
        builtin = {name: parse_builtin(call.params[name]) for name in self.ids
                   if name in call.params and call.params[name].startswith("builtin:")}
        rows = {name: ref for name, ref in self.ids.items() if name not in builtin}
        principal = Access(self.role, ids=rows).authorize(call)
        for ref in builtin.values():
            if ref is None or ref.slug not in load_catalog():
                raise NotFound()
        return principal


APP = {"app_id": Ref(apps_table, in_workspace=False)}
VERSION = {**APP, "version_id": Ref(app_versions, in_workspace=False)}
ACTION = {**VERSION, "action_id": Ref(app_actions, in_workspace=False)}
ANY_ACTION = {"action_id": ACTION["action_id"]}
CONNECTION = {"connection_id": Ref(connections_table)}
TEMPLATE = {"template_id": Ref(node_templates_table, in_workspace=False)}

READ_APP, EDIT_APP = CatalogAccess(Role.VIEWER, APP), CatalogAccess(Role.BUILDER, APP)
READ_VERSION, EDIT_VERSION = CatalogAccess(Role.VIEWER, VERSION), CatalogAccess(Role.BUILDER, VERSION)
READ_ACTION, EDIT_ACTION = CatalogAccess(Role.VIEWER, ACTION), CatalogAccess(Role.BUILDER, ACTION)
READ_ANY_ACTION, TEST_ACTION = CatalogAccess(Role.VIEWER, ANY_ACTION), CatalogAccess(Role.BUILDER, ANY_ACTION)
READ_CONNECTION, EDIT_CONNECTION = Access(Role.VIEWER, ids=CONNECTION), Access(Role.BUILDER, ids=CONNECTION)
BUILDER, DELETE_TEMPLATE = Access(Role.BUILDER), Access(Role.ADMIN, ids=TEMPLATE)

VERSIONS = "/api/apps/{app_id}/versions"
ONE_VERSION = VERSIONS + "/{version_id}"
ACTIONS = ONE_VERSION + "/actions"
CONNECTIONS = "/api/workspaces/{ws}/connections"
ONE_CONNECTION = CONNECTIONS + "/{connection_id}"


APP_ID = r"^(builtin:[a-z][a-z0-9_-]{1,62}|" + UUID_PATTERN[1:-1] + ")$"


class AppFilters(ListQuery):
    source: Literal["all", "builtin", "custom"] | None = None
    category: str | None = Field(None, max_length=63)


class VersionFilters(SortedListQuery):
    status: VersionStatus | None = None


class TemplateFilters(ListQuery):
    kind: Literal["step_type", "app_action", "custom"] | None = None


class ConnectionFilters(SortedListQuery):
    app_id: str | None = Field(None, pattern=APP_ID, description="A custom app's id or `builtin:<slug>`.")
    status: ConnectionStatus | None = None


class OAuthCallbackQuery(Query):
    state: str | None = Field(None, max_length=2048)
    code: str | None = Field(None, max_length=2048)
    error: str | None = Field(None, max_length=2048)


def _app_body(body: Any, *, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    values = {k: getattr(body, k, None) for k in APP_FIELDS if k not in exclude}
    return {k: v for k, v in values.items() if v is not None}


def _object_body(call: Call) -> dict[str, Any]:
    data = call.json()
    if not isinstance(data, dict):
        raise BadRequest("The body must be a JSON object.", code="malformed_body")
    return data


def _optional(call: Call, model: Any) -> Any:
    """The body as ``model``; an empty body means all defaults."""
    return call.body(model) if call.json(required=False) is not None else model()


# --- apps -----------------------------------------------------------------------------------------


@routes.route("/api/apps", access=VIEWER, response=AppPage, query=AppFilters)
def list_apps(call: Call):
    """Built-in apps, then the tenant's custom apps (``source=builtin|custom``, ``category``)."""
    return apps.list_apps(call.principal, call.query)


@routes.route("/api/apps", methods=("POST",), access=BUILDER, status=201, body=AppCreateBody, response=App)
def create_app(call: Call):
    """Create a custom app (with a definition: its draft version 1)."""
    body = call.body(AppCreateBody)
    return apps.create_app(call.principal, _app_body(body), body.definition, body.notes)


@routes.route("/api/apps/{app_id}", access=READ_APP, response=App)
def get_app(call: Call):
    return apps.get_app(call.principal, call.params["app_id"])


@routes.route("/api/apps/{app_id}", methods=("PATCH",), access=EDIT_APP, body=AppPatchBody, response=App)
def update_app(call: Call):
    """Change a custom app's metadata (its draft follows)."""
    return apps.update_app(call.principal, call.params["app_id"], _app_body(call.body(AppPatchBody)))


@routes.route("/api/apps/{app_id}", methods=("DELETE",), access=EDIT_APP, status=204)
def delete_app(call: Call):
    apps.delete_app(call.principal, call.params["app_id"])


@routes.route("/api/apps/{app_id}/publish", methods=("POST",), access=EDIT_APP, response=AppVersion)
def publish_app(call: Call):
    """Publish the app's current draft (it becomes immutable)."""
    return versions.publish_app(call.principal, call.params["app_id"])


# --- versions -------------------------------------------------------------------------------------


@routes.route(VERSIONS, access=READ_APP, response=AppVersionPage, query=VersionFilters)
def list_versions(call: Call):
    return versions.list_versions(call.principal, call.params["app_id"], call.query)


@routes.route(VERSIONS, methods=("POST",), access=EDIT_APP, status=201, body=VersionCreateBody, body_required=False,
              response=AppVersionDetail)
def create_version(call: Call):
    """Open a draft from the latest version (or from the given definition)."""
    body = _optional(call, VersionCreateBody)
    return versions.create_draft(call.principal, call.params["app_id"], body.definition, body.notes)


@routes.route(ONE_VERSION, access=READ_VERSION, response=AppVersionDetail)
def get_version(call: Call):
    return versions.get_version(call.principal, call.params["app_id"], call.params["version_id"])


@routes.route(ONE_VERSION, methods=("PATCH",), access=EDIT_VERSION, body=VersionPatchBody,
              response=AppVersionDetail)
def update_version(call: Call):
    """Change a draft (409 for published and deprecated versions)."""
    body, p = call.body(VersionPatchBody), call.params
    return versions.update_draft(call.principal, p["app_id"], p["version_id"], body.definition, body.notes)


@routes.route(ONE_VERSION, methods=("DELETE",), access=EDIT_VERSION, status=204)
def delete_version(call: Call):
    """Discard a draft."""
    versions.delete_draft(call.principal, call.params["app_id"], call.params["version_id"])


@routes.route(ONE_VERSION + "/publish", methods=("POST",), access=EDIT_VERSION, response=AppVersion)
def publish_version(call: Call):
    """Draft → published (immutable from now on)."""
    return versions.publish_version(call.principal, call.params["app_id"], call.params["version_id"])


@routes.route(ONE_VERSION + "/deprecate", methods=("POST",), access=EDIT_VERSION, response=AppVersion)
def deprecate_version(call: Call):
    """Published → deprecated."""
    return versions.deprecate_version(call.principal, call.params["app_id"], call.params["version_id"])


# --- actions --------------------------------------------------------------------------------------


@routes.route(ACTIONS, access=READ_VERSION, response=ActionPage, query=ListQuery)
def list_actions(call: Call):
    return actions.list_actions(call.principal, call.params["app_id"], call.params["version_id"], call.query)


@routes.route(ACTIONS, methods=("POST",), access=EDIT_VERSION, status=201, body=ActionDocument, response=Action)
def create_action(call: Call):
    """Add an action to a draft (the body is the action, in the connector format)."""
    p = call.params
    return actions.create_action(call.principal, p["app_id"], p["version_id"], _object_body(call))


@routes.route(ACTIONS + "/{action_id}", access=READ_ACTION, response=Action)
def get_action(call: Call):
    p = call.params
    return actions.get_action(call.principal, p["app_id"], p["version_id"], p["action_id"])


@routes.route(ACTIONS + "/{action_id}", methods=("PATCH",), access=EDIT_ACTION, body=ActionDocument,
              response=Action)
def update_action(call: Call):
    """Change a draft's action (top-level fields; null removes one)."""
    p, changes = call.params, _object_body(call)
    return actions.update_action(call.principal, p["app_id"], p["version_id"], p["action_id"], changes)


@routes.route(ACTIONS + "/{action_id}", methods=("DELETE",), access=EDIT_ACTION, status=204)
def delete_action(call: Call):
    p = call.params
    actions.delete_action(call.principal, p["app_id"], p["version_id"], p["action_id"])


@routes.route("/api/actions/{action_id}", access=READ_ANY_ACTION, response=Action)
def describe_action(call: Call):
    """Any action by id, with its argument schemas."""
    return actions.describe_action(call.principal, call.params["action_id"])


@routes.route("/api/actions/{action_id}/test", methods=("POST",), access=TEST_ACTION, body=ActionTestBody,
              body_required=False, response=TrialReport)
def test_action(call: Call):
    """Call the action for real with sample input and a chosen connection; masked request and response."""
    body = _optional(call, ActionTestBody)
    return trials.test_action(call.principal, call.params["action_id"], body.connection_id, body.input)


# --- the flow editor's catalog --------------------------------------------------------------------


@routes.route("/api/providers", access=VIEWER, response=ProviderPage, query=ListQuery)
def list_providers(call: Call):
    """Apps a workflow can use, with what a connection form needs."""
    return node_templates.list_providers(call.principal, call.query)


@routes.route("/api/node-templates", access=VIEWER, response=NodeTemplateCatalog, query=TemplateFilters)
def list_node_templates(call: Call):
    """Built-in step types, app actions with their argument schemas, and the tenant's templates."""
    return node_templates.list_node_templates(call.principal, call.query)


@routes.route("/api/node-templates", methods=("POST",), access=ADMIN, status=201, body=NodeTemplateBody,
              response=NodeTemplate)
def create_node_template(call: Call):
    """Save a named node preset (safe names only)."""
    return node_templates.create_node_template(call.principal, call.body(NodeTemplateBody).model_dump())


@routes.route("/api/node-templates/{template_id}", methods=("DELETE",), access=DELETE_TEMPLATE, status=204)
def delete_node_template(call: Call):
    node_templates.delete_node_template(call.principal, call.params["template_id"])


# --- connections ----------------------------------------------------------------------------------


@routes.route(CONNECTIONS, access=VIEWER, response=ConnectionPage, query=ConnectionFilters)
def list_connections(call: Call):
    """Connections of the workspace (``app_id``, ``status`` filter); secrets masked."""
    return connections.list_connections(call.principal, call.params["ws"], call.query)


@routes.route(CONNECTIONS, methods=("POST",), access=BUILDER, status=201, body=ConnectionCreateBody,
              response=Connection)
def create_connection(call: Call):
    b, ws = call.body(ConnectionCreateBody), call.params["ws"]
    return connections.create_connection(call.principal, ws, b.name, b.app_id, b.settings, b.secrets)


@routes.route(ONE_CONNECTION, access=READ_CONNECTION, response=Connection)
def get_connection(call: Call):
    return connections.get_connection(call.principal, call.params["ws"], call.params["connection_id"])


@routes.route(ONE_CONNECTION, methods=("PATCH",), access=EDIT_CONNECTION, body=ConnectionPatchBody,
              response=Connection)
def update_connection(call: Call):
    """Rename, change secrets, or change settings (which requires the secrets again)."""
    given, p = call.body(ConnectionPatchBody).model_dump(exclude_unset=True), call.params
    changes = {k: v for k, v in given.items() if v is not None}  # a top-level null changes nothing
    return connections.update_connection(call.principal, p["ws"], p["connection_id"], changes)


@routes.route(ONE_CONNECTION, methods=("DELETE",), access=EDIT_CONNECTION, status=204)
def delete_connection(call: Call):
    connections.delete_connection(call.principal, call.params["ws"], call.params["connection_id"])


@routes.route(ONE_CONNECTION + "/test", methods=("POST",), access=EDIT_CONNECTION, response=TrialReport)
def test_connection(call: Call):
    """Run the app's test action; the connection's health follows."""
    return trials.test_connection(call.principal, call.params["ws"], call.params["connection_id"])


@routes.route(ONE_CONNECTION + "/rotate", methods=("POST",), access=EDIT_CONNECTION, body=RotateBody,
              body_required=False, response=Connection)
def rotate_connection(call: Call):
    """Replace secrets and re-seal them under a fresh data key."""
    secrets, p = _optional(call, RotateBody).secrets, call.params
    return connections.rotate_secrets(call.principal, p["ws"], p["connection_id"], secrets)


@routes.route(ONE_CONNECTION + "/oauth/start", methods=("POST",), access=EDIT_CONNECTION, body=OAuthStartBody,
              body_required=False, response=OAuthStart)
def start_oauth(call: Call):
    """The provider's authorize URL (signed state, PKCE); ``redirect_uri`` only from the allowed list."""
    body = _optional(call, OAuthStartBody)
    return oauth.start(call.principal, call.params["ws"], call.params["connection_id"], body.redirect_uri)


@routes.route("/oauth/callback", access=PUBLIC, response=OAuthConnected, query=OAuthCallbackQuery,
              answers={303: Answer("A browser (`Accept: text/html`) is sent on to the console's /connections page, "
                                   "the outcome in the query (`oauth=connected|failed`, ids or the error code).",
                                   headers=("Location",))})
def oauth_callback(call: Call):
    """The provider's redirect: verifies the signed state, exchanges the code, stores the tokens sealed.

    A browser (``Accept: text/html``) is sent on to the console's connections page,
    which shows the outcome; other clients get the JSON answer (or the API error).
    """
    if not browser_navigation(call.headers):
        return oauth.callback(call.query)
    try:
        done = oauth.callback(call.query)
    except SteplineError as exc:
        return console_redirect("/connections", {"oauth": "failed", "code": exc.code, "message": exc.message})
    return console_redirect("/connections", {"oauth": "connected", "connection_id": done["connection_id"],
                                             "workspace_id": done["workspace_id"]})
