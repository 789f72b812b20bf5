"""Which failures are a database outage (503 ``database_unavailable`` with ``Retry-After``) and which are not."""

from __future__ import annotations

import pg8000.dbapi
import pytest
from sqlalchemy import exc as sa_exc

from chalicelib.db.faults import DatabaseUnavailable, as_unavailable, is_unavailable


def _wrapped(orig: Exception, cls=sa_exc.OperationalError, invalidated: bool = False) -> Exception:
    return cls("SELECT 1", {}, orig, connection_invalidated=invalidated)


def _raised_from(cause: Exception) -> Exception:
    try:
        try:
            raise cause
        except Exception as inner:
            raise RuntimeError("while handling") from inner
    except RuntimeError as outer:
        return outer


@pytest.mark.parametrize("error", [
    sa_exc.TimeoutError("QueuePool limit reached, connection timed out"),
    sa_exc.DisconnectionError("ping failed"),
    _wrapped(pg8000.dbapi.InterfaceError("network error"), sa_exc.InterfaceError),
    _wrapped(pg8000.dbapi.InterfaceError("Can't create a connection to host 127.0.0.1 and port 1")),
    _wrapped(pg8000.dbapi.DatabaseError({"C": "57014", "M": "canceling statement due to statement timeout"})),
    _wrapped(pg8000.dbapi.DatabaseError({"C": "57P01", "M": "terminating connection due to administrator command"})),
    _wrapped(pg8000.dbapi.DatabaseError({"C": "53300", "M": "too many connections"})),
    _wrapped(pg8000.dbapi.DatabaseError({"C": "08006", "M": "connection failure"})),
    _wrapped(pg8000.dbapi.DatabaseError({"C": "XX000", "M": "x"}), invalidated=True),
    _raised_from(_wrapped(pg8000.dbapi.InterfaceError("network error"))),
    DatabaseUnavailable(),
], ids=lambda e: type(e).__name__)
def test_an_outage_is_recognised(error):
    assert is_unavailable(error)
    mapped = as_unavailable(error)
    assert mapped is not None and mapped.status == 503 and mapped.code == "database_unavailable"
    assert int(mapped.headers["Retry-After"]) > 0
    assert mapped.to_body("req-1") == {"error": {"code": "database_unavailable", "message": mapped.message,
                                                 "request_id": "req-1"}}


@pytest.mark.parametrize("error", [
    _wrapped(pg8000.dbapi.DatabaseError({"C": "23505", "M": "duplicate key"}), sa_exc.IntegrityError),
    _wrapped(pg8000.dbapi.DatabaseError({"C": "42P01", "M": "relation does not exist"}), sa_exc.ProgrammingError),
    ValueError("a bug of ours"),
    TimeoutError("an outbound HTTP call, not the database"),
    ConnectionRefusedError("a remote API"),
], ids=lambda e: type(e).__name__)
def test_everything_else_stays_a_fault(error):
    assert not is_unavailable(error)
    assert as_unavailable(error) is None
