"""Key set configuration: exactly one active signer, pinned asymmetric algorithms, no key material in errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from chalicelib.errors import ConfigurationError
from chalicelib.identity.errors import InvalidToken
from chalicelib.identity.keys import KeySet, KeyStatus, SigningKey, generate_key_config, generate_keyset_json

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def k1() -> dict[str, str]:
    return generate_key_config("k1")


@pytest.fixture(scope="module")
def k2() -> dict[str, str]:
    return generate_key_config("k2")


def _refused_config(entries: Any) -> ConfigurationError:
    text = entries if isinstance(entries, str) else json.dumps(entries)
    with pytest.raises(ConfigurationError) as caught:
        KeySet.from_json(text)
    message = caught.value.message
    assert "BEGIN" not in message and "MC4CAQ" not in message  # no PEM fragments
    return caught.value


def test_generated_keyset_json_loads_with_one_active_eddsa_key() -> None:
    keyset = KeySet.from_json(generate_keyset_json("dev-1"))
    assert keyset.signing_key.kid == "dev-1"
    assert keyset.signing_key.algorithm == "EdDSA"
    assert keyset.signing_key.status is KeyStatus.ACTIVE
    assert keyset.kids == ("dev-1",)


def test_generated_keys_differ_each_time() -> None:
    assert generate_key_config("a")["private_key"] != generate_key_config("a")["private_key"]


def test_repr_never_shows_private_key(k1: dict[str, str]) -> None:
    keyset = KeySet.from_json(json.dumps([k1]))
    assert "PRIVATE" not in repr(keyset) and "PRIVATE" not in repr(keyset.signing_key)
    assert "Ed25519PrivateKey" not in repr(keyset.signing_key)


@pytest.mark.parametrize("text", ["", "not json", "{}", "[]", "[1]", json.dumps({"keys": []})])
def test_unreadable_configuration_is_refused(text: str) -> None:
    _refused_config(text)


def test_no_active_key_is_refused(k1: dict[str, str]) -> None:
    _refused_config([{**k1, "status": "retiring"}])


def test_two_active_keys_are_refused(k1: dict[str, str], k2: dict[str, str]) -> None:
    assert "Exactly one active" in _refused_config([k1, k2]).message


def test_duplicate_kid_is_refused(k1: dict[str, str]) -> None:
    _refused_config([k1, {**k1, "status": "retired"}])


@pytest.mark.parametrize("alg", ["HS256", "none", "RS256", "ES512", None, ""])
def test_only_eddsa_and_es256_are_accepted(k1: dict[str, str], alg: str | None) -> None:
    _refused_config([{**k1, "alg": alg}])


def test_key_must_fit_its_algorithm(k1: dict[str, str]) -> None:
    _refused_config([{**k1, "alg": "ES256"}])


def test_private_key_must_match_public_key(k1: dict[str, str], k2: dict[str, str]) -> None:
    error = _refused_config([{**k1, "private_key": k2["private_key"]}])
    assert "does not match" in error.message


def test_active_key_needs_a_private_key(k1: dict[str, str]) -> None:
    _refused_config([{k: v for k, v in k1.items() if k != "private_key"}])


def test_garbled_pem_is_refused_without_echo(k1: dict[str, str]) -> None:
    broken = k1["private_key"].replace("\n", "\n!!", 1)
    _refused_config([{**k1, "private_key": broken}])
    _refused_config([{**k1, "public_key": "-----BEGIN PUBLIC KEY-----\nMC4CAQ==\n-----END PUBLIC KEY-----\n"}])


@pytest.mark.parametrize("value", ["yesterday", "2026-11-22T10:00:00", 12345])
def test_retire_after_must_be_rfc3339_with_zone(k1: dict[str, str], k2: dict[str, str], value: Any) -> None:
    _refused_config([k2, {**k1, "status": "retiring", "retire_after": value}])


def test_retire_after_on_the_active_key_is_refused(k1: dict[str, str]) -> None:
    _refused_config([{**k1, "retire_after": "2026-11-22T10:00:00Z"}])


def test_unknown_fields_are_refused(k1: dict[str, str]) -> None:
    _refused_config([{**k1, "secret": "x"}])


def test_verification_key_follows_status(k1: dict[str, str], k2: dict[str, str]) -> None:
    retiring = {**k2, "status": "retiring", "retire_after": "2026-11-22T11:00:00+00:00"}
    keyset = KeySet.from_json(json.dumps([k1, retiring]))
    assert keyset.verification_key("k2", NOW).kid == "k2"
    with pytest.raises(InvalidToken):
        keyset.verification_key("k2", NOW + timedelta(hours=1))
    with pytest.raises(InvalidToken):
        keyset.verification_key("k3", NOW)
    with pytest.raises(InvalidToken):
        keyset.verification_key(None, NOW)


def test_public_jwks_lists_only_keys_that_verify(k1: dict[str, str], k2: dict[str, str]) -> None:
    k3 = generate_key_config("k3", algorithm="ES256", status="retiring")
    keyset = KeySet.from_json(json.dumps([k1, {**k2, "status": "retired"}, k3]))
    jwks = keyset.public_jwks(NOW)
    assert [(doc["kid"], doc["alg"], doc["kty"]) for doc in jwks["keys"]] == [
        ("k1", "EdDSA", "OKP"),
        ("k3", "ES256", "EC"),
    ]
    assert all("d" not in doc for doc in jwks["keys"])  # never the private part


def test_signing_key_validates_when_built_directly() -> None:
    private = ed25519.Ed25519PrivateKey.generate()
    with pytest.raises(ConfigurationError):
        SigningKey(kid="", algorithm="EdDSA", public_key=private.public_key(), status=KeyStatus.RETIRED)
    with pytest.raises(ConfigurationError):
        SigningKey(kid="x", algorithm="EdDSA", public_key=private.public_key(), status=KeyStatus.ACTIVE)
