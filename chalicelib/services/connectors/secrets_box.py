"""Connection secrets at rest, and the rotation of every sealed record to the current key.

Which key-encryption key seals them is chosen once per container by
:func:`chalicelib.crypto.kek.build_cipher`. Records sealed before a switch of
keys stay readable until :func:`rewrap_all` moves them (connections and
webhook signing secrets; the local stack runs it at start-up).

Every envelope is bound to (tenant, ``connections``, connection id): pasted
into another row or tenant it does not decrypt.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select, update

from chalicelib import container
from chalicelib.crypto.envelope import EnvelopeCipher
from chalicelib.crypto.key_wrapper import (
    DecryptionFailed,
)
from chalicelib.db.uow import system_uow
from chalicelib.errors import ConfigurationError
from chalicelib.services.triggers import secrets as trigger_secrets
from chalicelib.tables.connectors import connections
from chalicelib.tables.triggers import triggers

TABLE = "connections"
logger = logging.getLogger(__name__)

def seal(tenant_id: str, connection_id: str, secrets: Mapping[str, Any]) -> dict[str, Any]:
    """Encrypt a connection's secrets with a fresh data key."""
    return container.current().cipher().encrypt(secrets, tenant_id=tenant_id, table=TABLE, record_id=connection_id)


def unseal(tenant_id: str, connection_id: str, envelope: Mapping[str, Any] | None) -> dict[str, Any]:
    """A connection's secrets (``{}`` when none were stored); ``DecryptionFailed`` if moved or altered."""
    if envelope is None:
        return {}
    return container.current().cipher().decrypt(envelope, tenant_id=tenant_id, table=TABLE, record_id=connection_id)


@dataclass(frozen=True)
class RewrapReport:
    """How many sealed connections were looked at, moved to the current KEK, or could not be unwrapped."""

    checked: int
    rewrapped: int
    failed: tuple[str, ...] = ()


def rewrap_connections(cipher: EnvelopeCipher | None = None, *, batch_size: int = 200) -> RewrapReport:
    """Operator task after a KEK rotation: re-wrap every connection's data key under the current KEK."""
    return rewrap_rows(connections, ("secrets_envelope",), TABLE, cipher, batch_size=batch_size)


def rewrap_triggers(cipher: EnvelopeCipher | None = None, *, batch_size: int = 200) -> RewrapReport:
    """The same for webhook signing secrets (the current and the rotated-out one)."""
    return rewrap_rows(triggers, ("secret", "previous_secret"), trigger_secrets.TABLE, cipher,
                       batch_size=batch_size)


def rewrap_all(cipher: EnvelopeCipher | None = None) -> dict[str, RewrapReport]:
    """Every sealed record of the platform moved to the current KEK (run after switching keys)."""
    return {"connections": rewrap_connections(cipher), "triggers": rewrap_triggers(cipher)}


def rewrap_rows(table: Any, columns: tuple[str, ...], aad_table: str, cipher: EnvelopeCipher | None = None,
                *, batch_size: int = 200) -> RewrapReport:
    """Re-wrap the data keys of the envelopes in ``columns`` of ``table`` under the current KEK.

    Only ``kek``/``kv``/``dek`` change; ``nonce`` and ``ct`` are copied, so no
    secret is ever decrypted. Runs in the system scope (all tenants), one
    transaction per batch, and is safe to repeat (moved records are skipped).
    A record whose data key does not unwrap (tampered, moved from another row,
    or sealed by a key no longer configured) is left as it is and listed in
    ``failed``: one bad row never stops a rotation.
    """
    cipher = cipher or container.current().cipher()
    checked = rewrapped = 0
    failed: list[str] = []
    after: str | None = None
    cols = [table.c[name] for name in columns]
    while True:
        query = (
            select(table.c.id, table.c.tenant_id, *cols)
            .where(or_(*[c.is_not(None) for c in cols]))
            .order_by(table.c.id)
            .limit(batch_size)
            .with_for_update()
        )
        if after is not None:
            query = query.where(table.c.id > after)
        with system_uow() as uow:
            rows = uow.execute(query).mappings().all()
            for row in rows:
                checked += 1
                changes: dict[str, Any] = {}
                for name in columns:
                    envelope = row[name]
                    if envelope is None or not cipher.needs_rewrap(envelope):
                        continue
                    try:
                        changes[name] = cipher.rewrap(
                            envelope, tenant_id=str(row["tenant_id"]), table=aad_table, record_id=str(row["id"])
                        )
                    except (DecryptionFailed, ConfigurationError):
                        failed.append(str(row["id"]))
                        logger.warning("sealed secret could not be re-wrapped",
                                       extra={"table": aad_table, "record_id": str(row["id"])})
                        changes = {}
                        break
                if changes:
                    uow.execute(update(table).where(table.c.id == row["id"]).values(**changes))
                    rewrapped += 1
            uow.commit()
        if len(rows) < batch_size:
            return RewrapReport(checked, rewrapped, tuple(failed))
        after = rows[-1]["id"]
