"""Which key-encryption key seals secrets at rest: the platform's one envelope cipher.

The choice, made once per container:

1. **KMS** when ``KMS_KEY_ALIAS`` resolves (``kms:DescribeKey`` through the
   shared boto3 client: AWS, LocalStack or the embedded moto server — the
   local stack provisions the alias), so data keys are wrapped by
   ``kms:Encrypt`` with the tenant/table/record as EncryptionContext;
2. otherwise ``LOCAL_MASTER_KEY`` (base64 or base64url of 32 bytes), for runs
   without any AWS emulation.

When both exist, the one not chosen still decrypts (``previous``), so records
sealed before a switch stay readable until they are re-wrapped. A KMS error
other than "no such alias" is raised, never silently turned into a fallback to
the local key.
"""

from __future__ import annotations

import base64
import binascii
import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.adapters import aws
from chalicelib.config import Settings, get_settings
from chalicelib.crypto.envelope import EnvelopeCipher
from chalicelib.crypto.key_wrapper import KeyServiceUnavailable, KeyWrapper, LocalMasterKeyWrapper
from chalicelib.crypto.kms_key_wrapper import KmsKeyWrapper
from chalicelib.errors import ConfigurationError

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
