"""What verification concluded, kept briefly: never past the token's expiry, the keep time, or its key set."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from chalicelib.identity.keys import KeySet, generate_key_config
from chalicelib.identity.roles import Role
from chalicelib.identity.tokens import VerifiedTokens, issue_access_token, verify_access_token

ISSUER, AUDIENCE = "https://stepline.test", "stepline-api"
NOW = datetime(2026, 11, 22, 10, 0, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def keyset() -> KeySet:
    return KeySet.from_json(json.dumps([generate_key_config("k1")]))


def _verified(keyset: KeySet, ttl: int = 900) -> tuple[str, object]:
    token = issue_access_token(keyset, user_id="usr_1", tenant_id="ten_acme", role=Role.ADMIN, session_id="ses_1",
                               ttl=ttl, now=NOW, issuer=ISSUER, audience=AUDIENCE)
    return token, verify_access_token(keyset, token, issuer=ISSUER, audience=AUDIENCE, now=NOW)


def test_a_verified_token_is_kept_for_the_keep_time_only(keyset):
    # GIVEN a token verified at NOW and kept for 30 s
    cache = VerifiedTokens(seconds=30)
    token, claims = _verified(keyset)
    cache.put(keyset, token, claims, NOW.timestamp())
    # THEN it is found within the 30 s, and verified again after them
    assert cache.get(keyset, token, NOW.timestamp() + 29) is claims
    assert cache.get(keyset, token, NOW.timestamp() + 30) is None
    assert cache.get(keyset, token, NOW.timestamp() + 1) is None  # gone for good once stale


def test_an_expired_token_is_never_served_from_the_cache(keyset):
    # GIVEN a token that expires 10 s after it was verified, kept for up to 30 s
    cache = VerifiedTokens(seconds=30)
    token, claims = _verified(keyset, ttl=10)
    cache.put(keyset, token, claims, NOW.timestamp())
    # THEN at its expiry it is not found (the caller verifies again and is refused as expired)
    assert cache.get(keyset, token, NOW.timestamp() + 9) is claims
    assert cache.get(keyset, token, NOW.timestamp() + 10) is None


def test_another_key_set_or_another_token_finds_nothing(keyset):
    cache = VerifiedTokens(seconds=30)
    token, claims = _verified(keyset)
    cache.put(keyset, token, claims, NOW.timestamp())
    rotated = KeySet.from_json(json.dumps([generate_key_config("k2")]))
    assert cache.get(rotated, token, NOW.timestamp()) is None
    assert cache.get(keyset, token + "x", NOW.timestamp()) is None


def test_the_cache_is_bounded_least_recently_used_first(keyset):
    cache = VerifiedTokens(seconds=30, size=2)
    entries = [_verified(keyset) for _ in range(3)]
    for token, claims in entries[:2]:
        cache.put(keyset, token, claims, NOW.timestamp())
    assert cache.get(keyset, entries[0][0], NOW.timestamp()) is not None  # the first is now the most recent
    cache.put(keyset, *entries[2], NOW.timestamp())
    assert cache.get(keyset, entries[1][0], NOW.timestamp()) is None
    assert cache.get(keyset, entries[0][0], NOW.timestamp()) is not None
    assert cache.get(keyset, entries[2][0], NOW.timestamp()) is not None


def test_nonsense_sizes_are_refused():
    with pytest.raises(ValueError):
        VerifiedTokens(seconds=0)
    with pytest.raises(ValueError):
        VerifiedTokens(size=0)
