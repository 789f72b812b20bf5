"""A cache for pg8000's SQL placeholder rewriting.

pg8000 rewrites every statement's ``%s`` placeholders into ``$n`` by scanning
the SQL text character by character on every execute — about 0.3 ms per
statement, measured as the largest pure-Python cost on the step and webhook
paths. For the positional styles the result depends only on the SQL text, so
it is computed once per distinct statement (SQLAlchemy's statement cache keeps
that set small and bounded); the other styles go through unchanged.
"""

from __future__ import annotations

import threading
from typing import Any

import pg8000.dbapi
import pg8000.legacy

_ORIGINAL = pg8000.dbapi.convert_paramstyle
_POSITIONAL = frozenset({"format", "numeric", "qmark"})
_MAX_ENTRIES = 4096
_cache: dict[tuple[str, str], str] = {}
_lock = threading.Lock()


def convert_paramstyle(style: str, query: str, args: Any) -> tuple[str, Any]:
    if style not in _POSITIONAL:
        return _ORIGINAL(style, query, args)
    key = (style, query)
    converted = _cache.get(key)
    if converted is None:
        converted, _ = _ORIGINAL(style, query, args)
        with _lock:
            if len(_cache) < _MAX_ENTRIES:
                _cache[key] = converted
    return converted, args


def install() -> None:
    """Route pg8000's cursors through the cache (idempotent)."""
    pg8000.legacy.convert_paramstyle = convert_paramstyle
    pg8000.dbapi.convert_paramstyle = convert_paramstyle
