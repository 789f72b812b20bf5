"""Which database failures mean "the database is unavailable" (503 with ``Retry-After``).

A refused or timed-out connection, a server that stopped answering (the
socket's read timeout), an exhausted pool, a statement cancelled by
``statement_timeout``, a server shutting down or out of connections: none is
the caller's fault nor a bug of ours, and each passes. They answer 503
``database_unavailable`` in the one error shape, so clients and webhook
senders retry; everything else stays a 500.
"""

from __future__ import annotations

from sqlalchemy import exc as sa_exc

from chalicelib.errors import DependencyUnavailable

RETRY_AFTER_SECONDS = 5

# SQLSTATE classes/codes of an unavailable (not a wrong) database.
_UNAVAILABLE_STATES = ("08", "57014", "57P01", "57P02", "57P03", "53300", "55P03")


class DatabaseUnavailable(DependencyUnavailable):
    """The database cannot be reached or did not answer in time."""

    status, code = 503, "database_unavailable"
    default_message = "The database is unavailable; retry shortly."

    def __init__(self, message: str | None = None, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.headers.setdefault("Retry-After", str(RETRY_AFTER_SECONDS))


def _sqlstate(error: BaseException) -> str | None:
    args = getattr(error, "args", ())
    if args and isinstance(args[0], dict):
        code = args[0].get("C")
        return str(code) if code else None
    return None


def is_unavailable(error: BaseException) -> bool:
    """Whether ``error`` (or what caused it) says the database is unavailable."""
    import pg8000.exceptions as pg_exc

    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DatabaseUnavailable | sa_exc.TimeoutError | sa_exc.DisconnectionError):
            return True
        if isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, pg_exc.InterfaceError):
            return True  # no connection, a broken one, or a server that stopped answering
        state = _sqlstate(current)
        if state and state.startswith(_UNAVAILABLE_STATES):
            return True
        if isinstance(current, sa_exc.StatementError) and current.orig is not None:
            current = current.orig
            continue
        current = current.__cause__ or current.__context__
    return False


def as_unavailable(error: BaseException) -> DatabaseUnavailable | None:
    """The 503 to answer for ``error``, or ``None`` when it is not a database outage."""
    if isinstance(error, DatabaseUnavailable):
        return error
    return DatabaseUnavailable() if is_unavailable(error) else None
