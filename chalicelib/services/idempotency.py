"""``Idempotency-Key`` on authenticated POSTs (API.md).

The first request with a key claims it (an insert that only one concurrent
request can win) and its 2xx answer is stored; a repeat with the same key and
the same body gets that answer again, with a different body a 409; a repeat
while the first is still in flight also a 409. A failed first attempt releases
the key so the client can retry. Keys are per tenant and route.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert

from chalicelib.db.uow import tenant_uow
from chalicelib.errors import BadRequest, Conflict
from chalicelib.tables.platform import idempotency_keys

MAX_KEY_LENGTH = 200


class IdempotencyConflict(Conflict):
    """The key was used with another body, or its first request is still running."""

    code = "idempotency_conflict"


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: Any
    headers: dict[str, str]


def body_hash(raw: bytes) -> str:
    return hashlib.sha256(raw or b"").hexdigest()


def begin(tenant_id: str, key: str, route: str, raw_body: bytes) -> StoredResponse | None:
    """Claim ``key``; return the stored answer of an earlier identical request, if any."""
    if not key or len(key) > MAX_KEY_LENGTH:
        raise BadRequest(f"Idempotency-Key must be 1–{MAX_KEY_LENGTH} characters.", code="invalid_idempotency_key")
    digest = body_hash(raw_body)
    with tenant_uow(tenant_id) as uow:
        claimed = uow.execute(insert(idempotency_keys).values(
            tenant_id=tenant_id, key=key, route=route, body_hash=digest).on_conflict_do_nothing()
            .returning(idempotency_keys.c.key)).first()
        if claimed is not None:
            uow.commit()
            return None
        row = uow.execute(select(idempotency_keys).where(
            idempotency_keys.c.tenant_id == tenant_id, idempotency_keys.c.key == key,
            idempotency_keys.c.route == route)).mappings().first()
    if row is None or row["body_hash"] != digest:
        raise IdempotencyConflict("This Idempotency-Key was used with a different request body.")
    if row["status"] is None:
        raise IdempotencyConflict("A request with this Idempotency-Key is still in progress.")
    return StoredResponse(row["status"], row["response"], row["headers"] or {})


def finish(tenant_id: str, key: str, route: str, status: int, body: str, headers: dict[str, str]) -> None:
    """Store a 2xx answer; release the key for anything else."""
    with tenant_uow(tenant_id) as uow:
        where = (idempotency_keys.c.tenant_id == tenant_id, idempotency_keys.c.key == key,
                 idempotency_keys.c.route == route)
        if 200 <= status < 300:
            parsed = json.loads(body) if body else None
            kept = {k: v for k, v in headers.items() if k.lower() in ("location", "content-type")}
            uow.execute(update(idempotency_keys).where(*where).values(status=status, response=parsed, headers=kept))
        else:
            uow.execute(delete(idempotency_keys).where(*where))
        uow.commit()
