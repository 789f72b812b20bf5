"""The built-in connector catalog: one JSON file per app, validated at load.

Global, read-only to tenants. Loaded once per process (cached); a file that
does not validate fails loudly at start-up rather than at the first call.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from chalicelib.connectors.definition import ConnectorDefinition
from chalicelib.connectors.errors import InvalidConnector
from chalicelib.connectors.format import validate_connector
from chalicelib.errors import ConfigurationError, NotFound

CATALOG_DIR = Path(__file__).parent
_LOCK = threading.Lock()
_CACHE: Mapping[str, ConnectorDefinition] | None = None


class UnknownConnector(NotFound):
    """No built-in connector has this slug."""

    code = "connector_not_found"


def _load_file(path: Path) -> ConnectorDefinition:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        definition = validate_connector(doc)
    except (ValueError, InvalidConnector) as exc:
        details = getattr(exc, "details", None) or [{"path": "", "issue": str(exc)}]
        raise ConfigurationError(f"Built-in connector {path.name} is invalid.", details=details) from exc
    if definition.slug != path.stem:
        raise ConfigurationError(f"Built-in connector {path.name} declares slug {definition.slug!r}.")
    return definition


def load_catalog() -> Mapping[str, ConnectorDefinition]:
    """Every built-in connector by slug (validated once, then cached for the process)."""
    global _CACHE
    if _CACHE is None:
        with _LOCK:
            if _CACHE is None:
                loaded = {path.stem: _load_file(path) for path in sorted(CATALOG_DIR.glob("*.json"))}
                _CACHE = MappingProxyType(loaded)
    return _CACHE


def builtin_slugs() -> list[str]:
    return sorted(load_catalog())


def get_builtin(slug: str) -> ConnectorDefinition:
    """The built-in connector ``slug``; ``UnknownConnector`` (404) otherwise."""
    try:
        return load_catalog()[slug]
    except KeyError:
        raise UnknownConnector(f"No built-in connector {slug!r}.") from None
