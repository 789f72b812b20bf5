"""The driver's prepared statements and held BEGIN against a real PostgreSQL: a statement is parsed once per
connection, survives DDL, is bounded, and errors leave the connection usable; a transaction's BEGIN and
``set_config`` travel with its first statement; a killed or frozen backend is noticed."""

from __future__ import annotations

import os
import signal
import time
import uuid

import pytest
from sqlalchemy import text

from chalicelib.db import pg8000_tuning
from chalicelib.db.database_engine import DbTimeouts, make_db_engine
from chalicelib.db.faults import as_unavailable
from chalicelib.db.uow import UnitOfWork


@pytest.fixture
def engine(local_stack):
    engine = make_db_engine(local_stack.env["DATABASE_URL"], pool_size=1)
    yield engine
    engine.dispose()


@pytest.fixture
def table(owner_engine):
    """A scratch table of the owner role, dropped afterwards."""
    name = f"driver_probe_{uuid.uuid4().hex[:8]}"
    with owner_engine.begin() as conn:
        conn.execute(text(f"CREATE TABLE {name} (id int PRIMARY KEY, v int NOT NULL)"))
        conn.execute(text(f"INSERT INTO {name} VALUES (1, 10), (2, 20)"))
    yield name
    with owner_engine.begin() as conn:
        conn.execute(text(f"DROP TABLE IF EXISTS {name}"))


def _dbapi(conn):
    return conn.connection.dbapi_connection


def _server_statements(conn, marker: str) -> list[tuple[str, int]]:
    """This session's protocol-level prepared statements whose text holds ``marker`` (a simple query: not
    itself prepared), with the executions counted by the server."""
    rows = conn.execute(text(
        "SELECT statement, generic_plans + custom_plans FROM pg_prepared_statements WHERE NOT from_sql"))
    return [(sql, runs) for sql, runs in rows if marker in sql]


def test_a_statement_executed_twice_is_parsed_once(engine):
    marker = f"/* once {uuid.uuid4().hex[:6]} */"
    with engine.connect() as conn:
        parses = pg8000_tuning.statistics(_dbapi(conn))["parses"]
        first = conn.execute(text(f"SELECT {marker} CAST(:n AS int) + 1"), {"n": 1}).scalar()
        second = conn.execute(text(f"SELECT {marker} CAST(:n AS int) + 1"), {"n": 41}).scalar()
        assert (first, second) == (2, 42)
        assert _server_statements(conn, marker) == [(f"SELECT {marker} CAST($1 AS int) + 1", 2)]
        assert pg8000_tuning.statistics(_dbapi(conn))["parses"] == parses + 1


def test_rows_types_and_no_rows_come_back_as_before(engine, table):
    with engine.connect() as conn:
        for _ in range(2):  # parsed, then cached
            rows = conn.execute(text(f"SELECT id, v, CAST(:s AS text) FROM {table} WHERE v >= :v ORDER BY id"),
                                {"v": 0, "s": "x"}).all()
            assert [tuple(r) for r in rows] == [(1, 10, "x"), (2, 20, "x")]
            none = conn.execute(text(f"SELECT id FROM {table} WHERE v = :v"), {"v": -1}).all()
            assert none == []
            assert conn.execute(text(f"SELECT id FROM {table} WHERE id = :i"), {"i": 2}).keys() == ["id"]
        conn.rollback()


def test_ddl_between_two_executions_still_answers_correctly(engine, owner_engine, table):
    statement = text(f"SELECT v FROM {table} WHERE id = :id")
    with owner_engine.connect() as conn:
        assert conn.execute(statement, {"id": 1}).scalar() == 10
        conn.commit()
        # another session changes the result's type (as a migration run while the stack is up would)
        with owner_engine.begin() as other:
            other.execute(text(f"ALTER TABLE {table} ALTER COLUMN v TYPE text USING v::text"))
        # the first statement of a transaction: the stale plan is dropped and the exchange sent again
        assert conn.execute(statement, {"id": 1}).scalar() == "10"
        conn.commit()
        with owner_engine.begin() as other:
            other.execute(text(f"ALTER TABLE {table} ALTER COLUMN v TYPE bigint USING v::bigint"))
        # inside a transaction that already did work it is an error (the transaction is aborted) ...
        conn.execute(text("SELECT CAST(:x AS int)"), {"x": 1})
        with pytest.raises(Exception, match="cached plan must not change result type"):
            conn.execute(statement, {"id": 2})
        conn.rollback()
        # ... and the next transaction parses it afresh
        assert conn.execute(statement, {"id": 2}).scalar() == 20
        conn.rollback()


