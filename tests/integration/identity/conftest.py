import pytest
from chalice.test import Client

from tests.support.api import Api


@pytest.fixture(scope="session")
def app_module(local_stack):
    import app as app_module

    return app_module


@pytest.fixture(scope="session")
def api(app_module):
    with Client(app_module.app) as client:
        yield Api(client)


@pytest.fixture(scope="session")
def seeded(api):
    """The demo tenants, freshly reset once for the identity suite."""
    from chalicelib.services import demo

    demo.reset()
    return demo


@pytest.fixture(scope="session")
def tokens(api, seeded):
    from tests.support.api import demo_login

    return {(tenant, role): demo_login(api, role, tenant) for tenant in ("acme", "beta")
            for role in ("owner", "admin", "builder", "viewer")}
