"""The database engine (SQLAlchemy's ``Engine``: the connection pool), created lazily once per container and
reused while warm.

Every wait on the database is bounded, so an outage answers 503 in seconds
instead of hanging a request (see ``faults``):

- **connect**: the TCP connect and the start-up handshake (``timeout`` of pg8000);
- **statement**: ``statement_timeout`` is set by the server for each session;
  the socket's read timeout is that plus the connect timeout, so a server that
  stopped answering (frozen, partitioned) is detected as well;
- **checkout**: waiting for a free pooled connection (``pool_timeout``);
- **liveness**: the first answer of every transaction (its ``BEGIN``, sent with
  its first statement and flushed at once, see ``pg8000_tuning``) must arrive
  within a second, so a frozen or unreachable server costs at most that before
  the request is refused;
- **dead connections**: a checkout looks at the pooled connection's socket
  without a round trip (a server that closed it, terminated its backend or
  restarted has left an error or an end-of-file there): when it is readable, or
  when the connection sat idle longer than ``IDLE_PING_SECONDS``, the
  connection is pinged as before (one-second read timeout) and replaced if the
  ping fails, so a restarted server or a killed backend is survived
  transparently. Otherwise the checkout sends nothing: the ping was a round
  trip (and a ``BEGIN``) per transaction.
"""

from __future__ import annotations

import select
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy import exc as sa_exc

from chalicelib.config import get_settings
from chalicelib.db import pg8000_tuning

_DB_ENGINE: Engine | None = None
_LOCK = threading.Lock()
PING_SECONDS = 1.0
IDLE_PING_SECONDS = 10.0


def connect_args(*, tls: bool, url: str = "") -> dict[str, Any]:
    """pg8000 connection arguments: TLS verified against the system's CAs when asked (RDS Proxy's
    certificates chain to a public root, so no bundle needs shipping).

    Without ``tls`` pg8000 offers TLS opportunistically, building a default SSL context (loading the
    system's CA store, ~1 ms of CPU) for every new connection; to a server on the loopback interface
    or a unix socket that offer is skipped.
    """
    if tls:
        return {"ssl_context": ssl.create_default_context()}
    return {"ssl_context": False} if _local(url) else {}


def _local(url: str) -> bool:
    if not url:
        return False
    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - an unparsable URL fails at connect, with its own error
        return False
    return parsed.host in ("127.0.0.1", "localhost", "::1") or "unix_sock" in parsed.query


@dataclass(frozen=True)
class DbTimeouts:
    connect_seconds: float = 2.0
    statement_seconds: float = 15.0
    pool_seconds: float = 1.5

    @property
    def read_seconds(self) -> float:
        return self.statement_seconds + self.connect_seconds

    @classmethod
    def from_settings(cls) -> DbTimeouts:
        settings = get_settings()
        return cls(settings.db_connect_timeout_seconds, settings.db_statement_timeout_seconds,
                   settings.db_pool_timeout_seconds)


def _socket(dbapi_connection: Any) -> Any:
    return getattr(dbapi_connection, "_usock", None)


def _has_news(sock: Any) -> bool:
    """Whether the server sent something to an idle connection (an error before closing it, an end-of-file):
    a look at the socket, no round trip."""
    if getattr(sock, "pending", None) is not None and sock.pending():
        return True
    try:
        poller = select.poll()
        poller.register(sock, select.POLLIN | select.POLLERR | select.POLLHUP)
        return bool(poller.poll(0))
    except (OSError, ValueError):  # closed
        return True


def make_db_engine(url: str, *, pool_size: int = 5, timeouts: DbTimeouts | None = None, tls: bool = False) -> Engine:
    """A database engine on pg8000 whose every wait on the server is bounded (see the module doc)."""
    pg8000_tuning.install()
    limits = timeouts or DbTimeouts()
    db_engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size * 2,
        pool_timeout=limits.pool_seconds,
        pool_recycle=300,
        connect_args={
            **connect_args(tls=tls, url=url),
            "timeout": limits.connect_seconds,
            "startup_params": {"statement_timeout": str(int(limits.statement_seconds * 1000))},
        },
    )

    @event.listens_for(db_engine, "do_connect")
    def _connect(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        try:
            return dialect.loaded_dbapi.connect(*cargs, **cparams)
        except OSError as exc:
            # pg8000 lets a timeout of its start-up exchange escape as a bare socket error; report it as
            # the driver reports every other network failure, so it is recognised as an outage.
            raise dialect.loaded_dbapi.InterfaceError("network error") from exc

    @event.listens_for(db_engine, "connect")
    def _read_timeout(dbapi_connection: Any, _record: Any) -> None:
        sock = _socket(dbapi_connection)
        if sock is not None:
            sock.settimeout(limits.read_seconds)
        pg8000_tuning.configure(dbapi_connection, probe_seconds=min(PING_SECONDS, limits.read_seconds))

    @event.listens_for(db_engine, "checkin")
    def _idle_since(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info["idle_since"] = time.monotonic()

    @event.listens_for(db_engine, "checkout")
    def _check(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        sock = _socket(dbapi_connection)
        idle_since = record.info.get("idle_since")  # None: just connected
        idle_long = idle_since is not None and time.monotonic() - idle_since > IDLE_PING_SECONDS
        if sock is None or idle_long or _has_news(sock):
            _ping(dbapi_connection, sock)

    @event.listens_for(db_engine, "handle_error")
    def _probe_failed(context: Any) -> None:
        # A server slow to answer one connection's BEGIN is not a reason to drop every pooled connection.
        if context.is_disconnect and pg8000_tuning.PROBE_FAILED in str(context.original_exception):
            context.invalidate_pool_on_disconnect = False

    def _ping(dbapi_connection: Any, sock: Any) -> None:
        if sock is not None:
            sock.settimeout(min(PING_SECONDS, limits.read_seconds))
        try:
            db_engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            # The pool drops this connection and opens a new one (bounded by the connect timeout).
            raise sa_exc.DisconnectionError("database ping failed") from exc
        finally:
            if sock is not None:
                sock.settimeout(limits.read_seconds)

    return db_engine


def get_db_engine() -> Engine:
    """The process-wide database engine of the application role."""
    global _DB_ENGINE
    if _DB_ENGINE is None:
        with _LOCK:
            if _DB_ENGINE is None:
                settings = get_settings()
                _DB_ENGINE = make_db_engine(settings.database_url, pool_size=settings.db_pool_size,
                                      timeouts=DbTimeouts.from_settings(), tls=settings.database_tls)
    return _DB_ENGINE


def reset_db_engine() -> None:
    """Dispose of the database engine (tests that switch databases, process shutdown)."""
    global _DB_ENGINE
    with _LOCK:
        if _DB_ENGINE is not None:
            _DB_ENGINE.dispose()
        _DB_ENGINE = None
