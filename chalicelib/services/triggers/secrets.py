"""Webhook signing secrets at rest, and the small cache that keeps verification fast.

A webhook secret must be usable for HMAC, so it cannot be hashed: it is
sealed with the platform's envelope encryption (a fresh AES-256-GCM data key
wrapped by the KMS key, or the local master key — the same choice as
connection secrets) and bound to (tenant, ``triggers``, trigger id). The API
shows it masked (``••••abcd``) and returns a generated secret exactly once.

The cipher is the container's. Decrypting costs a KMS call, so a warm container keeps the opened secrets of
a trigger for a few minutes, keyed by the trigger's ``secret_version`` (every
change bumps it, so a rotated or replaced secret is never served stale).
Whether a rotated-out secret is still valid is decided per request from the
row, never from the cache.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib import container
from chalicelib.cache import BoundedCache
from chalicelib.masking import MASK, secret_hint

TABLE = "triggers"
CACHE_SECONDS = 300.0

_cache: BoundedCache[tuple[str, int], tuple[str | None, str | None]] = BoundedCache(2048, ttl_seconds=CACHE_SECONDS)


def seal(tenant_id: str, trigger_id: str, secret: str) -> dict[str, Any]:
    cipher = container.current().cipher()
    return cipher.encrypt({"secret": secret}, tenant_id=tenant_id, table=TABLE, record_id=trigger_id)


def seal_values(tenant_id: str, trigger_id: str, values: Mapping[str, str]) -> dict[str, Any]:
    """Several secrets of one trigger in one envelope (the secret fields of a configured kind, by name)."""
    return container.current().cipher().encrypt(dict(values), tenant_id=tenant_id, table=TABLE, record_id=trigger_id)


def unseal_values(tenant_id: str, trigger_id: str, envelope: Mapping[str, Any]) -> dict[str, str]:
    opened = container.current().cipher().decrypt(envelope, tenant_id=tenant_id, table=TABLE, record_id=trigger_id)
    return {str(name): str(value) for name, value in opened.items()}


def _open(tenant_id: str, trigger_id: str, envelope: Mapping[str, Any] | None) -> str | None:
    if envelope is None:
        return None
    return unseal_values(tenant_id, trigger_id, envelope)["secret"]


def open_secrets(row: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(current, previous) plaintext secrets of a trigger row; cached per ``secret_version``."""
    key = (str(row["id"]), int(row["secret_version"]))
    hit = _cache.get(key)
    if hit is not None:
        return hit
    tenant_id, trigger_id = str(row["tenant_id"]), str(row["id"])
    opened = (_open(tenant_id, trigger_id, row["secret"]), _open(tenant_id, trigger_id, row["previous_secret"]))
    _cache.put(key, opened)
    return opened


def hint(secret: str) -> str | None:
    """What is kept to show the secret masked (``chalicelib.masking.secret_hint``)."""
    return secret_hint(secret)


def masked(hint: str | None) -> str:
    return MASK + (hint or "")
