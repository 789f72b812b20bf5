"""Webhook signing secrets at rest, and the small cache that keeps verification fast.

A webhook secret must be usable for HMAC, so it cannot be hashed: it is
sealed with the platform's envelope encryption (a fresh AES-256-GCM data key
wrapped by the KMS key, or the local master key — the same choice as
connection secrets) and bound to (tenant, ``triggers``, trigger id). The API
shows it masked (``••••abcd``) and returns a generated secret exactly once.

Decrypting costs a KMS call, so a warm container keeps the opened secrets of
a trigger for a few minutes, keyed by the trigger's ``secret_version`` (every
change bumps it, so a rotated or replaced secret is never served stale).
Whether a rotated-out secret is still valid is decided per request from the
row, never from the cache.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from chalicelib.cache import BoundedCache
from chalicelib.crypto.envelope import EnvelopeCipher

TABLE = "triggers"
CACHE_SECONDS = 300.0

_cipher: EnvelopeCipher | None = None
_LOCK = threading.Lock()
_cache: BoundedCache[tuple[str, int], tuple[str | None, str | None]] = BoundedCache(2048, ttl_seconds=CACHE_SECONDS)


def cipher() -> EnvelopeCipher:
    """The envelope cipher, built once per container (KMS when the alias exists, else the local key)."""
    global _cipher
    if _cipher is None:
        with _LOCK:
            if _cipher is None:
                from chalicelib.crypto.kek import build_cipher

                _cipher = build_cipher()
    return _cipher


def set_cipher(value: EnvelopeCipher | None) -> None:
    """Replace the cipher (tests); ``None`` rebuilds it from the settings on next use."""
    global _cipher
    with _LOCK:
        _cipher = value
        _cache.clear()


def seal(tenant_id: str, trigger_id: str, secret: str) -> dict[str, Any]:
    return cipher().encrypt({"secret": secret}, tenant_id=tenant_id, table=TABLE, record_id=trigger_id)


def _open(tenant_id: str, trigger_id: str, envelope: Mapping[str, Any] | None) -> str | None:
    if envelope is None:
        return None
    return str(cipher().decrypt(envelope, tenant_id=tenant_id, table=TABLE, record_id=trigger_id)["secret"])


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
    """The last four characters shown masked; nothing for short secrets."""
    return secret[-4:] if len(secret) >= 16 else None


def masked(secret_hint: str | None) -> str:
    return "••••" + (secret_hint or "")
