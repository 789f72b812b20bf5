"""Envelope encryption with the local master-key wrapper."""

from __future__ import annotations

import base64
import json
import os

import pytest

from chalicelib.crypto.envelope import EnvelopeCipher, UnknownKeyVersion
from chalicelib.crypto.key_wrapper import DecryptionFailed, KeyWrapper, LocalMasterKeyWrapper
from chalicelib.errors import ConfigurationError

SECRET = {"api_key": "sk_live_verySecretValue123", "username": "ops"}
IDS = {"tenant_id": "tenant-a", "table": "connections", "record_id": "conn-1"}


@pytest.fixture
def wrapper() -> LocalMasterKeyWrapper:
    return LocalMasterKeyWrapper(os.urandom(32), "1")


@pytest.fixture
def cipher(wrapper) -> EnvelopeCipher:
    return EnvelopeCipher(wrapper)


def test_a_record_round_trips_and_its_envelope_is_json_without_plaintext(cipher):
    envelope = cipher.encrypt(SECRET, **IDS)
    assert set(envelope) == {"v", "alg", "kek", "kv", "dek", "nonce", "ct"}
    assert envelope["v"] == 1 and envelope["kek"] == "local" and envelope["kv"] == "1"
    text = json.dumps(envelope)
    assert "sk_live" not in text and "ops" not in text
    assert cipher.decrypt(json.loads(text), **IDS) == SECRET


@pytest.mark.parametrize(
    "moved",
    [
        {**IDS, "record_id": "conn-2"},
        {**IDS, "tenant_id": "tenant-b"},
        {**IDS, "table": "workflows"},
    ],
)
def test_an_envelope_pasted_into_another_record_tenant_or_table_does_not_decrypt(cipher, moved):
    envelope = cipher.encrypt(SECRET, **IDS)
    with pytest.raises(DecryptionFailed):
        cipher.decrypt(envelope, **moved)


def test_a_ciphertext_moved_under_another_records_data_key_does_not_decrypt(cipher):
    # GIVEN two records of the same tenant
    first = cipher.encrypt(SECRET, **IDS)
    second = cipher.encrypt({"api_key": "other"}, **{**IDS, "record_id": "conn-2"})
    # WHEN the first record's ciphertext is spliced into the second's envelope
    spliced = {**second, "ct": first["ct"], "nonce": first["nonce"]}
    # THEN it fails
    with pytest.raises(DecryptionFailed):
        cipher.decrypt(spliced, **{**IDS, "record_id": "conn-2"})


