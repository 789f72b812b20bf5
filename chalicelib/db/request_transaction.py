"""One transaction per API request: the access check's, which the route's reads (and writes) join.

The HTTP layer's access check opens a transaction of the caller's tenant (the
principal's state and the path's ids in it). For a route that says so, it does
not commit there: it makes that transaction the request's (:func:`sharing`),
and a service that opens its unit of work with :func:`tenant_transaction`
works in it instead of a transaction of its own. The request then costs one
connection checkout, one ``BEGIN``, one ``set_config`` and one end instead of
two of each.

- ``before_commit`` (the rate limit's spend) runs right before the commit, so
  the spend's row lock is held for one statement and the commit, not for the
  route's work.
- A joined unit of work's :meth:`~_Joined.commit` commits the request's
  transaction (spend first); leaving its block does not end it: the request
  does (:meth:`SharedTransaction.commit` once the route has answered, or a
  rollback when it failed).
- Anything else (another tenant, the system scope, no shared transaction, one
  already ended) opens its own unit of work, as before.

A context variable holds the request's transaction: each request runs on its
own thread (the local gateway) or alone in its Lambda container.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from types import TracebackType
from typing import Any

from chalicelib.db.uow import UnitOfWork, tenant_uow


class SharedTransaction:
    """The request's transaction: ``uow``, and what must run just before it commits."""

    def __init__(self, uow: Any, before_commit: Callable[[], None] | None = None) -> None:
        self.uow = uow
        self.before_commit = before_commit
        self.done = False  # committed or rolled back
        self.before_commit_ran = False  # the spend was made (or refused): never made twice

    def commit(self) -> None:
        """``before_commit`` (which may raise: then nothing is committed), then the commit."""
        if self.done:
            return
        if self.before_commit is not None and not self.before_commit_ran:
            self.before_commit_ran = True
            self.before_commit()
        self.uow.commit()
        self.done = True

    def rollback(self) -> None:
        if not self.done:
            self.uow.rollback()
            self.done = True


_SHARED: ContextVar[SharedTransaction | None] = ContextVar("request_transaction", default=None)


@contextmanager
def sharing(uow: Any, before_commit: Callable[[], None] | None = None) -> Iterator[SharedTransaction]:
    """Inside the block, :func:`tenant_transaction` of ``uow``'s tenant joins ``uow``."""
    shared = SharedTransaction(uow, before_commit)
    token = _SHARED.set(shared)
    try:
        yield shared
    finally:
        _SHARED.reset(token)


def current_shared() -> SharedTransaction | None:
    """The request's transaction, while it is open."""
    shared = _SHARED.get()
    return shared if shared is not None and not shared.done else None


def tenant_transaction(tenant_id: str) -> AbstractContextManager[Any]:
    """A unit of work of ``tenant_id``: the request's transaction when it is open in that tenant, else a new one."""
    shared = current_shared()
    if shared is not None and shared.uow.tenant_id == tenant_id and not getattr(shared.uow, "system", False):
        return _Joined(shared)
    return tenant_uow(tenant_id)


class _Joined:
    """The request's transaction seen as a unit of work of its own (``services/unit_of_work.UnitOfWork``)."""

    def __init__(self, shared: SharedTransaction) -> None:
        self._shared = shared
        self._uow: UnitOfWork = shared.uow
        self.tenant_id = self._uow.tenant_id

    def __enter__(self) -> _Joined:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        return None  # the request ends the transaction (a failure rolls it back there)

    @property
    def connection(self) -> Any:
        return self._uow.connection

    @property
    def idempotency_keys(self) -> Any:
        return self._uow.idempotency_keys

    @property
    def sessions(self) -> Any:
        return self._uow.sessions

    @property
    def trigger_admission(self) -> Any:
        return self._uow.trigger_admission

    def execute(self, statement: Any, params: Any = None) -> Any:
        return self._uow.execute(statement, params)

    def set_tenant(self, tenant_id: str) -> None:
        raise RuntimeError("the request's transaction stays in its tenant")

    def commit(self) -> None:
        self._shared.commit()

    def rollback(self) -> None:
        self._shared.rollback()
