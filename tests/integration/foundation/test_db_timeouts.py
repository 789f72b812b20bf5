"""Every wait on the database is bounded, and running out of time is an outage (503), not a 500."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from chalicelib.db.database_engine import DbTimeouts, get_db_engine, make_db_engine
from chalicelib.db.faults import as_unavailable


def test_the_application_engine_sets_the_statement_timeout(local_stack):
    with get_db_engine().connect() as conn:
        assert conn.execute(text("SHOW statement_timeout")).scalar() == "15s"


def test_a_statement_past_its_timeout_is_an_outage(local_stack):
    engine = make_db_engine(local_stack.env["DATABASE_URL"], pool_size=1,
                         timeouts=DbTimeouts(connect_seconds=2, statement_seconds=0.3, pool_seconds=1))
    try:
        started = time.monotonic()
        with pytest.raises(Exception) as caught, engine.connect() as conn:
            conn.execute(text("SELECT pg_sleep(5)"))
        assert time.monotonic() - started < 3
        assert as_unavailable(caught.value) is not None
        # the connection survives the cancelled statement
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()


def test_an_exhausted_pool_answers_within_the_checkout_timeout(local_stack):
    engine = make_db_engine(local_stack.env["DATABASE_URL"], pool_size=1,
                         timeouts=DbTimeouts(connect_seconds=2, statement_seconds=5, pool_seconds=0.3))
    held = [engine.connect() for _ in range(3)]  # pool_size 1 + overflow 2
    try:
        started = time.monotonic()
        with pytest.raises(Exception) as caught:
            engine.connect()
        assert time.monotonic() - started < 2
        assert as_unavailable(caught.value) is not None
    finally:
        for conn in held:
            conn.close()
        engine.dispose()


def test_an_unreachable_server_is_an_outage(local_stack):
    from devstack.postgres import free_port

    url = local_stack.env["DATABASE_URL"].rsplit("@", 1)[0] + f"@127.0.0.1:{free_port()}/stepline"
    engine = make_db_engine(url, pool_size=1)
    try:
        with pytest.raises(Exception) as caught, engine.connect():
            pass
        assert as_unavailable(caught.value) is not None
    finally:
        engine.dispose()
