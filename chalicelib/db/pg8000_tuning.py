"""pg8000, tuned: prepared statements cached per connection, a transaction opened with its first
statement, one round trip per statement, and a cache for the SQL placeholder rewriting.

**Placeholders.** pg8000 rewrites every statement's ``%s`` placeholders into ``$n`` by scanning the SQL
text character by character on every execute (~0.3 ms). For the positional styles the result depends
only on the SQL text, so it is computed once per distinct statement (SQLAlchemy's statement cache keeps
that set small and bounded); the other styles go through unchanged.

**Prepared statements.** pg8000 sends every statement unnamed, so PostgreSQL parses, analyses and plans
each one again (~0.2–0.45 ms of server CPU per statement here; the hot ones are CTEs). Each connection
keeps here a bounded LRU (:data:`MAX_STATEMENTS`) of named server-side statements keyed by the SQL text
(and the parameter types, when pg8000 was given any): the first execution sends Parse, Describe, Bind,
Execute and Sync in one round trip, later ones only Bind, Execute and Sync. Parameters are sent as text
of unspecified type, exactly as pg8000 sends them unnamed, so the server infers the same types from the
same text. An evicted statement is closed (``Close``) at the front of the connection's next round trip.
PostgreSQL's plan cache then decides per statement between custom plans (the first five executions,
and whenever a generic plan would cost more) and a generic plan (no planning at all).

What can go wrong with a cached statement, and what is done:

- **the schema changed under it** (``cached plan must not change result type``, SQLSTATE 0A000, after
  DDL that changes a result column) or **it no longer exists** (26000, after ``DEALLOCATE``/``DISCARD``):
  the entry is dropped (every entry, for 26000) and, when nothing else of a transaction has happened yet
  (the statement opens the transaction, or runs in autocommit), the exchange is sent again once with the
  statement parsed afresh, after a ``ROLLBACK`` of the transaction it opened. Inside a transaction that
  already did work it is raised: the transaction is aborted, and its unit of work fails as it would on
  any error (a retry of it starts with a fresh parse);
- **an error in the statement** (a constraint, a failed transaction, a cancel): raised as before; a
  statement whose Parse succeeded stays cached (it was valid), one whose Parse failed is not cached;
- **statements that cannot be prepared** (several statements in one text) are sent without parameters
  by pg8000's cursors, as a simple query, which this module does not prepare; with parameters
  PostgreSQL refuses them unnamed as well;
- **a broken connection**: the cache lives and dies with the connection object.

**Opening a transaction.** pg8000's cursors send ``begin transaction`` as a round trip of its own before
the first statement of a transaction. Here that ``BEGIN`` is held and sent in front of the first statement
(with anything queued by :func:`defer`, e.g. the unit of work's ``set_config`` of the tenant) in the same
round trip, all under one Sync: an error in any of them skips the rest, so a statement never runs
outside the transaction it was meant for. A transaction that ends before any statement costs no round
trip at all (its ``COMMIT``/``ROLLBACK`` is not sent: nothing was begun).

**Timestamps.** pg8000 reads ``timestamptz``, ``timestamp`` and ``date`` values with ``strptime`` (~20 µs
each, a few percent of the step path's CPU); ``datetime.fromisoformat`` reads PostgreSQL's output format
in under a microsecond. What it does not read (``infinity``, BC dates, years past 9999) goes to pg8000's
own converter, so the results are the same.

**Liveness.** A connection configured with :func:`configure` (``probe_seconds``) adds a Flush after the
held ``BEGIN``: the server answers the ``BEGIN`` at once, and no answer within ``probe_seconds`` means a
frozen or unreachable server, reported as a network error (a disconnect) within that bound, whatever the
statement's own timeout. This replaces the pool's checkout ping (one more round trip per transaction).
"""

from __future__ import annotations

import datetime as dt
import select
import threading
from collections import OrderedDict
from typing import Any

import pg8000.converters
import pg8000.core
import pg8000.dbapi
import pg8000.legacy
from pg8000.converters import make_params
from pg8000.core import (
    CLOSE_COMPLETE,
    COMMAND_COMPLETE,
    EMPTY_QUERY_RESPONSE,
    EXECUTE_MSG,
    FLUSH_MSG,
    NO_DATA,
    PARSE_COMPLETE,
    READY_FOR_QUERY,
    ROW_DESCRIPTION,
    SYNC_MSG,
    Context,
    H_pack,
    ci_unpack,
    i_pack,
)
from pg8000.exceptions import DatabaseError, InterfaceError

_ORIGINAL = pg8000.dbapi.convert_paramstyle
_ORIGINAL_SIMPLE = pg8000.core.CoreConnection.execute_simple
_POSITIONAL = frozenset({"format", "numeric", "qmark"})
_MAX_ENTRIES = 4096
_cache: dict[tuple[str, str], str] = {}
_lock = threading.Lock()

