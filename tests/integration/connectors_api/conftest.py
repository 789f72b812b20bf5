"""Fixtures of the connector API tests: the demo tenants, their workspaces, fresh connector wiring."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module", autouse=True)
def _fresh_connector_wiring(local_stack):
    """The cipher and clients are built from the stack's settings (KMS alias in the AWS emulation)."""
    from chalicelib.services.connectors import wiring

    wiring.reset()
    yield
    wiring.reset()


@pytest.fixture(scope="session")
def acme_ids(tokens):
    return tokens.ids("acme")


@pytest.fixture(scope="session")
def ws(acme_ids):
    """ACME's Operations workspace (its builder and viewer are members)."""
    return acme_ids["workspaces"]["Operations"]


@pytest.fixture(scope="session")
def builder(tokens):
    return tokens[("acme", "builder")]


@pytest.fixture(scope="session")
def viewer(tokens):
    return tokens[("acme", "viewer")]
