"""Opaque tokens: format, hashing, constant-time matching and masking."""

from __future__ import annotations

import hashlib
import re

import pytest

from chalicelib.identity.opaque_tokens import (
    TokenPurpose,
    generate_token,
    hash_token,
    is_well_formed,
    mask_token,
    purpose_of,
    token_matches,
)

PREFIXES = {
    TokenPurpose.REFRESH: "slr_",
    TokenPurpose.PASSWORD_RESET: "slp_",
    TokenPurpose.INVITE: "sli_",
    TokenPurpose.API: "slk_",
}


@pytest.mark.parametrize(("purpose", "prefix"), PREFIXES.items())
def test_generated_token_has_prefix_and_32_random_bytes(purpose: TokenPurpose, prefix: str) -> None:
    issued = generate_token(purpose)
    assert issued.value.startswith(prefix) and purpose.prefix == prefix
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", issued.value[len(prefix):])
    assert purpose_of(issued.value) is purpose
    assert is_well_formed(issued.value, purpose)


def test_tokens_are_unique() -> None:
    assert len({generate_token(TokenPurpose.API).value for _ in range(200)}) == 200


def test_only_the_sha256_hash_is_meant_for_storage() -> None:
    issued = generate_token(TokenPurpose.REFRESH)
    assert issued.token_hash == hashlib.sha256(issued.value.encode()).hexdigest()
    assert issued.token_hash == hash_token(issued.value)
    assert issued.value not in repr(issued)


def test_token_matches_its_hash_only() -> None:
    issued, other = generate_token(TokenPurpose.INVITE), generate_token(TokenPurpose.INVITE)
    assert token_matches(issued.value, issued.token_hash)
    assert not token_matches(other.value, issued.token_hash)
    assert not token_matches(issued.value, issued.token_hash.upper())
    assert not token_matches(issued.value, "")
    assert not token_matches(None, issued.token_hash)  # type: ignore[arg-type]


def test_mask_shows_prefix_and_last_four_only() -> None:
    issued = generate_token(TokenPurpose.API)
    masked = mask_token(issued.value)
    assert masked == f"slk_••••{issued.value[-4:]}" == issued.masked
    assert issued.value[4:-4] not in masked


@pytest.mark.parametrize("value", ["", "slk_short", "hunter2hunter2", "eyJhbGciOi.eyJzdWIi.sig", "xyz_" + "a" * 43])
def test_malformed_values_are_masked_entirely(value: str) -> None:
    assert mask_token(value) == "••••"
    assert purpose_of(value) is None


def test_purpose_check_distinguishes_token_kinds() -> None:
    refresh = generate_token(TokenPurpose.REFRESH).value
    assert not is_well_formed(refresh, TokenPurpose.API)
    assert not is_well_formed(refresh + "x", TokenPurpose.REFRESH)
    assert purpose_of(None) is None  # type: ignore[arg-type]