@pytest.mark.parametrize("field", ["ct", "dek", "nonce"])
def test_any_flipped_bit_is_detected(cipher, field):
    envelope = cipher.encrypt(SECRET, **IDS)
    data = bytearray(base64.b64decode(envelope[field]))
    data[len(data) // 2] ^= 0x01
    with pytest.raises(DecryptionFailed):
        cipher.decrypt({**envelope, field: base64.b64encode(bytes(data)).decode()}, **IDS)


def test_a_data_key_relabelled_with_another_key_version_does_not_unwrap(wrapper):
    key = os.urandom(32)
    v1, v2 = LocalMasterKeyWrapper(key, "1"), LocalMasterKeyWrapper(key, "2")
    envelope = EnvelopeCipher(v1).encrypt(SECRET, **IDS)
    with pytest.raises(DecryptionFailed):
        EnvelopeCipher(v2).decrypt({**envelope, "kv": "2"}, **IDS)


def test_nonces_and_data_keys_never_repeat_across_ten_thousand_encryptions(cipher):
    envelopes = [cipher.encrypt({"n": i}, **{**IDS, "record_id": f"r{i}"}) for i in range(10_000)]
    assert len({e["nonce"] for e in envelopes}) == 10_000
    assert len({e["dek"] for e in envelopes}) == 10_000


def test_rewrap_changes_only_the_wrapped_key_and_the_new_kek_decrypts(wrapper):
    # GIVEN a record under KEK version 1
    old = EnvelopeCipher(wrapper)
    envelope = old.encrypt(SECRET, **IDS)
    new_wrapper = LocalMasterKeyWrapper(os.urandom(32), "2")
    # WHEN it is re-wrapped under version 2
    rewrapped = old.rewrap(envelope, new_wrapper, **IDS)
    # THEN the ciphertext and nonce are untouched and only version 2 is needed to read it
    assert rewrapped["ct"] == envelope["ct"] and rewrapped["nonce"] == envelope["nonce"]
    assert rewrapped["kv"] == "2" and rewrapped["dek"] != envelope["dek"]
    assert EnvelopeCipher(new_wrapper).decrypt(rewrapped, **IDS) == SECRET
    with pytest.raises(UnknownKeyVersion):
        EnvelopeCipher(wrapper).decrypt(rewrapped, **IDS)


def test_during_rotation_previous_keks_still_decrypt_and_needs_rewrap_says_so(wrapper):
    envelope = EnvelopeCipher(wrapper).encrypt(SECRET, **IDS)
    rotated = EnvelopeCipher(LocalMasterKeyWrapper(os.urandom(32), "2"), previous=[wrapper])
    assert rotated.needs_rewrap(envelope) is True
    assert rotated.decrypt(envelope, **IDS) == SECRET
    moved = rotated.rewrap(envelope, **IDS)
    assert rotated.needs_rewrap(moved) is False and rotated.decrypt(moved, **IDS) == SECRET


def test_rewrap_refuses_an_envelope_of_another_record(cipher, wrapper):
    envelope = cipher.encrypt(SECRET, **IDS)
    with pytest.raises(DecryptionFailed):
        cipher.rewrap(envelope, wrapper, **{**IDS, "record_id": "conn-9"})


@pytest.mark.parametrize(
    "broken",
    [{}, {"v": 2}, {"dek": "!!not base64!!"}, {"alg": "A128CBC"}],
)
def test_malformed_envelopes_fail_cleanly(cipher, broken):
    envelope = {**cipher.encrypt(SECRET, **IDS), **broken} if broken else {}
    with pytest.raises(DecryptionFailed):
        cipher.decrypt(envelope, **IDS)


def test_errors_never_carry_plaintext(cipher):
    envelope = cipher.encrypt(SECRET, **IDS)
    with pytest.raises(DecryptionFailed) as caught:
        cipher.decrypt(envelope, **{**IDS, "tenant_id": "x"})
    assert "sk_live" not in str(caught.value) and "sk_live" not in repr(caught.value.__cause__)


def test_configuration_is_checked():
    with pytest.raises(ConfigurationError):
        LocalMasterKeyWrapper(b"short")
    with pytest.raises(ConfigurationError):
        LocalMasterKeyWrapper.from_base64("not base64!!")
    assert LocalMasterKeyWrapper.from_base64(base64.b64encode(b"m" * 32).decode(), "7").key_version == "7"
    with pytest.raises(ConfigurationError):
        EnvelopeCipher(LocalMasterKeyWrapper(b"m" * 32)).encrypt(
            SECRET, tenant_id="", table="t", record_id="r"
        )
    assert "m" * 8 not in repr(LocalMasterKeyWrapper(b"m" * 32))


def test_any_key_wrapper_subclass_plugs_in():
    class RecordingWrapper(KeyWrapper):
        kek_id, key_version = "fake", "1"

        def __init__(self) -> None:
            self.contexts: list[dict] = []

        def wrap(self, data_key, context):
            self.contexts.append(dict(context))
            return data_key[::-1]

        def unwrap(self, wrapped, context):
            return wrapped[::-1]

    fake = RecordingWrapper()
    cipher = EnvelopeCipher(fake)
    assert cipher.decrypt(cipher.encrypt(SECRET, **IDS), **IDS) == SECRET
    assert fake.contexts == [{**IDS, "kek": "fake", "kv": "1"}]
