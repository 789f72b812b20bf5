"""Connection secrets at rest: which key-encryption key seals them, and its rotation.

The choice, made once per container:

1. **KMS** when ``KMS_KEY_ALIAS`` resolves (``kms:DescribeKey`` through the
   shared boto3 client: AWS, LocalStack or the embedded moto server — the
   local stack provisions the alias), so data keys are wrapped by
   ``kms:Encrypt`` with the tenant/table/record as EncryptionContext;
2. otherwise ``LOCAL_MASTER_KEY`` (base64 or base64url of 32 bytes), for runs
   without any AWS emulation.

When both exist, the one not chosen still decrypts (``previous``), so records
sealed before a switch stay readable until :func:`rewrap_all` moves them
(connections and webhook signing secrets; the local stack runs it at
start-up). A KMS error other than "no such alias" is raised, never silently
turned into a fallback to the local key.

Every envelope is bound to (tenant, ``connections``, connection id): pasted
into another row or tenant it does not decrypt.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from sqlalchemy import or_, select, update

from chalicelib import container
from chalicelib.adapters import aws
from chalicelib.config import Settings, get_settings
from chalicelib.crypto.envelope import EnvelopeCipher
from chalicelib.crypto.key_wrapper import (
    DecryptionFailed,
    KeyServiceUnavailable,
    KeyWrapper,
    LocalMasterKeyWrapper,
)
from chalicelib.crypto.kms_key_wrapper import KmsKeyWrapper
from chalicelib.db.uow import system_uow
from chalicelib.errors import ConfigurationError
from chalicelib.services.triggers import secrets as trigger_secrets
from chalicelib.tables.connectors import connections
from chalicelib.tables.triggers import triggers

TABLE = "connections"
logger = logging.getLogger(__name__)

# At DEBUG, botocore logs request parameters and response bodies — for KMS that is the data key in clear
# (``Plaintext``). Those two loggers only speak from WARNING up, whatever the root level.
for _name in ("botocore.endpoint", "botocore.parsers"):
    if logging.getLogger(_name).level < logging.WARNING:
        logging.getLogger(_name).setLevel(logging.WARNING)


def local_master_key(encoded: str, key_version: str = "1") -> LocalMasterKeyWrapper:
    """The local KEK from configuration text: base64 or base64url (padding optional) of 32 bytes."""
    text = encoded.strip()
    padded = text + "=" * (-len(text) % 4)
    try:
        raw = base64.urlsafe_b64decode(padded) if ("-" in text or "_" in text) else base64.b64decode(padded)
    except (binascii.Error, ValueError) as exc:
        raise ConfigurationError("LOCAL_MASTER_KEY is not valid base64.") from exc
    if len(raw) != 32:
        raise ConfigurationError("LOCAL_MASTER_KEY must encode exactly 32 bytes.")
    return LocalMasterKeyWrapper(raw, key_version)


def kms_wrapper(kms_client: Any, alias: str) -> KmsKeyWrapper | None:
    """A KMS wrapper when ``alias`` names a key, ``None`` when it does not exist."""
    if not alias:
        return None
    try:
        kms_client.describe_key(KeyId=alias)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "NotFoundException":
            return None
        code = exc.response.get("Error", {}).get("Code")
        raise KeyServiceUnavailable(f"KMS could not describe {alias} ({code}).") from exc
    except BotoCoreError as exc:
        raise KeyServiceUnavailable(f"KMS is unreachable ({type(exc).__name__}).") from exc
    return KmsKeyWrapper(kms_client, alias)


def build_cipher(settings: Settings | None = None, kms_client: Any = None) -> EnvelopeCipher:
    """KMS when the alias resolves, else the local master key; the other one still decrypts."""
    settings = settings or get_settings()
    kms = kms_wrapper(kms_client or aws.client("kms"), settings.kms_key_alias)
    local = local_master_key(settings.local_master_key) if settings.local_master_key else None
    current: KeyWrapper | None = kms or local
    if current is None:
        raise ConfigurationError(
            f"No key-encryption key: KMS alias {settings.kms_key_alias!r} does not exist and "
            "LOCAL_MASTER_KEY is not set."
        )
    previous = [w for w in (kms, local) if w is not None and w is not current]
    return EnvelopeCipher(current, previous=previous)


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
