"""``Idempotency-Key`` on authenticated POSTs (API.md).

A key belongs to one caller: it is scoped to (tenant, principal, method and
route), as a payment API scopes keys to the account and the key that sent
them. Another user — or another API token — of the same tenant sending the
same key and body makes a request of its own; it never receives the first
caller's answer.

The first request with a key claims it in one conditional write (an insert
that only one concurrent request can win, or that takes over a row whose
time is up) and its 2xx answer is stored; a repeat with the same key and the
same body gets that answer again, with a different body a 409; a repeat while
the first is still in flight also a 409. A failed first attempt releases the
key so the client can retry.

Time limits:

- an in-flight claim lasts :data:`IN_FLIGHT_SECONDS` (twice the API
  function's timeout): a function killed mid-request cannot leave its key
  answering 409 for ever — once the claim is stale, the next request with
  the key runs afresh;
- a stored answer is replayed for :data:`KEEP_SECONDS` (24 h); after that the
  key is free again, and the tick deletes the row.

Stored answers are sealed with the platform's envelope cipher, bound to
(tenant, ``idempotency_keys``, principal + route + key): answers that show a
secret once (a new API token, a webhook signing secret, session tokens) are
never at rest in plaintext, and a sealed answer pasted onto another caller's
key does not open.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from chalicelib.container import current
from chalicelib.crypto.key_wrapper import DecryptionFailed
from chalicelib.errors import BadRequest, ConfigurationError, Conflict
from chalicelib.observability import logger

MAX_KEY_LENGTH = 200
IN_FLIGHT_SECONDS = 60  # the API function times out after 30 s (.chalice/config.json)
KEEP_SECONDS = 24 * 3600
TABLE = "idempotency_keys"
_KEPT_HEADERS = ("location", "content-type")


class IdempotencyConflict(Conflict):
    """The key was used with another body, or its first request is still running."""

    code = "idempotency_conflict"


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: Any
    headers: dict[str, str]


@dataclass(frozen=True)
class Scope:
    """Whose key it is: one tenant, one principal, one method and route."""

    tenant_id: str
    principal: str  # "user:<id>" or "api:<token id>"
    route: str
    key: str

    @property
    def record_id(self) -> str:
        # what the sealed answer is bound to: moving it to another caller's key breaks it
        return json.dumps([self.principal, self.route, self.key], separators=(",", ":"))


def principal_of(principal: Any) -> str | None:
    """The scope string of an authenticated principal (None when there is no identifiable caller)."""
    kind, actor = getattr(principal, "kind", None), getattr(principal, "actor_id", None)
    return f"{kind}:{actor}" if kind and actor else None


def body_hash(raw: bytes) -> str:
    return hashlib.sha256(raw or b"").hexdigest()


def _cipher() -> Any:
    return current().cipher()


def begin(scope: Scope, raw_body: bytes, *, in_flight_seconds: int = IN_FLIGHT_SECONDS) -> StoredResponse | None:
    """Claim the key; return the stored answer of an earlier identical request, if any."""
    if not scope.key or len(scope.key) > MAX_KEY_LENGTH:
        raise BadRequest(f"Idempotency-Key must be 1–{MAX_KEY_LENGTH} characters.", code="invalid_idempotency_key")
    digest = body_hash(raw_body)
    with current().units_of_work.tenant(scope.tenant_id) as uow:
        if uow.idempotency_keys.claim(scope, digest, lease_seconds=in_flight_seconds):
            uow.commit()
            return None
        record = uow.idempotency_keys.get(scope)
    if record is None or record.body_hash != digest:
        raise IdempotencyConflict("This Idempotency-Key was used with a different request body.")
    if record.status is None:
        raise IdempotencyConflict("A request with this Idempotency-Key is still in progress.")
    return _open(scope, record.status, record.sealed_response)


def finish(scope: Scope, status: int, body: str, headers: dict[str, str]) -> None:
    """Store a 2xx answer (sealed) for :data:`KEEP_SECONDS`; release the key for anything else."""
    sealed = _seal(scope, body, headers) if 200 <= status < 300 else None
    with current().units_of_work.tenant(scope.tenant_id) as uow:
        if sealed is not None:
            uow.idempotency_keys.keep(scope, status, sealed, keep_seconds=KEEP_SECONDS)
        else:
            uow.idempotency_keys.release(scope)
        uow.commit()


def _seal(scope: Scope, body: str, headers: dict[str, str]) -> dict[str, Any] | None:
    kept = {k: v for k, v in headers.items() if k.lower() in _KEPT_HEADERS}
    try:
        answer = {"body": json.loads(body) if body else None, "headers": kept}
        return _cipher().encrypt(answer, tenant_id=scope.tenant_id, table=TABLE, record_id=scope.record_id)
    except Exception:
        # The answer was produced and is returned; it is only not kept. Releasing the key is
        # the safe side: a plaintext copy is never the fallback.
        logger.warning("idempotent answer not stored: it could not be sealed", exc_info=True)
        return None


def _open(scope: Scope, status: int, sealed: Any) -> StoredResponse:
    try:
        answer = _cipher().decrypt(sealed, tenant_id=scope.tenant_id, table=TABLE, record_id=scope.record_id)
    except (DecryptionFailed, ConfigurationError, KeyError, TypeError) as exc:
        raise IdempotencyConflict(
            "The first answer to this Idempotency-Key can no longer be replayed; use a new key."
        ) from exc
    return StoredResponse(status, answer.get("body"), dict(answer.get("headers") or {}))


def purge_expired() -> int:
    """Delete keys whose time is up (the tick); returns how many went."""
    with current().units_of_work.system() as uow:
        gone = uow.idempotency_keys.purge_expired()
        uow.commit()
    return gone


class IdempotencyKeys:
    """The ``Idempotency-Key`` store the HTTP layer is given (``http.routing.IdempotencyStore``)."""

    def scope(self, principal: Any, route: str, key: str) -> Scope | None:
        """The key's scope for this caller; ``None`` when the caller has no tenant or identity."""
        tenant_id, who = getattr(principal, "tenant_id", None), principal_of(principal)
        if tenant_id is None or who is None:
            return None
        return Scope(tenant_id=tenant_id, principal=who, route=route, key=key)

    def begin(self, scope: Scope, raw_body: bytes) -> StoredResponse | None:
        return begin(scope, raw_body)

    def finish(self, scope: Scope, status: int, body: str, headers: dict[str, str]) -> None:
        finish(scope, status, body, headers)


def purge_job() -> None:
    """The tick's job (see ``chalicelib/bootstrap.py``)."""
    gone = purge_expired()
    if gone:
        logger.info("expired idempotency keys deleted", extra={"count": gone})
