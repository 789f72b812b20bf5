"""Fixtures of the connector API tests: the demo tenants and their workspaces."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def acme_ids(tokens):
    return tokens.ids("acme")


@pytest.fixture(scope="session")
def ws(acme_ids):
    """ACME's Operations workspace (its builder and viewer are members)."""
    return acme_ids["workspaces"]["Operations"]


@pytest.fixture
def builder(tokens):
    """Looked up per test: the cache replaces a token near its expiry, which a long suite outlives."""
    return tokens[("acme", "builder")]


@pytest.fixture
def viewer(tokens):
    return tokens[("acme", "viewer")]
