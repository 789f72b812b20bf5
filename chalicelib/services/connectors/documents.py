"""Connector documents as stored in versions: app metadata folded in, validated with client-side paths.

``validate_connector`` reports pointers into the document. Clients send the
document inside a body (``{"definition": {...}}``) or one action at a time, so
the pointers are rebased onto what the client sent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from chalicelib.connectors.definition import ConnectorDefinition
from chalicelib.connectors.errors import InvalidConnector
from chalicelib.connectors.format import validate_connector
from chalicelib.services.connectors.views import APP_FIELDS

_ACTION_PATH = re.compile(r"^/actions/(\d+)(/.*)?$")


def with_metadata(document: Mapping[str, Any], app: Mapping[str, Any]) -> dict[str, Any]:
    """The document with the app's metadata (the app is the one source of its name, slug, …)."""
    merged = dict(document)
    for name in APP_FIELDS:
        if app.get(name) not in (None, ""):
            merged[name] = app[name]
        elif name in ("description", "icon"):
            merged.pop(name, None)
    return merged


def validated(document: Any, *, base: str = "/definition") -> ConnectorDefinition:
    """``validate_connector`` with every detail path prefixed by ``base``."""
    try:
        return validate_connector(document)
    except InvalidConnector as exc:
        raise InvalidConnector(
            exc.message,
            details=[{"path": base + detail["path"], "issue": detail["issue"]} for detail in exc.details],
        ) from None


def validated_with_action(document: Mapping[str, Any], index: int) -> ConnectorDefinition:
    """Validate a document after changing its action ``index``; that action's problems point into the body."""
    try:
        return validate_connector(document)
    except InvalidConnector as exc:
        details = []
        for detail in exc.details:
            match = _ACTION_PATH.match(detail["path"])
            if match and int(match.group(1)) == index:
                path = match.group(2) or ""
            else:
                path = "/definition" + detail["path"]
            details.append({"path": path, "issue": detail["issue"]})
        raise InvalidConnector(exc.message, details=details) from None