def test_ddl_in_autocommit_is_retried(owner_engine, table):
    statement = text(f"SELECT v FROM {table} WHERE id = :id")
    with owner_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        assert conn.execute(statement, {"id": 1}).scalar() == 10
        with owner_engine.begin() as other:
            other.execute(text(f"ALTER TABLE {table} ALTER COLUMN v TYPE text USING v::text"))
        assert conn.execute(statement, {"id": 1}).scalar() == "10"


def test_the_cache_bound_holds_and_evicted_statements_are_closed(engine):
    marker = f"/* bound {uuid.uuid4().hex[:6]} */"
    with engine.connect() as conn:
        pg8000_tuning.configure(_dbapi(conn), probe_seconds=1.0, max_statements=3)
        try:
            for n in range(8):
                assert conn.execute(text(f"SELECT {marker} CAST(:n AS int) + {n}"), {"n": 1}).scalar() == 1 + n
            stats = pg8000_tuning.statistics(_dbapi(conn))
            assert stats["cached"] == 3 and stats["closing"] == 1  # evicted by the last: closed with the next
            held = _server_statements(conn, "")
            assert len(held) == 4, held
            conn.execute(text(f"SELECT {marker} CAST(:n AS int) + 7"), {"n": 1})  # cached: closes, parses none
            held = _server_statements(conn, "")
            assert len(held) == 3, held
            assert sorted(sql[-1] for sql, _ in held) == ["5", "6", "7"]
        finally:
            pg8000_tuning.configure(_dbapi(conn), probe_seconds=1.0, max_statements=pg8000_tuning.MAX_STATEMENTS)
        conn.rollback()


def test_errors_inside_a_transaction_leave_the_connection_usable(engine):
    divide = text("SELECT 100 / CAST(:d AS int)")
    with engine.connect() as conn:
        assert conn.execute(divide, {"d": 4}).scalar() == 25
        parses = pg8000_tuning.statistics(_dbapi(conn))["parses"]
        with pytest.raises(Exception, match="division by zero"):
            conn.execute(divide, {"d": 0})  # a cached statement failing in execution
        with pytest.raises(Exception, match="current transaction is aborted"):
            conn.execute(divide, {"d": 5})
        conn.rollback()
        assert conn.execute(divide, {"d": 5}).scalar() == 20
        with pytest.raises(Exception, match="syntax error"):
            conn.execute(text("SELEC CAST(:d AS int)"), {"d": 1})  # fails to parse: not cached
        conn.rollback()
        assert conn.execute(divide, {"d": 10}).scalar() == 10
        assert pg8000_tuning.statistics(_dbapi(conn))["parses"] == parses  # refused: not parsed, not cached
        conn.rollback()


def test_a_deallocated_statement_is_prepared_again(engine):
    statement = text("SELECT CAST(:n AS int) * 2")
    with engine.connect() as conn:
        assert conn.execute(statement, {"n": 2}).scalar() == 4
        conn.commit()
        conn.exec_driver_sql("DEALLOCATE ALL")  # e.g. a pooler's DISCARD ALL
        conn.commit()
        assert conn.execute(statement, {"n": 3}).scalar() == 6
        conn.commit()


class _CountedSocket:
    """pg8000's socket file, counting the flushes: one per round trip."""

    def __init__(self, sock) -> None:
        self.sock, self.flushes = sock, 0

    def __getattr__(self, name):
        return getattr(self.sock, name)

    def flush(self):
        self.flushes += 1
        return self.sock.flush()


@pytest.fixture
def round_trips(engine):
    """The flushes of the engine's one pooled connection (warmed: its statements cached)."""
    with engine.connect() as conn:
        dbapi = _dbapi(conn)
        conn.rollback()
    counted = dbapi._sock = _CountedSocket(dbapi._sock)
    yield counted
    dbapi._sock = counted.sock


