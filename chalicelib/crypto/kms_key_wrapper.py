"""``KeyWrapper`` backed by AWS KMS (LocalStack or moto locally, AWS in deployment).

The boto3 KMS client is passed in (created once by the bootstrap and reused);
the context goes to KMS as the EncryptionContext, so it is both enforced and
recorded in CloudTrail.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.crypto.key_wrapper import DecryptionFailed, KeyServiceUnavailable, KeyWrapper
from chalicelib.errors import ConfigurationError

_REFUSALS = frozenset({"InvalidCiphertextException", "IncorrectKeyException", "InvalidKeyUsageException"})
_TRANSIENT = frozenset(
    {"ThrottlingException", "KMSInternalException", "DependencyTimeoutException", "KeyUnavailableException"}
)


class KmsKeyWrapper(KeyWrapper):
    """Wraps data keys with ``kms:Encrypt`` under ``key_id`` (an id, ARN or ``alias/…``)."""

    def __init__(self, kms_client: Any, key_id: str, *, key_version: str = "1") -> None:
        if not key_id:
            raise ConfigurationError("KmsKeyWrapper needs a key id or alias.")
        self._kms = kms_client
        self._key_id = key_id
        self.kek_id = f"kms:{key_id}"
        self.key_version = str(key_version)

    def __repr__(self) -> str:
        return f"KmsKeyWrapper(kek_id={self.kek_id!r}, key_version={self.key_version!r})"

    def wrap(self, data_key: bytes, context: Mapping[str, str]) -> bytes:
        try:
            answer = self._kms.encrypt(
                KeyId=self._key_id, Plaintext=data_key, EncryptionContext=dict(context)
            )
        except (ClientError, BotoCoreError) as exc:
            raise self._translate(exc) from exc
        return answer["CiphertextBlob"]

    def unwrap(self, wrapped: bytes, context: Mapping[str, str]) -> bytes:
        try:
            answer = self._kms.decrypt(
                CiphertextBlob=wrapped, KeyId=self._key_id, EncryptionContext=dict(context)
            )
        except (ClientError, BotoCoreError) as exc:
            raise self._translate(exc) from exc
        return answer["Plaintext"]

    @staticmethod
    def _translate(exc: Exception) -> Exception:
        code = exc.response.get("Error", {}).get("Code", "") if isinstance(exc, ClientError) else ""
        if code in _REFUSALS:
            return DecryptionFailed("KMS refused to unwrap the data key under this context.")
        if code in _TRANSIENT or isinstance(exc, BotoCoreError):
            return KeyServiceUnavailable(f"KMS is unavailable ({code or type(exc).__name__}).")
        return ConfigurationError(
            f"KMS refused the request ({code or 'unknown error'}); check the key and IAM."
        )