MAX_STATEMENTS = 256
"""Prepared statements kept per connection (the step and webhook paths use ~30 distinct ones)."""
BEGIN = "begin transaction"
PROBE_FAILED = "network error: no answer from the server within the liveness deadline"
_END = frozenset({"commit", "rollback"})
_IDLE = (None, b"I")
_NULL = b"\x00"
_NO_VALUE = i_pack(-1)
_NO_FORMATS = H_pack(0)


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


class _Prepared:
    __slots__ = ("name", "columns", "input_funcs")

    def __init__(self, name: bytes, columns: Any, input_funcs: Any) -> None:
        self.name, self.columns, self.input_funcs = name, columns, input_funcs


class _State:
    """What this module keeps per connection."""

    __slots__ = ("statements", "serial", "closing", "begin", "preamble", "probe_seconds", "limit", "parses")

    def __init__(self) -> None:
        self.statements: OrderedDict[Any, _Prepared] = OrderedDict()
        self.serial = 0
        self.closing: list[bytes] = []  # names evicted, closed at the front of the next round trip
        self.begin = False  # a BEGIN is held, to go with the next statement
        self.preamble: list[tuple[str, tuple[Any, ...]]] = []  # statements to go right after that BEGIN
        self.probe_seconds: float | None = None
        self.limit = MAX_STATEMENTS
        self.parses = 0  # statements parsed by the server on this connection (for tests and diagnostics)

    def new_name(self) -> bytes:
        self.serial += 1
        return b"sl%d\x00" % self.serial


def _state(conn: Any) -> _State:
    try:
        return conn._stepline_state
    except AttributeError:
        state = conn._stepline_state = _State()
        return state


def configure(conn: Any, *, probe_seconds: float | None = None, max_statements: int | None = None) -> None:
    """Per-connection settings: the liveness deadline of a transaction's first answer, the cache's bound."""
    state = _state(conn)
    state.probe_seconds = probe_seconds
    if max_statements is not None:
        state.limit = max(0, max_statements)
        _evict(state)


def defer(conn: Any, statement: str, vals: tuple[Any, ...]) -> bool:
    """Queue ``statement`` (``$n`` placeholders) to run right after the ``BEGIN`` of the transaction the
    connection's next statement opens, in the same round trip. False (nothing queued) when the connection
    is in a transaction or in autocommit: run it yourself then."""
    if pg8000.core.CoreConnection.execute_unnamed is not execute_unnamed:
        return False
    if getattr(conn, "autocommit", False) or conn._transaction_status not in _IDLE:
        return False
    _state(conn).preamble.append((statement, tuple(vals)))
    return True


def statistics(conn: Any) -> dict[str, int]:
    """The connection's cache: statements kept, parsed so far, waiting to be closed."""
    state = _state(conn)
    return {"cached": len(state.statements), "parses": state.parses, "closing": len(state.closing)}


def _message(code: bytes, body: bytes) -> bytes:
    return code + i_pack(len(body) + 4) + body


def _unnamed_messages(statement: str) -> bytes:
    return (_message(b"P", _NULL + statement.encode("ascii") + _NULL + H_pack(0))
            + _message(b"B", _NULL + _NULL + _NO_FORMATS + H_pack(0) + _NO_FORMATS) + EXECUTE_MSG)


def _bind(name: bytes, params: tuple[Any, ...], encoding: str) -> bytes:
    parts = [_NULL, name, _NO_FORMATS, H_pack(len(params))]
    for value in params:
        if value is None:
            parts.append(_NO_VALUE)
        else:
            encoded = value.encode(encoding)
            parts.append(i_pack(len(encoded)))
            parts.append(encoded)
    parts.append(_NO_FORMATS)
    return _message(b"B", b"".join(parts))


def _parse(name: bytes, statement: str, oids: Any, encoding: str) -> bytes:
    body = [name, statement.encode(encoding), _NULL, H_pack(len(oids))]
    body.extend(i_pack(0 if oid == -1 else oid) for oid in oids)
    return _message(b"P", b"".join(body)) + _message(b"D", b"S" + name)


_BEGIN_MESSAGES = _unnamed_messages(BEGIN)


def _send(conn: Any, data: bytes | bytearray) -> None:
    sock = conn._sock
    if sock is None:
        raise InterfaceError("connection is closed")
    try:
        sock.write(data)
        sock.flush()
    except OSError as exc:
        raise InterfaceError("network error") from exc


def _read(sock: Any, size: int) -> bytes:
    """``size`` bytes (pg8000's ``_read`` without its copies: a buffered read returns them all at once)."""
    try:
        data: bytes = sock.read(size)
    except OSError as exc:
        raise InterfaceError("network error") from exc
    if len(data) == size:
        return data
    if not data:
        raise InterfaceError("network error")
    return data + pg8000.core._read(sock, size - len(data))


