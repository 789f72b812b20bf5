"""Request bodies of the connector routes (pydantic; they also feed the OpenAPI document).

Connector documents and actions are free-form here on purpose: the connector
format's own JSON Schema validates them (``validate_connector``), so their
errors carry pointers into the document rather than pydantic's.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from chalicelib.api.models import Body

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


class ActionTestBody(Body):
    connection_id: str | None = Field(None, max_length=64)
    input: dict[str, Any] | None = Field(None, description="Omitted: the action's sample input.")


class NodeTemplateBody(Body):
    name: str = Field(pattern=NODE_NAME, description="Safe name; nodes reference it as tpl:<name>.")
    title: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=2000)
    step_type: str = Field(min_length=1, max_length=63)
    action_ref: str | None = Field(None, max_length=200)
    config: dict[str, Any] = Field(default_factory=dict)
    default_connection_id: str | None = Field(None, pattern=r"^[0-9a-fA-F-]{36}$")


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
