"""Access policies: the one mechanism that authenticates, authorizes and scopes.

A route declares its policy, e.g.::

    @routes.route("/api/workspaces/{ws}/flows/{flow_id}", methods=("PATCH",),
                  access=Access(Role.BUILDER, ids={"flow_id": FLOWS}))

Before the view runs, the policy

1. authenticates the bearer credentials with the container's authenticator
   (``services/authentication.py``; 401 ``unauthenticated`` / ``invalid_token``),
   which hands on the transaction of the caller's tenant it checked them in;
2. checks the caller's role against the route's (403 ``forbidden``);
3. resolves every id in the path within the caller's tenant: ``{ws}`` must be
   a workspace of the tenant that the caller may see (owner and admin users
   and tokens see all; builder and viewer users only the workspaces they are
   members of, builder and viewer API tokens only the scope chosen when they
   were minted), and each declared id
   must name a row of its table in that tenant (and that workspace) — anything
   else answers 404 ``not_found``, exactly as a missing id does (one statement
   read in the statement that reads the principal's state);
4. on ``/api/*`` routes, spends a token of the caller's rate limit (429
   ``rate_limited``) and commits: the whole check is one transaction. A route
   declared with ``one_transaction=True`` goes on in that transaction
   (``db/request_transaction.py``): its services join it, and the spend and
   the commit come once it has answered (a refused spend rolls its work back
   and answers 429; a route that fails rolls back and spends in a transaction
   of its own, as a request let through always spends).

Row-level security in PostgreSQL backs this up: every query runs with the
tenant set on its transaction.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, bindparam, exists

from chalicelib.config import get_settings
from chalicelib.container import current
from chalicelib.db import request_transaction
from chalicelib.errors import Forbidden, NotFound, Unauthenticated
from chalicelib.identity.principal import Principal
from chalicelib.identity.roles import Role
from chalicelib.ids import is_uuid
from chalicelib.tables.identity import workspaces

WORKSPACE_PARAM = "ws"


@dataclass(frozen=True)
class Ref:
    """A path id that names a row of ``table``; ``in_workspace``: the row must belong to ``{ws}``."""

    table: Table
    in_workspace: bool = True
    column: str = "id"


@dataclass(frozen=True)
class Checks:
    """Boolean expressions to read with the principal's state (built once per route) and their parameters."""

    expressions: tuple[Any, ...]
    params: dict[str, str]

    def __len__(self) -> int:
        return len(self.expressions)


@dataclass(frozen=True)
class Access:
    """Authenticated access with at least ``role``; ``ids`` maps path params to the rows they name."""

    role: Role
    ids: dict[str, Ref] = field(default_factory=dict)
    # The checks of each set of path params seen, built once (their ids are bound parameters).
    _built: dict[tuple[str, ...], tuple[Any, ...]] = field(default_factory=dict, compare=False, repr=False)

    @property
    def name(self) -> str:
        return self.role.value

    def authorize(self, call: Any) -> Principal:
        # One transaction of the caller's tenant for the whole check: the principal's state and the ids of the
        # path in one statement, then the rate limit's spend (committed only when the call is let through).
        # A route that shares it (``call.scope`` given) goes on in it: the spend and the commit come when the
        # route has answered (``request_transaction``).
        ws, checks = self._checks(call.params)
        authenticated = current().authenticator(call.headers.get("authorization"), checks=checks)
        scope = getattr(call, "scope", None)
        if scope is None:
            with authenticated as (principal, uow, found):
                self._admit(principal, ws, found)
                if getattr(call, "rate_limited", False):
                    call.rate_limit_headers = current().api_rate_limit(principal, uow)
                uow.commit()
            return principal
        principal, uow, found = scope.enter_context(authenticated)  # the scope's end rolls back what is left
        self._admit(principal, ws, found)
        spend = None
        if getattr(call, "rate_limited", False):
            def spend() -> None:
                call.rate_limit_headers = current().api_rate_limit(principal, uow)
        call.transaction = scope.enter_context(request_transaction.sharing(uow, before_commit=spend))
        return principal

    def _checks(self, params: dict[str, str]) -> tuple[str | None, Any]:
        """``EXISTS`` of every id of the path in the caller's tenant (row-level security) and workspace: read
        with the principal's state, in its statement. A malformed id answers 404 before any statement."""
        ws = params.get(WORKSPACE_PARAM)
        names = tuple(([WORKSPACE_PARAM] if ws is not None else []) + [n for n in self.ids if n in params])
        for name in names:
            if not is_uuid(params[name]):
                raise NotFound()
        if not names:
            return ws, ()
        checks = self._built.get(names)
        if checks is None:
            checks = self._built.setdefault(names, self._build(names))
        return ws, Checks(checks, {f"path_{name}": params[name] for name in names})

    def _build(self, names: tuple[str, ...]) -> tuple[Any, ...]:
        built = []
        for name in names:
            if name == WORKSPACE_PARAM:
                built.append(exists().where(workspaces.c.id == bindparam("path_ws")))
                continue
            ref = self.ids[name]
            query = exists().where(ref.table.c[ref.column] == bindparam(f"path_{name}"))
            if ref.in_workspace and WORKSPACE_PARAM in names and "workspace_id" in ref.table.c:
                query = query.where(ref.table.c.workspace_id == bindparam("path_ws"))
            built.append(query)
        return tuple(built)

    def _admit(self, principal: Principal, ws: str | None, found: tuple[bool, ...]) -> None:
        """403 below the route's role; 404 for a workspace the caller may not see or any id not found."""
        if not principal.role >= self.role:
            raise Forbidden(f"This operation needs the {self.role.value} role or higher.")
        if ws is not None and not (principal.sees_all_workspaces or ws in principal.workspace_ids):
            raise NotFound("No such workspace.")
        if ws is not None and not found[0]:
            raise NotFound("No such workspace.")
        if not all(found):
            raise NotFound()


VIEWER = Access(Role.VIEWER)
BUILDER = Access(Role.BUILDER)
ADMIN = Access(Role.ADMIN)
OWNER = Access(Role.OWNER)


@dataclass(frozen=True)
class OperatorAccess:
    """Platform operators only: a separate credential (``OPERATOR_TOKEN``), never a tenant's token."""

    name: str = "operator"

    def authorize(self, call: Any) -> None:
        expected = get_settings().operator_token
        given = call.headers.get("x-operator-token") or ""
        if not expected or not given or not hmac.compare_digest(given.encode(), expected.encode()):
            raise Unauthenticated("Operator credentials required.", code="operator_unauthenticated")
        return None


OPERATOR = OperatorAccess()
