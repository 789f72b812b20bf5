"""pg8000, tuned: a cache for its SQL placeholder rewriting, and one round trip per statement.

pg8000 rewrites every statement's ``%s`` placeholders into ``$n`` by scanning
the SQL text character by character on every execute — about 0.3 ms per
statement, measured as the largest pure-Python cost on the step and webhook
paths. For the positional styles the result depends only on the SQL text, so
it is computed once per distinct statement (SQLAlchemy's statement cache keeps
that set small and bounded); the other styles go through unchanged.

pg8000 (1.31) runs each statement of the extended protocol in three round trips
to the server (Parse + Sync, Describe + Sync, Bind + Execute + Sync), each a
socket send and a wait, and ``BEGIN``/``COMMIT`` the same way: on the loopback
interface the sends and wake-ups were most of a request's CPU. Nothing the client
sends depends on the first two answers (parameters are sent as text with the
types the client chose), so :func:`execute_unnamed` sends the five messages at
once with one Sync: one round trip. The server answers in the same order
(ParseComplete, the parameter and row descriptions, BindComplete, the rows,
CommandComplete, ReadyForQuery); an error anywhere makes it skip to the Sync
and answer ErrorResponse then ReadyForQuery, which pg8000 raises as before.
"""

from __future__ import annotations

import threading
from typing import Any

import pg8000.core
import pg8000.dbapi
import pg8000.legacy
from pg8000.converters import make_params

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


def execute_unnamed(self: Any, statement: str, vals: Any = (), oids: Any = (), stream: Any = None) -> Any:
    """``CoreConnection.execute_unnamed`` in one round trip (Parse, Describe, Bind, Execute, Sync)."""
    context = pg8000.core.Context(statement, stream=stream)
    self.send_PARSE(pg8000.core.NULL_BYTE, statement, oids)
    self.send_DESCRIBE_STATEMENT(pg8000.core.NULL_BYTE)
    self.send_BIND(pg8000.core.NULL_BYTE, make_params(self.py_types, vals))
    self.send_EXECUTE()
    try:
        pg8000.core._write(self._sock, pg8000.core.SYNC_MSG)
        pg8000.core._flush(self._sock)
    except AttributeError:
        if self._sock is None:
            raise pg8000.core.InterfaceError("connection is closed") from None
        raise
    self.handle_messages(context)
    return context


def install() -> None:
    """Route pg8000's cursors through the cache, and its statements through one round trip (idempotent)."""
    pg8000.legacy.convert_paramstyle = convert_paramstyle
    pg8000.dbapi.convert_paramstyle = convert_paramstyle
    pg8000.core.CoreConnection.execute_unnamed = execute_unnamed