def _evict(state: _State) -> None:
    statements = state.statements
    while len(statements) > state.limit:
        _, entry = statements.popitem(last=False)
        state.closing.append(entry.name)


def _await_answer(conn: Any, seconds: float) -> None:
    """Wait up to ``seconds`` for the server to start answering; a silent server is a broken connection."""
    sock = conn._usock
    if getattr(sock, "pending", None) is not None and sock.pending():  # TLS: already decrypted, unread
        return
    poller = select.poll()
    poller.register(sock, select.POLLIN | select.POLLERR | select.POLLHUP)
    if not poller.poll(seconds * 1000):
        raise InterfaceError(PROBE_FAILED)


def _exchange(conn: Any, state: _State, items: list[tuple[str, Any, Any]], begin: bool) -> list[Any]:
    """One round trip: the pending closes, then ``BEGIN`` (when ``begin``), then each of ``items``
    (``(statement, vals, oids)``), prepared or cached, under one Sync. Returns their contexts; raises the
    first error (after the cache has learnt what the server now holds)."""
    encoding = conn._client_encoding
    py_types = conn.py_types
    statements = state.statements
    out = bytearray()
    for name in state.closing:
        out += _message(b"C", b"S" + name)
    plan: list[tuple[Any, bytes, bool, Any]] = []  # (key, name, new, context)
    if begin:  # unnamed: nothing a DEALLOCATE or DDL could make stale
        out += _BEGIN_MESSAGES
        if state.probe_seconds is not None:
            out += FLUSH_MSG  # the BEGIN is answered at once: the liveness probe
        plan.append((None, _NULL, False, Context(BEGIN)))
    for statement, vals, oids in items:
        key = (statement, tuple(oids)) if oids else statement
        entry = statements.get(key)
        if entry is not None:
            statements.move_to_end(key)
            name = entry.name
            context = Context(statement, columns=entry.columns, input_funcs=entry.input_funcs)
            new = False
        else:
            name = state.new_name()
            out += _parse(name, statement, oids, encoding)
            context = Context(statement)
            new = True
        out += _bind(name, make_params(py_types, vals), encoding)
        out += EXECUTE_MSG
        plan.append((key, name, new, context))
    out += SYNC_MSG
    _send(conn, out)

    parsed: set[int] = set()
    described: set[int] = set()
    closed = 0
    sock = conn._sock
    handlers = conn.message_types
    read = _read
    index, last = 0, len(plan) - 1
    context = plan[0][3]
    code = None
    try:
        if begin and state.probe_seconds is not None:
            _await_answer(conn, state.probe_seconds)
        while code != READY_FOR_QUERY:
            code, length = ci_unpack(read(sock, 5))
            handlers[code](read(sock, length - 4), context)
            if code == COMMAND_COMPLETE or code == EMPTY_QUERY_RESPONSE:
                if index < last:
                    index += 1
                    context = plan[index][3]
            elif code == PARSE_COMPLETE:
                parsed.add(index)
            elif code == ROW_DESCRIPTION or code == NO_DATA:
                described.add(index)
            elif code == CLOSE_COMPLETE:
                closed += 1
    finally:
        del state.closing[:closed]
        for position, (key, name, new, ctx) in enumerate(plan):
            if not new or position not in parsed:
                continue
            state.parses += 1
            if position not in described or key in statements:
                state.closing.append(name)  # exists on the server, not worth keeping
                continue
            statements[key] = _Prepared(name, ctx.columns, ctx.input_funcs)
        _evict(state)

    for key, _name, new, ctx in plan:
        if ctx.error is not None:
            if not new and _stale(ctx.error):
                _forget(state, key, ctx.error)
            raise ctx.error
    return [ctx for _, _, _, ctx in plan]


def _stale(error: Exception) -> bool:
    fields = error.args[0] if error.args and isinstance(error.args[0], dict) else {}
    code = fields.get("C")
    return code == "26000" or (code == "0A000" and "cached plan" in fields.get("M", ""))


def _forget(state: _State, key: Any, error: Exception) -> None:
    if error.args[0].get("C") == "26000":  # deallocated behind our back: nothing we hold can be trusted
        state.statements.clear()
        return
    entry = state.statements.pop(key, None)
    if entry is not None:
        state.closing.append(entry.name)


