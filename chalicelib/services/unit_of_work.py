"""The unit-of-work port: what the service layer needs from a transaction.

A service opens one through the container (``current().units_of_work.tenant(id)``
or ``.system()``), works inside it and calls :meth:`UnitOfWork.commit`; leaving
the block without committing rolls everything back. The PostgreSQL adapter is
:class:`chalicelib.db.uow.UnitOfWork`; ``tests/fakes/unit_of_work.py`` is the
in-memory fake the service unit tests run against.

Two ways in, as the code stands:

- **Repositories** (``uow.idempotency_keys``, ``uow.sessions``, ``uow.trigger_admission``): the rules a service owns are
  written against these small ports, so a fake can stand in for the database.
  Their records and scopes are plain values (``chalicelib/db/idempotency_keys.py``, ``db/sessions.py``,
  ``db/trigger_admission.py``).
- **Statements** (``uow.execute``): most services still speak SQLAlchemy Core to
  the adapter directly; those run against PostgreSQL only.
"""

from __future__ import annotations

import datetime as dt
from types import TracebackType
from typing import Any, Protocol, Self

from sqlalchemy import Connection

from chalicelib.db.idempotency_keys import IdempotencyRecord, KeyScope
from chalicelib.db.sessions import SessionRecord
from chalicelib.db.trigger_admission import PendingCounts
from chalicelib.triggers.ratelimit import BucketState


class IdempotencyKeyRepository(Protocol):
    """The stored Idempotency-Keys of the transaction's tenant."""

    def claim(self, scope: KeyScope, body_hash: str, *, lease_seconds: int) -> bool:
        """Claim the key for ``lease_seconds`` in one conditional write: a new key is taken, and so is
        one whose time is up (a stale claim, an answer past keeping); ``False`` when a live record holds it."""
        ...

    def get(self, scope: KeyScope) -> IdempotencyRecord | None: ...

    def keep(self, scope: KeyScope, status: int, sealed_response: Any, *, keep_seconds: int) -> None:
        """Store the answer and keep it for ``keep_seconds``."""
        ...

    def release(self, scope: KeyScope) -> None:
        """Forget the key (the request failed: the client may retry with it)."""
        ...

    def purge_expired(self) -> int:
        """Delete every record whose time is up; how many went."""
        ...


class SessionRepository(Protocol):
    """Refresh-token sessions, and the facts that end them from outside."""

    def by_token_for_update(self, token_hash: str) -> SessionRecord | None:
        """The session of a refresh token, locked until the transaction ends."""
        ...

    def family_of(self, *, session_id: str | None = None, token_hash: str | None = None) -> str | None: ...

    def add(self, *, id: str, tenant_id: str, user_id: str, family_id: str, token_hash: str,
            expires_at: dt.datetime, client_ip: str | None) -> None: ...

    def mark_rotated(self, session_id: str) -> None:
        """The session's token is spent; a token spent before keeps its first time."""
        ...

    def revoke_family(self, family_id: str, reason: str) -> None:
        """End every session of the family not ended yet."""
        ...

    def cutoffs(self, user_id: str, *, reset_key: str) -> tuple[dt.datetime | None, dt.datetime | None]:
        """(the user's cut-off, the platform reset's time): sessions created before either have ended."""
        ...

    def role_in(self, tenant_id: str, user_id: str) -> str | None:
        """The user's role in the tenant; ``None`` once no longer a member."""
        ...


class TriggerAdmissionRepository(Protocol):
    """Per-tenant admission records: the token bucket, runs pending, runs admitted per minute."""

    def lock_bucket(self, tenant_id: str, capacity: float, now: dt.datetime) -> BucketState:
        """The tenant's bucket (created full), locked until the transaction ends: admissions of one tenant
        are serialised."""
        ...

    def lock_bucket_finding(self, tenant_id: str, capacity: float, now: dt.datetime,
                            dedupe: tuple[str, str, str] | None) -> tuple[BucketState, tuple[str, str | None] | None]:
        """:meth:`lock_bucket`, and the accepted delivery (id, run id) of ``dedupe`` = (trigger id, mode,
        key) when one exists (one round trip)."""
        ...

    def store_bucket(self, tenant_id: str, state: BucketState) -> None: ...

    def pending(self, tenant_id: str, since: dt.datetime, *, bound: int | None = None,
                running: str | None = None, dedupe: tuple[str, str, str] | None = None) -> PendingCounts:
        """Runs waiting, runs being started (each counted up to ``bound``), and runs admitted in the minutes
        after ``since``; with ``running`` (a run ledger's SQL count) also the running runs, when the
        repository can read them in the same statement (else ``PendingCounts.running`` is ``None``); with
        ``dedupe`` (trigger id, mode, key) the accepted delivery of that key, when the repository keeps them."""
        ...

    def count_admitted(self, tenant_id: str, minute: dt.datetime) -> None:
        """One more run admitted in ``minute``."""
        ...

    def tenants_pending(self) -> list[str]:
        """Tenants with runs waiting or being started (system scope)."""
        ...


class UnitOfWork(Protocol):
    """One transaction in one tenant's scope (or the system's), rolled back unless committed."""

    tenant_id: str | None

    @property
    def connection(self) -> Connection: ...

    @property
    def idempotency_keys(self) -> IdempotencyKeyRepository: ...

    @property
    def sessions(self) -> SessionRepository: ...

    @property
    def trigger_admission(self) -> TriggerAdmissionRepository: ...

    def execute(self, statement: Any, params: Any = None) -> Any: ...

    def set_tenant(self, tenant_id: str) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...