def test_a_units_begin_and_set_config_travel_with_its_first_statement(engine, round_trips):
    tenant = str(uuid.uuid4())
    probe = text("SELECT current_setting('app.tenant_id', true), CAST(:n AS int)")
    with UnitOfWork(tenant_id=tenant, db_engine=engine) as warm:  # its statements get cached
        warm.execute(probe, {"n": 1})
    round_trips.flushes = 0
    with UnitOfWork(tenant_id=tenant, db_engine=engine) as uow:
        assert tuple(uow.execute(probe, {"n": 1}).one()) == (tenant, 1)
        assert round_trips.flushes == 1  # BEGIN, set_config and the statement: one round trip
        assert uow.execute(text("SELECT now() = statement_timestamp()")).scalar() is False  # one transaction
        uow.commit()
    assert round_trips.flushes == 3  # was 6: BEGIN, the checkout ping, set_config, the two statements, COMMIT


def test_a_unit_that_runs_nothing_sends_nothing(engine, round_trips):
    with UnitOfWork(tenant_id=str(uuid.uuid4()), db_engine=engine) as uow:
        uow.commit()
    with UnitOfWork(system=True, db_engine=engine):
        pass
    assert round_trips.flushes == 0
    with engine.connect() as conn:  # nothing of those units is left on the connection
        assert conn.execute(text("SELECT current_setting('app.tenant_id', true)")).scalar() in (None, "")
        conn.rollback()


def test_a_statement_never_runs_without_the_units_set_config(engine, owner_engine, table):
    with engine.connect() as conn:
        dbapi = _dbapi(conn)
        assert pg8000_tuning.defer(dbapi, "SELECT 1 / $1::int", (0,))  # a preamble that fails
        with pytest.raises(Exception, match="division by zero"):
            conn.execute(text("SELECT set_config('app.marker', CAST(:v AS text), false)"), {"v": "ran"})
        conn.rollback()
        assert conn.execute(text("SELECT current_setting('app.marker', true)")).scalar() in (None, "")
        conn.rollback()


def test_a_killed_connection_is_replaced_at_the_next_checkout(engine, local_stack):
    with engine.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid() + CAST(:z AS int)"), {"z": 0}).scalar()
        conn.rollback()
    killer = make_db_engine(local_stack.env["DATABASE_URL"], pool_size=1)
    try:
        with killer.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(CAST(:p AS int), 5000)"), {"p": pid}).scalar()
            conn.rollback()
    finally:
        killer.dispose()
    with UnitOfWork(system=True, db_engine=engine) as uow:  # the pool's one connection: replaced, no error
        assert uow.execute(text("SELECT pg_backend_pid() + CAST(:z AS int)"), {"z": 0}).scalar() != pid


def test_a_connection_idle_for_long_is_pinged(engine, monkeypatch):
    from chalicelib.db import database_engine

    with engine.connect() as conn:
        conn.execute(text("SELECT CAST(:n AS int)"), {"n": 1})
        conn.rollback()
    pinged: list[object] = []
    original = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda c: pinged.append(c) or original(c))
    with engine.connect() as conn:
        conn.rollback()
    assert pinged == []
    monkeypatch.setattr(database_engine, "IDLE_PING_SECONDS", 0.0)
    time.sleep(0.01)
    with engine.connect() as conn:
        conn.rollback()
    assert len(pinged) == 1


def test_a_frozen_backend_is_an_outage_within_the_probe_bound(local_stack):
    engine = make_db_engine(local_stack.env["DATABASE_URL"], pool_size=1,
                            timeouts=DbTimeouts(connect_seconds=2, statement_seconds=15, pool_seconds=1))
    try:
        with engine.connect() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid() + CAST(:z AS int)"), {"z": 0}).scalar()
            conn.rollback()
        os.kill(pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            with pytest.raises(Exception) as caught, UnitOfWork(system=True, db_engine=engine) as uow:
                uow.execute(text("SELECT CAST(:n AS int)"), {"n": 1})
            took = time.monotonic() - started
        finally:
            os.kill(pid, signal.SIGCONT)
        assert took < 3, took  # the statement's read timeout is 17 s
        assert as_unavailable(caught.value) is not None
        with engine.connect() as conn:  # a new connection, the frozen one dropped
            assert conn.execute(text("SELECT pg_backend_pid() + CAST(:z AS int)"), {"z": 0}).scalar() != pid
            conn.rollback()
    finally:
        engine.dispose()
