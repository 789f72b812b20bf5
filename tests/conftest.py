"""Shared test fixtures.

Unit tests need nothing. Integration and end-to-end tests get, once per
session, a throwaway PostgreSQL cluster and the AWS emulation (moto's server
in-process, or whatever ``AWS_ENDPOINT_URL`` points at — LocalStack in
``make test-localstack``), provisioned and migrated, with the environment the
app reads. Queue names are unique per session so runs never share messages.
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Decided before any test module imports app.py (which reads the queue name at import).
_SESSION = uuid.uuid4().hex[:8]
os.environ.setdefault("STEP_QUEUE_NAME", f"stepline-steps-{_SESSION}")
os.environ.setdefault("STEP_DLQ_NAME", f"stepline-steps-dlq-{_SESSION}")
os.environ.setdefault("KMS_KEY_ALIAS", f"alias/stepline-test-{_SESSION}")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("STAGE", "test")
os.environ.setdefault("LOG_LEVEL", "INFO")
os.environ.setdefault("PASSWORD_PROFILE", "fast")
os.environ.setdefault("OPERATOR_TOKEN", f"op_test_{_SESSION}")
# Every answer is checked against its route's declared contract (chalicelib/http/contract_check).
os.environ.setdefault("STEPLINE_CHECK_CONTRACT", "1")
# Every suite's runs share the demo tenants: limits no test reaches by accident (the limit tests lower them).
os.environ.setdefault("TRIGGERS_MAX_CONCURRENT_RUNS", "10000")
os.environ.setdefault("TRIGGERS_MAX_RUNS_PER_HOUR", "10000000")
os.environ.setdefault("LIMITS_API_BURST", "1000000")
os.environ.setdefault("LIMITS_API_PER_SECOND", "1000000")


def _reset_process_caches() -> None:
    from chalicelib import bootstrap
    from chalicelib.adapters import boto_clients
    from chalicelib.config import get_settings
    from chalicelib.db.database_engine import reset_db_engine

    get_settings.cache_clear()
    boto_clients.reset_clients()
    reset_db_engine()
    bootstrap.reset()


def _stale_settings() -> str | None:
    """Why the cached settings no longer match the environment (a test changed one and not the other), if so."""
    from chalicelib.config import get_settings

    if not get_settings.cache_info().currsize:  # nothing loaded: nothing can be stale (never load here)
        return None
    settings = get_settings()
    stage = os.environ.get("STAGE", "local")
    if settings.stage != stage:
        return f"cached stage {settings.stage!r}, environment STAGE {stage!r}"
    allow = os.environ.get("OUTBOUND_ALLOW_PRIVATE")
    cached = settings.outbound_allow_private
    if (allow is None) != (cached is None):
        return f"cached outbound_allow_private {cached!r}, environment {allow!r}"
    return None


@pytest.fixture(autouse=True)
def _process_settings_do_not_leak():
    """A test that leaves the process settings out of step with the environment (the stage, the egress
    policy) fails itself, and the cache is cleared, so the tests after it are not its victims."""
    environment = (os.environ.get("STAGE"), os.environ.get("OUTBOUND_ALLOW_PRIVATE"))
    yield
    problem = _stale_settings()
    if environment != (os.environ.get("STAGE"), os.environ.get("OUTBOUND_ALLOW_PRIVATE")):
        problem = f"environment changed from {environment}"
    if problem:
        from chalicelib.config import get_settings

        get_settings.cache_clear()
        pytest.fail(f"the test left the process settings changed: {problem}")


@pytest.fixture(scope="session")
def local_stack():
    """PostgreSQL + AWS emulation for the whole session (started lazily, torn down after)."""
    from devstack.stack import bring_up

    stack = bring_up(throwaway=True, log=lambda _msg: None)
    saved = {k: os.environ.get(k) for k in stack.env}
    stack.apply()
    _reset_process_caches()
    from chalicelib import bootstrap

    bootstrap.boot()  # as app.py does; tests that never import app.py get the same container
    yield stack
    _reset_process_caches()
    stack.stop(destroy_database=True)
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def owner_engine(local_stack):
    """An engine of the owner role (bypasses nothing: RLS is forced; used for setup/inspection)."""
    from chalicelib.db.database_engine import make_db_engine

    engine = make_db_engine(local_stack.env["MIGRATION_DATABASE_URL"], pool_size=2)
    yield engine
    engine.dispose()


@pytest.fixture
def sqs(local_stack):
    import boto3

    return boto3.session.Session().client(
        "sqs", region_name=local_stack.env["AWS_DEFAULT_REGION"], endpoint_url=local_stack.env["AWS_ENDPOINT_URL"]
    )


@pytest.fixture(scope="session")
def app_module(local_stack):
    import app as app_module

    return app_module


@pytest.fixture(scope="session")
def api(app_module):
    """The app in process through chalice.test.Client (API Gateway-shaped events)."""
    from chalice.test import Client

    from tests.support.api import TEST_STAGE, Api

    with Client(app_module.app, stage_name=TEST_STAGE) as client:
        yield Api(client)


_PLATFORM_RESETS = [0]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """Tests that reset the shared platform (new tenant ids, every issued token refused) run after all the
    others, in whatever order pytest-randomly chose for the rest: the session's cached tokens and ids hold
    until then. A stable sort, so the random order is otherwise kept."""
    items.sort(key=lambda item: item.get_closest_marker("resets_platform") is not None)


@pytest.fixture(scope="session")
def seeded(api):
    """The demo tenants (ACME, BETA), freshly reset once per session; later resets are counted."""
    from chalicelib.services import demo

    demo.reset()
    original = demo.reset

    def counted_reset():
        _PLATFORM_RESETS[0] += 1
        return original()

    demo.reset = counted_reset
    yield demo
    demo.reset = original


@pytest.fixture(autouse=True)
def _platform_resets_are_declared(request):
    """A test that resets the shared platform must say so (``@pytest.mark.resets_platform``), so that it runs
    last: otherwise every test after it, in random order, holds tokens and tenant ids that no longer exist."""
    before = _PLATFORM_RESETS[0]
    yield
    if _PLATFORM_RESETS[0] != before and request.node.get_closest_marker("resets_platform") is None:
        pytest.fail("the test reset the shared platform: mark it @pytest.mark.resets_platform")


@pytest.fixture(scope="session")
def tokens(api, seeded):
    """``tokens[("acme", "builder")]``: an access token, logged in on first use (``tokens.clear()`` after a reset)."""
    from tests.support.api import DemoTokens

    return DemoTokens(api)
