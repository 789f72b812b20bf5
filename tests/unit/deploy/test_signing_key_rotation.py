"""The rotation steps an operator runs on the AWS key set, checked against the real KeySet rules."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.deployment import signing_keys
from chalicelib.identity.keys import KeySet, KeyStatus

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def _status(keyset_json):
    return {e["kid"]: e["status"] for e in json.loads(keyset_json)}


def test_initial_keyset_has_one_active_signer():
    keys = KeySet.from_json(signing_keys.initial_keyset(NOW))
    assert keys.signing_key.kid == "2026-11-27-1"


def test_full_rotation_keeps_old_tokens_valid_until_they_expire():
    # GIVEN the key set made at the first deployment
    start = signing_keys.initial_keyset(NOW)
    # WHEN a new key is staged THEN it verifies but the old key still signs
    staged = signing_keys.stage_next_key(start, "2027-01")
    keys = KeySet.from_json(staged)
    assert keys.signing_key.kid == "2026-11-27-1"
    assert keys.verification_key("2027-01", NOW).kid == "2027-01"
    # WHEN it is promoted THEN it signs; the old one verifies until retire_after, without its private key
    promoted = signing_keys.promote_key(staged, "2027-01", token_lifetime=timedelta(minutes=15), now=NOW)
    keys = KeySet.from_json(promoted)
    assert keys.signing_key.kid == "2027-01"
    assert keys.verification_key("2026-11-27-1", NOW + timedelta(minutes=14)).kid == "2026-11-27-1"
    old = next(e for e in json.loads(promoted) if e["kid"] == "2026-11-27-1")
    assert "private_key" not in old and old["retire_after"] == "2026-11-27T12:15:00Z"
    # WHEN retire runs after the lifetime THEN the old key is retired
    retired = signing_keys.retire_expired(promoted, now=NOW + timedelta(minutes=16))
    assert _status(retired) == {"2026-11-27-1": KeyStatus.RETIRED, "2027-01": KeyStatus.ACTIVE}
    # and before it, nothing changes
    assert signing_keys.retire_expired(promoted, now=NOW) == promoted


def test_a_kid_cannot_be_staged_twice_nor_an_unknown_one_promoted():
    start = signing_keys.initial_keyset(NOW)
    with pytest.raises(ValueError, match="already"):
        signing_keys.stage_next_key(start, "2026-11-27-1")
    with pytest.raises(ValueError, match="not a staged key"):
        signing_keys.promote_key(start, "nope", token_lifetime=timedelta(minutes=15), now=NOW)
