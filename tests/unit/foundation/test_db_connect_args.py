"""pg8000 connection arguments: verified TLS when asked; no TLS offer to a server on the loopback interface."""

from __future__ import annotations

import ssl

from chalicelib.db.database_engine import connect_args


def test_tls_is_verified_when_asked():
    context = connect_args(tls=True, url="postgresql+pg8000://u@db.example.com/x")["ssl_context"]
    assert isinstance(context, ssl.SSLContext) and context.verify_mode == ssl.CERT_REQUIRED


def test_a_loopback_or_unix_socket_server_gets_no_tls_offer():
    for url in ("postgresql+pg8000://u@127.0.0.1:5432/x", "postgresql+pg8000://u@localhost/x",
                "postgresql+pg8000://u@/x?unix_sock=/tmp/.s.PGSQL.5432"):
        assert connect_args(tls=False, url=url) == {"ssl_context": False}, url


def test_a_remote_server_without_tls_keeps_the_drivers_default():
    assert connect_args(tls=False, url="postgresql+pg8000://u@db.example.com/x") == {}
    assert connect_args(tls=False) == {}
