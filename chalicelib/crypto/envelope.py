"""Envelope encryption: a fresh AES-256-GCM data key per record, wrapped by a KEK.

Envelope (JSON-serialisable, stored as is)::

    {"v": 1, "alg": "A256GCM", "kek": "kms:alias/…" | "local", "kv": "1",
     "dek": <b64 wrapped data key>, "nonce": <b64 96-bit nonce>, "ct": <b64 ciphertext+tag>}

Binding: the ciphertext's associated data is (format version, tenant id,
table, record id); the wrapped data key is bound to (tenant id, table,
record id, KEK id, key version) — AES-GCM associated data locally, the KMS
EncryptionContext in AWS. An envelope pasted into another record, tenant or
table fails on both layers; a ``dek`` relabelled with another key version
does not unwrap. Keeping the key version out of the ciphertext's own AAD is
what lets ``rewrap`` move a record to a new KEK without touching ``ct``.

Nonces never repeat: each record gets its own random data key, and each key
encrypts exactly once with a random 96-bit nonce.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from chalicelib.crypto.key_wrapper import DecryptionFailed, KeyWrapper, canonical_context
from chalicelib.errors import ConfigurationError

ENVELOPE_VERSION = 1
ALGORITHM = "A256GCM"
_FIELDS = ("v", "alg", "kek", "kv", "dek", "nonce", "ct")


class UnknownKeyVersion(ConfigurationError):
    """No configured key-encryption key matches the envelope's ``kek``/``kv``."""

    code = "unknown_key_version"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: Any, name: str) -> bytes:
    if not isinstance(text, str):
        raise DecryptionFailed(f"The envelope's {name!r} is malformed.")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DecryptionFailed(f"The envelope's {name!r} is malformed.") from exc


def _content_aad(tenant_id: str, table: str, record_id: str) -> bytes:
    return canonical_context(
        {"v": str(ENVELOPE_VERSION), "tenant_id": tenant_id, "table": table, "record_id": record_id}
    )


def _key_context(
    wrapper_kek: str, key_version: str, tenant_id: str, table: str, record_id: str
) -> dict[str, str]:
    return {
        "tenant_id": tenant_id,
        "table": table,
        "record_id": record_id,
        "kek": wrapper_kek,
        "kv": key_version,
    }


def _require_ids(tenant_id: str, table: str, record_id: str) -> None:
    for name, value in (("tenant_id", tenant_id), ("table", table), ("record_id", record_id)):
        if not isinstance(value, str) or not value:
            raise ConfigurationError(f"Envelope encryption needs a non-empty {name}.")


class EnvelopeCipher:
    """Encrypts with the current KEK; decrypts with it or any ``previous`` one (during rotation)."""

    def __init__(self, wrapper: KeyWrapper, *, previous: Sequence[KeyWrapper] = ()) -> None:
        self._current = wrapper
        self._wrappers = [wrapper, *previous]

    @property
    def current(self) -> KeyWrapper:
        return self._current

    def encrypt(
        self, plaintext: Mapping[str, Any], *, tenant_id: str, table: str, record_id: str
    ) -> dict[str, Any]:
        """Encrypt a JSON object for one record."""
        _require_ids(tenant_id, table, record_id)
        data_key = AESGCM.generate_key(bit_length=256)
        nonce = os.urandom(12)
        payload = json.dumps(dict(plaintext), separators=(",", ":"), sort_keys=True).encode("utf-8")
        ciphertext = AESGCM(data_key).encrypt(nonce, payload, _content_aad(tenant_id, table, record_id))
        wrapper = self._current
        context = _key_context(wrapper.kek_id, wrapper.key_version, tenant_id, table, record_id)
        return {
            "v": ENVELOPE_VERSION,
            "alg": ALGORITHM,
            "kek": wrapper.kek_id,
            "kv": wrapper.key_version,
            "dek": _b64(wrapper.wrap(data_key, context)),
            "nonce": _b64(nonce),
            "ct": _b64(ciphertext),
        }

    def decrypt(
        self, envelope: Mapping[str, Any], *, tenant_id: str, table: str, record_id: str
    ) -> dict[str, Any]:
        """The plaintext object; ``DecryptionFailed`` if the envelope was altered or belongs elsewhere."""
        _require_ids(tenant_id, table, record_id)
        data_key = self._unwrap(envelope, tenant_id, table, record_id)
        nonce, ciphertext = _unb64(envelope["nonce"], "nonce"), _unb64(envelope["ct"], "ct")
        try:
            payload = AESGCM(data_key).decrypt(nonce, ciphertext, _content_aad(tenant_id, table, record_id))
        except (InvalidTag, ValueError) as exc:
            raise DecryptionFailed(
                "The ciphertext does not decrypt under this tenant, table and record."
            ) from exc
        value = json.loads(payload)
        if not isinstance(value, dict):
            raise DecryptionFailed("The decrypted payload is not an object.")
        return value

    def rewrap(
        self,
        envelope: Mapping[str, Any],
        new_wrapper: KeyWrapper | None = None,
        *,
        tenant_id: str,
        table: str,
        record_id: str,
    ) -> dict[str, Any]:
        """The same envelope with its data key re-wrapped under ``new_wrapper`` (default: the current KEK).

        ``nonce`` and ``ct`` are copied unchanged: rotation never decrypts the payload.
        The ids are needed because the wrapped key is bound to them.
        """
        _require_ids(tenant_id, table, record_id)
        target = new_wrapper or self._current
        data_key = self._unwrap(envelope, tenant_id, table, record_id)
        context = _key_context(target.kek_id, target.key_version, tenant_id, table, record_id)
        return {
            **{k: envelope[k] for k in _FIELDS},
            "kek": target.kek_id,
            "kv": target.key_version,
            "dek": _b64(target.wrap(data_key, context)),
        }

    def needs_rewrap(self, envelope: Mapping[str, Any]) -> bool:
        """Whether the envelope is wrapped by another KEK than the current one."""
        return not self._current.handles(str(envelope.get("kek")), str(envelope.get("kv")))

    def _unwrap(self, envelope: Mapping[str, Any], tenant_id: str, table: str, record_id: str) -> bytes:
        if not isinstance(envelope, Mapping) or any(k not in envelope for k in _FIELDS):
            raise DecryptionFailed("The envelope is malformed.")
        if envelope["v"] != ENVELOPE_VERSION or envelope["alg"] != ALGORITHM:
            raise DecryptionFailed("The envelope's version or algorithm is not supported.")
        kek, kv = str(envelope["kek"]), str(envelope["kv"])
        wrapper = next((w for w in self._wrappers if w.handles(kek, kv)), None)
        if wrapper is None:
            raise UnknownKeyVersion(f"No key-encryption key {kek!r} version {kv!r} is configured.")
        data_key = wrapper.unwrap(
            _unb64(envelope["dek"], "dek"), _key_context(kek, kv, tenant_id, table, record_id)
        )
        if len(data_key) != 32:
            raise DecryptionFailed("The unwrapped data key has the wrong length.")
        return data_key