def _run(conn: Any, statement: str, vals: Any, oids: Any) -> Any:
    """``statement`` with its preamble and held ``BEGIN``, retried once if a cached statement was stale
    and nothing of the transaction had happened before it."""
    state = _state(conn)
    begin, preamble = state.begin, state.preamble
    state.begin, state.preamble = False, []
    restartable = begin or (conn.autocommit and conn._transaction_status in _IDLE)
    items = [(sql, values, ()) for sql, values in preamble]
    items.append((statement, vals, oids))
    try:
        return _exchange(conn, state, items, begin)[-1]
    except DatabaseError as exc:
        if not (restartable and _stale(exc)):
            raise
    if conn._transaction_status not in _IDLE:
        _ORIGINAL_SIMPLE(conn, "rollback")
    return _exchange(conn, state, items, begin)[-1]


def execute_unnamed(self: Any, statement: str, vals: Any = (), oids: Any = (), stream: Any = None) -> Any:
    """``CoreConnection.execute_unnamed``, the path of every statement with parameters and of pg8000's
    ``commit``/``rollback``: a cached prepared statement, in one round trip with the held ``BEGIN``."""
    state = _state(self)
    if not vals and stream is None:
        if statement in _END:
            state.begin = False
            state.preamble = []
            if self._transaction_status in _IDLE:
                return Context(statement)  # nothing was begun: nothing to end
            return _ORIGINAL_SIMPLE(self, statement)  # one message, never stale
        if statement == BEGIN and self._transaction_status in _IDLE:
            state.begin = True
            return Context(statement)
    if stream is not None:
        _open(self, state)
        return _unnamed(self, statement, vals, oids, stream)
    return _run(self, statement, vals, oids)


def execute_simple(self: Any, statement: str) -> Any:
    """``CoreConnection.execute_simple`` (statements without parameters): the cursors' ``begin transaction``
    is held for the next statement; a simple query (which may hold several statements) is not prepared."""
    state = _state(self)
    if statement == BEGIN and self._transaction_status in _IDLE:
        state.begin = True
        return Context(statement)
    _open(self, state)
    return _ORIGINAL_SIMPLE(self, statement)


def _open(conn: Any, state: _State) -> None:
    """Send the held ``BEGIN`` and preamble on their own (before a simple query or a COPY)."""
    if not state.begin and not state.preamble:
        return
    begin, preamble = state.begin, state.preamble
    state.begin, state.preamble = False, []
    _exchange(conn, state, [(sql, values, ()) for sql, values in preamble], begin)


def _forget_held(rollback: Any) -> Any:
    def wrapped(self: Any) -> Any:
        state = _state(self)
        state.begin = False
        state.preamble = []
        return rollback(self)

    wrapped.__wrapped__ = rollback  # type: ignore[attr-defined]
    return wrapped


def _unnamed(self: Any, statement: str, vals: Any = (), oids: Any = (), stream: Any = None) -> Any:
    """An unnamed statement in one round trip (Parse, Describe, Bind, Execute, Sync): COPY's path."""
    context = Context(statement, stream=stream)
    self.send_PARSE(pg8000.core.NULL_BYTE, statement, oids)
    self.send_DESCRIBE_STATEMENT(pg8000.core.NULL_BYTE)
    self.send_BIND(pg8000.core.NULL_BYTE, make_params(self.py_types, vals))
    self.send_EXECUTE()
    try:
        pg8000.core._write(self._sock, SYNC_MSG)
        pg8000.core._flush(self._sock)
    except AttributeError:
        if self._sock is None:
            raise InterfaceError("connection is closed") from None
        raise
    self.handle_messages(context)
    return context


def _iso(fast: Any, original: Any) -> Any:
    def convert(data: str) -> Any:
        try:
            return fast(data)
        except ValueError:
            return original(data)

    convert.__wrapped__ = original  # type: ignore[attr-defined]
    return convert


_ISO_CONVERTERS = {
    pg8000.converters.TIMESTAMPTZ: (dt.datetime.fromisoformat, pg8000.converters.timestamptz_in),
    pg8000.converters.TIMESTAMP: (dt.datetime.fromisoformat, pg8000.converters.timestamp_in),
    pg8000.converters.DATE: (dt.date.fromisoformat, pg8000.converters.date_in),
}


def install() -> None:
    """Route pg8000's cursors through the placeholder cache, and its statements through the prepared
    statement cache and the held ``BEGIN`` (idempotent)."""
    pg8000.legacy.convert_paramstyle = convert_paramstyle
    pg8000.dbapi.convert_paramstyle = convert_paramstyle
    core = pg8000.core.CoreConnection
    if core.execute_unnamed is execute_unnamed:
        return
    for oid, (fast, original) in _ISO_CONVERTERS.items():  # the table every new connection copies
        pg8000.converters.PG_TYPES[oid] = _iso(fast, original)
    core.execute_unnamed = execute_unnamed
    core.execute_simple = execute_simple
    for cls in (pg8000.legacy.Connection, pg8000.dbapi.Connection):
        cls.rollback = _forget_held(cls.rollback)
