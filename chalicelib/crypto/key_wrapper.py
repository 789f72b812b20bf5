"""The key-encryption-key port, and its local adapter.

A ``KeyWrapper`` wraps and unwraps data keys under a key-encryption key (KEK)
identified by ``kek_id`` and ``key_version``. The ``context`` (tenant, table,
record, key version) is bound to the wrapped key: AES-GCM associated data
here, the KMS EncryptionContext in ``KmsKeyWrapper``. A wrapped key moved to
another record, tenant, table or key version does not unwrap.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from abc import ABC, abstractmethod
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from chalicelib.errors import ConfigurationError, SteplineError

_NONCE_BYTES = 12


class DecryptionFailed(SteplineError):
    """A ciphertext or wrapped key does not decrypt under this context (tampered, moved or wrong key)."""

    code, default_message = "decryption_failed", "The secret could not be decrypted."


class KeyServiceUnavailable(SteplineError):
    """The key service (KMS) could not be reached or throttled us."""

    status, code, default_message = 503, "key_service_unavailable", "The key service is unavailable."
    retryable = True


def canonical_context(context: Mapping[str, str]) -> bytes:
    """Deterministic bytes for associated data (sorted keys, compact JSON)."""
    return json.dumps(dict(context), sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


class KeyWrapper(ABC):
    """Wraps data keys under one key-encryption key version."""

    kek_id: str
    key_version: str

    @abstractmethod
    def wrap(self, data_key: bytes, context: Mapping[str, str]) -> bytes:
        """Encrypt ``data_key`` bound to ``context``."""

    @abstractmethod
    def unwrap(self, wrapped: bytes, context: Mapping[str, str]) -> bytes:
        """Decrypt a wrapped key; ``DecryptionFailed`` when it does not belong to ``context``."""

    def handles(self, kek_id: str, key_version: str) -> bool:
        return self.kek_id == kek_id and self.key_version == key_version


class LocalMasterKeyWrapper(KeyWrapper):
    """A configured 32-byte master key (local runs and tests); AES-256-GCM key wrap."""

    def __init__(self, master_key: bytes, key_version: str = "1", *, kek_id: str = "local") -> None:
        if not isinstance(master_key, bytes) or len(master_key) != 32:
            raise ConfigurationError("The local master key must be exactly 32 bytes.")
        if not key_version:
            raise ConfigurationError("The local master key needs a key version.")
        self._aead = AESGCM(master_key)
        self.kek_id = kek_id
        self.key_version = str(key_version)

    @classmethod
    def from_base64(cls, encoded: str, key_version: str = "1") -> LocalMasterKeyWrapper:
        """Build from configuration text (base64 of 32 random bytes)."""
        try:
            key = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ConfigurationError("The local master key is not valid base64.") from exc
        return cls(key, key_version)

    def __repr__(self) -> str:
        return f"LocalMasterKeyWrapper(kek_id={self.kek_id!r}, key_version={self.key_version!r})"

    def wrap(self, data_key: bytes, context: Mapping[str, str]) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, data_key, canonical_context(context))

    def unwrap(self, wrapped: bytes, context: Mapping[str, str]) -> bytes:
        if len(wrapped) <= _NONCE_BYTES:
            raise DecryptionFailed("The wrapped data key is malformed.")
        try:
            return self._aead.decrypt(
                wrapped[:_NONCE_BYTES], wrapped[_NONCE_BYTES:], canonical_context(context)
            )
        except InvalidTag as exc:
            raise DecryptionFailed("The data key does not unwrap under this context.") from exc
