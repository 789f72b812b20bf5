"""Engine test fixtures: short policies, the loopback server, flows created over the API."""

from __future__ import annotations

import pytest

from tests.integration.engine.engine_harness import Loopback


@pytest.fixture(autouse=True)
def fast_engine():
    """Retries and sweeps in tens of milliseconds, so no test sleeps long."""
    from chalicelib.services.workflows import settings

    settings.configure(retry={"max_attempts": 3, "base_delay": 0.05, "max_delay": 0.2}, lease_grace_seconds=0.5,
                       redispatch_after_seconds=1.0)
    yield settings.engine_settings()
    settings.reset()


@pytest.fixture(scope="session")
def loopback():
    server = Loopback()
    yield server
    server.stop()


@pytest.fixture
def acme(api, tokens):
    """ACME's ids and the builder's token, in the Operations workspace."""
    ids = tokens.ids("acme")
    return {"tenant_id": ids["tenant_id"], "ws": ids["workspaces"]["Operations"],
            "token": tokens[("acme", "builder")], "viewer": tokens[("acme", "viewer")], "api": api}


@pytest.fixture
def make_flow(acme):
    """``make_flow(graph, **fields)`` → the created workflow (201 asserted)."""

    def create(graph, **fields):
        reply = acme["api"].post(f"/api/workspaces/{acme['ws']}/flows",
                                 {"title": fields.pop("title", "A flow"), "graph": graph, **fields},
                                 token=acme["token"])
        assert reply.status == 201, reply.body
        return reply.body

    return create


@pytest.fixture
def start(acme):
    """``start(flow_id, **body)`` → the started run (202 asserted)."""

    def run(flow_id, **body):
        reply = acme["api"].post(f"/api/workspaces/{acme['ws']}/flows/{flow_id}/runs", body, token=acme["token"])
        assert reply.status == 202, reply.body
        return reply.body

    return run


@pytest.fixture(autouse=True)
def memory_queue():
    """Doorbells land in memory: these tests drive steps themselves (the e2e tests use the real queue)."""
    from chalicelib import bootstrap
    from chalicelib.adapters.queue import InMemoryStepQueue

    fake = InMemoryStepQueue()
    with bootstrap.replaced(step_queue=fake):
        yield fake


@pytest.fixture
def drive_run(acme):
    from tests.integration.engine.engine_harness import drive

    return lambda run_id, **kw: drive(acme["tenant_id"], run_id, **kw)

