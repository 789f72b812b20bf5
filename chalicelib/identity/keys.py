"""Signing keys for access tokens, loaded from configuration, with rotation.

Configuration is a JSON list, one object per key::

    [{"kid": "2026-11", "alg": "EdDSA", "private_key": "-----BEGIN PRIVATE KEY-----…",
      "public_key": "-----BEGIN PUBLIC KEY-----…", "status": "active"},
     {"kid": "2026-05", "alg": "EdDSA", "public_key": "…", "status": "retiring",
      "retire_after": "2026-11-22T12:00:00Z"}]

- exactly one ``active`` key, with its private key: it signs every new token;
- ``retiring`` keys still verify (until ``retire_after``, when given), which
  covers tokens signed just before a rotation;
- ``retired`` keys never verify.

Each key pins its own algorithm: ``EdDSA`` (Ed25519) or ``ES256`` (P-256).
Only asymmetric algorithms are accepted, so the verification key can never be
misused as an HMAC secret. Errors never include key material.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from jwt.algorithms import ECAlgorithm, OKPAlgorithm

from chalicelib.errors import ConfigurationError
from chalicelib.identity.errors import InvalidToken

PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey
PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey

SUPPORTED_ALGORITHMS = ("EdDSA", "ES256")
_KNOWN_FIELDS = {"kid", "alg", "private_key", "public_key", "status", "retire_after"}


class KeyStatus(StrEnum):
    """Where a key is in its rotation."""

    ACTIVE = "active"
    RETIRING = "retiring"
    RETIRED = "retired"


@dataclass(frozen=True)
class SigningKey:
    """One configured key; ``private_key`` is ``None`` for verify-only keys."""

    kid: str
    algorithm: str
    public_key: PublicKey = field(repr=False)
    status: KeyStatus
    private_key: PrivateKey | None = field(default=None, repr=False)
    retire_after: datetime | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.kid, str) or not self.kid or len(self.kid) > 128:
            raise ConfigurationError("Every signing key needs a kid of 1 to 128 characters.")
        where = f"Signing key {self.kid!r}"
        if self.algorithm not in SUPPORTED_ALGORITHMS:
            raise ConfigurationError(f"{where}: alg must be one of {', '.join(SUPPORTED_ALGORITHMS)}.")
        if not _key_fits_algorithm(self.public_key, self.algorithm):
            raise ConfigurationError(f"{where}: public_key does not fit alg {self.algorithm}.")
        if self.private_key is not None and not _same_public_key(self.private_key, self.public_key):
            raise ConfigurationError(f"{where}: private_key does not match public_key.")
        if self.status is KeyStatus.ACTIVE and self.private_key is None:
            raise ConfigurationError(f"{where}: the active key needs a private_key.")
        if self.retire_after is not None:
            if self.status is KeyStatus.ACTIVE:
                raise ConfigurationError(f"{where}: retire_after applies only to retiring keys.")
            if self.retire_after.tzinfo is None:
                raise ConfigurationError(f"{where}: retire_after needs a time zone.")

    def verifies_at(self, now: datetime) -> bool:
        """Whether tokens signed by this key are accepted at ``now``."""
        if self.status is KeyStatus.RETIRED:
            return False
        return self.retire_after is None or now < self.retire_after


class KeySet:
    """The configured keys: one active signer plus keys that still (or no longer) verify."""

    def __init__(self, keys: Iterable[SigningKey]) -> None:
        self._keys: dict[str, SigningKey] = {}
        for key in keys:
            if key.kid in self._keys:
                raise ConfigurationError(f"Signing key {key.kid!r} is configured twice.")
            self._keys[key.kid] = key
        active = [key for key in self._keys.values() if key.status is KeyStatus.ACTIVE]
        if len(active) != 1:
            raise ConfigurationError(f"Exactly one active signing key is required, found {len(active)}.")
        self._active = active[0]

    @classmethod
    def from_json(cls, text: str) -> KeySet:
        """Build a key set from its JSON configuration; ``ConfigurationError`` when invalid."""
        try:
            entries = json.loads(text)
        except (TypeError, ValueError):
            raise ConfigurationError("Signing key configuration is not valid JSON.") from None
        if not isinstance(entries, list) or not entries:
            raise ConfigurationError("Signing key configuration must be a non-empty JSON list.")
        return cls(_key_from_entry(index, entry) for index, entry in enumerate(entries))

    @property
    def signing_key(self) -> SigningKey:
        """The one active key, used to sign new tokens."""
        return self._active

    @property
    def kids(self) -> tuple[str, ...]:
        return tuple(self._keys)

    def verification_key(self, kid: object, now: datetime) -> SigningKey:
        """Return the key for ``kid`` if it may verify at ``now``; ``InvalidToken`` otherwise."""
        key = self._keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise InvalidToken("unknown_kid")
        if not key.verifies_at(now):
            raise InvalidToken("retired_kid")
        return key

    def public_jwks(self, now: datetime | None = None) -> dict[str, Any]:
        """Public keys that currently verify, as a JWKS document (for ``/.well-known/jwks.json``)."""
        moment = now or datetime.now(UTC)
        documents = []
        for key in self._keys.values():
            if not key.verifies_at(moment):
                continue
            public = key.public_key
            document = (OKPAlgorithm.to_jwk(public, as_dict=True) if isinstance(public, ed25519.Ed25519PublicKey)
                        else ECAlgorithm.to_jwk(public, as_dict=True))
            document.update({"kid": key.kid, "alg": key.algorithm, "use": "sig"})
            documents.append(document)
        return {"keys": documents}

    def __repr__(self) -> str:
        return f"KeySet(active={self._active.kid!r}, kids={list(self._keys)!r})"


def generate_key_config(kid: str, *, algorithm: str = "EdDSA", status: str = "active") -> dict[str, str]:
    """Create one new key pair as a configuration entry (private and public PEM)."""
    private_key: PrivateKey
    if algorithm == "EdDSA":
        private_key = ed25519.Ed25519PrivateKey.generate()
    elif algorithm == "ES256":
        private_key = ec.generate_private_key(ec.SECP256R1())
    else:
        raise ValueError(f"algorithm must be one of {', '.join(SUPPORTED_ALGORITHMS)}")
    private_pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return {
        "kid": kid,
        "alg": algorithm,
        "private_key": private_pem.decode("ascii"),
        "public_key": public_pem.decode("ascii"),
        "status": KeyStatus(status).value,
    }


def generate_keyset_json(kid: str, *, algorithm: str = "EdDSA") -> str:
    """Create a one-key development key set (the JSON ``KeySet.from_json`` reads) with a fresh key pair."""
    return json.dumps([generate_key_config(kid, algorithm=algorithm)])


def _key_from_entry(index: int, entry: object) -> SigningKey:
    where = f"Signing key #{index}"
    if not isinstance(entry, dict):
        raise ConfigurationError(f"{where} must be a JSON object.")
    unknown = set(entry) - _KNOWN_FIELDS
    if unknown:
        raise ConfigurationError(f"{where} has unknown fields: {', '.join(sorted(unknown))}.")
    kid = entry.get("kid")
    if not isinstance(kid, str) or not kid:
        raise ConfigurationError(f"{where} needs a kid.")
    where = f"Signing key {kid!r}"
    try:
        status = KeyStatus(str(entry.get("status")))
    except ValueError:
        raise ConfigurationError(f"{where}: status must be active, retiring or retired.") from None
    public_key = _load_public(entry.get("public_key"), where)
    private_pem = entry.get("private_key")
    private_key = None if private_pem in (None, "") else _load_private(private_pem, where)
    return SigningKey(
        kid=kid,
        algorithm=entry.get("alg"),  # type: ignore[arg-type]  # validated by SigningKey
        public_key=public_key,
        private_key=private_key,
        status=status,
        retire_after=_parse_time(entry.get("retire_after"), where),
    )


def _load_public(pem: object, where: str) -> PublicKey:
    if not isinstance(pem, str) or not pem.strip():
        raise ConfigurationError(f"{where}: public_key (PEM) is required.")
    try:
        key = serialization.load_pem_public_key(pem.encode("ascii"))
    except (ValueError, TypeError, UnicodeError):
        raise ConfigurationError(f"{where}: public_key is not a readable PEM public key.") from None
    if not isinstance(key, (ed25519.Ed25519PublicKey, ec.EllipticCurvePublicKey)):
        raise ConfigurationError(f"{where}: public_key must be an Ed25519 or P-256 key.")
    return key


def _load_private(pem: object, where: str) -> PrivateKey:
    if not isinstance(pem, str):
        raise ConfigurationError(f"{where}: private_key must be a PEM string.")
    try:
        key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    except (ValueError, TypeError, UnicodeError):
        # The loader's own message is not passed on: it could quote part of the key.
        raise ConfigurationError(f"{where}: private_key is not a readable, unencrypted PEM key.") from None
    if not isinstance(key, (ed25519.Ed25519PrivateKey, ec.EllipticCurvePrivateKey)):
        raise ConfigurationError(f"{where}: private_key must be an Ed25519 or P-256 key.")
    return key


def _parse_time(value: object, where: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigurationError(f"{where}: retire_after must be an RFC 3339 string.")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigurationError(f"{where}: retire_after must be an RFC 3339 time.") from None
    if moment.tzinfo is None:
        raise ConfigurationError(f"{where}: retire_after needs a time zone (e.g. Z).")
    return moment


def _key_fits_algorithm(public_key: object, algorithm: str) -> bool:
    if algorithm == "EdDSA":
        return isinstance(public_key, ed25519.Ed25519PublicKey)
    if algorithm == "ES256":
        return isinstance(public_key, ec.EllipticCurvePublicKey) and isinstance(
            public_key.curve, ec.SECP256R1
        )
    return False


def _same_public_key(private_key: object, public_key: PublicKey) -> bool:
    if not isinstance(private_key, (ed25519.Ed25519PrivateKey, ec.EllipticCurvePrivateKey)):
        return False
    derived = private_key.public_key()
    encoding, fmt = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    return derived.public_bytes(encoding, fmt) == public_key.public_bytes(encoding, fmt)
