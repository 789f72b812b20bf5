"""The request's one transaction: who joins it, what its commit runs first, and what it never spans."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from chalicelib.db.request_transaction import current_shared, sharing, tenant_transaction
from chalicelib.db.uow import UnitOfWork, tenant_uow
from chalicelib.errors import RateLimited

_TITLES = text("SELECT count(*) FROM workflows WHERE title = :title")
_INSERT = text("INSERT INTO workflows (id, tenant_id, workspace_id, title) "
               "VALUES (gen_random_uuid(), CAST(:t AS uuid), CAST(:ws AS uuid), :title)")


@pytest.fixture
def acme(tokens, seeded):
    ids = tokens.ids("acme")
    return ids["tenant_id"], ids["workspaces"]["Operations"], tokens.ids("beta")["tenant_id"]


def _count(tenant_id: str, title: str) -> int:
    with tenant_uow(tenant_id) as uow:
        return int(uow.execute(_TITLES, {"title": title}).scalar())


def test_a_service_of_the_same_tenant_joins_and_its_commit_runs_the_spend_first(acme):
    tenant, ws, other = acme
    spent: list[str] = []
    # GIVEN the request's transaction of a tenant, whose commit spends first
    with tenant_uow(tenant) as uow, sharing(uow, before_commit=lambda: spent.append("spent")):
        # WHEN a service of that tenant opens its unit of work, writes and commits
        with tenant_transaction(tenant) as joined:
            assert not isinstance(joined, UnitOfWork) and joined.connection is uow.connection
            joined.execute(_INSERT, {"t": tenant, "ws": ws, "title": "joined and committed"})
            joined.commit()
        # THEN the spend ran once, before the commit, and the transaction is over: the next one is its own
        assert spent == ["spent"] and current_shared() is None
        with tenant_transaction(tenant) as fresh:
            assert isinstance(fresh, UnitOfWork) and fresh.connection is not uow.connection
        # AND another tenant never joins it
        with tenant_transaction(other) as foreign:
            assert isinstance(foreign, UnitOfWork)
    assert _count(tenant, "joined and committed") == 1


def test_a_refused_spend_commits_nothing_and_leaving_a_joined_block_ends_nothing(acme):
    tenant, ws, _ = acme

    def refuse() -> None:
        raise RateLimited("no tokens left")

    with tenant_uow(tenant) as uow, sharing(uow, before_commit=refuse) as shared:
        with tenant_transaction(tenant) as joined:
            joined.execute(_INSERT, {"t": tenant, "ws": ws, "title": "refused by the spend"})
        # leaving the block (a read that does not commit) leaves the request's transaction open
        assert current_shared() is shared
        with pytest.raises(RateLimited):
            shared.commit()
        assert shared.before_commit_ran and not shared.done
    # the unit of work was never committed: it rolled back at its end
    assert _count(tenant, "refused by the spend") == 0
