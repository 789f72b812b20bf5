"""End-to-end engine fixtures: the local runtime serving HTTP with its SQS pollers, and a loopback server."""

from __future__ import annotations

import pytest

from tests.integration.engine.engine_harness import Loopback


@pytest.fixture(scope="module")
def runtime(local_stack):
    from devstack.postgres import free_port
    from devstack.runtime import LocalRuntime

    started = LocalRuntime(endpoint_url=local_stack.env["AWS_ENDPOINT_URL"],
                           region=local_stack.env["AWS_DEFAULT_REGION"], port=free_port(), workers=2).start()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def e2e_loopback():
    server = Loopback()
    yield server
    server.stop()


@pytest.fixture
def http(runtime):
    import httpx

    with httpx.Client(base_url=runtime.gateway.url, timeout=30) as client:
        yield client
