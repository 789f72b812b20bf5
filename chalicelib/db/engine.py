"""The SQLAlchemy engine, created lazily once per container and reused while warm."""

from __future__ import annotations

import ssl
import threading
from typing import Any

from sqlalchemy import Engine, create_engine

from chalicelib.config import get_settings
from chalicelib.db import pg8000_tuning

_ENGINE: Engine | None = None
_LOCK = threading.Lock()


def connect_args(*, tls: bool) -> dict[str, Any]:
    """pg8000 connection arguments: TLS verified against the system's CAs when asked (RDS Proxy's
    certificates chain to a public root, so no bundle needs shipping)."""
    return {"ssl_context": ssl.create_default_context()} if tls else {}


def make_engine(url: str, *, pool_size: int = 5, tls: bool = False) -> Engine:
    """An engine on pg8000. ``pool_pre_ping`` survives database restarts between invocations."""
    pg8000_tuning.install()
    return create_engine(
        url,
        connect_args=connect_args(tls=tls),
        pool_size=pool_size,
        max_overflow=pool_size * 2,
        pool_pre_ping=True,
        pool_recycle=300,
        future=True,
    )


def get_engine() -> Engine:
    """The process-wide engine of the application role."""
    global _ENGINE
    if _ENGINE is None:
        with _LOCK:
            if _ENGINE is None:
                settings = get_settings()
                _ENGINE = make_engine(
                    settings.database_url, pool_size=settings.db_pool_size, tls=settings.database_tls
                )
    return _ENGINE


def reset_engine() -> None:
    """Dispose of the engine (tests that switch databases, process shutdown)."""
    global _ENGINE
    with _LOCK:
        if _ENGINE is not None:
            _ENGINE.dispose()
        _ENGINE = None
