"""Errors of the connector services, each a small class with a stable code."""

from __future__ import annotations

from chalicelib.errors import Conflict, Forbidden, NotFound, SteplineError, ValidationFailed


class BuiltinReadOnly(Forbidden):
    """Built-in apps belong to the platform's catalog; tenants cannot change them."""

    code = "builtin_read_only"


class DuplicateSlug(Conflict):
    """Another app of the tenant already uses this slug."""

    code = "duplicate_slug"


class DuplicateName(Conflict):
    """Another object in the same scope already has this name."""

    code = "duplicate_name"


class DuplicateActionKey(Conflict):
    """The version already has an action with this key."""

    code = "duplicate_action_key"


class VersionImmutable(Conflict):
    """Published and deprecated versions never change; open a new draft instead."""

    code = "version_immutable"


class DraftExists(Conflict):
    """The app already has a draft; edit it or publish it first."""

    code = "draft_exists"


class NoDraft(Conflict):
    """The app has no draft to publish."""

    code = "no_draft"


class InvalidVersionTransition(Conflict):
    """The version's status does not allow this step (draft → published → deprecated)."""

    code = "invalid_version_transition"


class AppInUse(Conflict):
    """Connections still use this app; delete them first."""

    code = "app_in_use"


class ConnectionInUse(Conflict):
    """Workflows still use this connection (a node, a secret reference); the details name them."""

    code = "connection_in_use"


class AppHasNoVersion(Conflict):
    """The app has no version yet, so there is nothing to connect to or copy."""

    code = "app_has_no_version"


class SecretsRequired(ValidationFailed):
    """Changing where a connection sends its credentials requires entering the secrets again."""

    code = "secrets_required"


class NotOAuth2(Conflict):
    """The connection's app does not use OAuth2."""

    code = "not_oauth2"


class ConnectionExpired(SteplineError):
    """The connection's access token expired and cannot be refreshed; authorize it again."""

    status, code, default_message = 424, "connection_expired", "The connection's authorization expired."


class TemplateNotFound(NotFound):
    """No action or node template has this reference."""

    code = "template_not_found"


class ConnectionRequired(ValidationFailed):
    """The action needs a connection and none was given or found."""

    code = "connection_required"


class AuthorizationRequired(SteplineError):
    """The OAuth2 connection has no access token yet; run the authorization first."""

    status, code, default_message = 424, "authorization_required", "The connection is not authorized yet."


class ConnectionNotUsable(ValidationFailed):
    """The connection named in the request does not fit: unknown, another workspace, or another app."""

    code = "connection_not_usable"
