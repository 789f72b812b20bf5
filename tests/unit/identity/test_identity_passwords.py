"""Password hashing (Argon2id) and the password policy."""

from __future__ import annotations

import time

import pytest
from argon2 import Type, extract_parameters
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.errors import ValidationFailed
from chalicelib.identity import passwords
from chalicelib.identity.errors import PasswordPolicyViolation
from chalicelib.identity.passwords import (
    FAST_TEST_PROFILE,
    PRODUCTION_PROFILE,
    HashingProfile,
    check_password_policy,
    dummy_verify,
    hash_password,
    needs_rehash,
    verify_password,
)

FAST = FAST_TEST_PROFILE
GOOD = "correct horse battery staple"


def test_hash_is_argon2id_with_the_profile_parameters() -> None:
    stored = hash_password(GOOD, profile=FAST)
    params = extract_parameters(stored)
    assert stored.startswith("$argon2id$")
    assert (params.type, params.time_cost, params.memory_cost, params.parallelism) == (Type.ID, 1, 8, 1)
    assert params.hash_len == 32 and params.salt_len == 16


def test_same_password_hashes_differently_each_time() -> None:
    assert hash_password(GOOD, profile=FAST) != hash_password(GOOD, profile=FAST)


def test_verify_accepts_the_right_password_only() -> None:
    stored = hash_password(GOOD, profile=FAST)
    assert verify_password(stored, GOOD, profile=FAST) is True
    assert verify_password(stored, GOOD + " ", profile=FAST) is False
    assert verify_password(stored, GOOD.upper(), profile=FAST) is False


def test_hash_made_under_another_profile_still_verifies() -> None:
    # Parameters travel with the hash, so raising the cost later keeps old hashes working.
    stored = hash_password(GOOD, profile=HashingProfile(time_cost=2, memory_cost_kib=16, parallelism=1))
    assert verify_password(stored, GOOD, profile=FAST) is True


@pytest.mark.parametrize(
    "stored",
    [None, "", "garbage", "$argon2id$broken", "$argon2id$v=19$m=8,t=1,p=1$AAAA$BBBB",
     "$2b$12$abcdefghijklmnopqrstuvABCDEFGHIJKLMNOPQRSTUVWXYZ01234", "plain-text-password"],
)
def test_verify_answers_false_for_invalid_hashes(stored: str | None) -> None:
    assert verify_password(stored, GOOD, profile=FAST) is False


def test_verify_answers_false_for_non_string_or_huge_password() -> None:
    stored = hash_password(GOOD, profile=FAST)
    assert verify_password(stored, None, profile=FAST) is False  # type: ignore[arg-type]
    assert verify_password(stored, GOOD * 1000, profile=FAST) is False


def test_needs_rehash_compares_with_the_target_profile() -> None:
    fast_hash = hash_password(GOOD, profile=FAST)
    assert needs_rehash(fast_hash, profile=FAST) is False
    assert needs_rehash(fast_hash, profile=PRODUCTION_PROFILE) is True
    assert needs_rehash("garbage", profile=FAST) is True


def test_dummy_hash_costs_the_same_as_a_real_hash() -> None:
    # The dummy verification must use the profile's own parameters, or its timing would differ.
    dummy = extract_parameters(passwords._dummy_hash(PRODUCTION_PROFILE))
    real = extract_parameters(hash_password(GOOD, profile=PRODUCTION_PROFILE))
    assert dummy == real
    assert dummy.type is Type.ID


def test_dummy_verify_never_raises() -> None:
    for candidate in (GOOD, "", "x" * 100_000):
        assert dummy_verify(candidate, profile=FAST) is None


def test_production_profile_is_documented_and_costly() -> None:
    assert (PRODUCTION_PROFILE.time_cost, PRODUCTION_PROFILE.memory_cost_kib, PRODUCTION_PROFILE.parallelism) == (
        3, 32 * 1024, 2,
    )
    # Loose bounds (the target is 30-80 ms on 2 cores): catches an accidental switch to a toy profile
    # without being flaky on a loaded machine.
    started = time.perf_counter()
    hash_password(GOOD, profile=PRODUCTION_PROFILE)
    elapsed = time.perf_counter() - started
    assert 0.005 < elapsed < 2.0


@pytest.mark.parametrize(
    "fields",
    [
        {"time_cost": 0, "memory_cost_kib": 8, "parallelism": 1},
        {"time_cost": 1, "memory_cost_kib": 8, "parallelism": 2},
        {"time_cost": 1, "memory_cost_kib": 8, "parallelism": 1, "salt_len": 8},
        {"time_cost": 1, "memory_cost_kib": 8, "parallelism": 1, "hash_len": 8},
        {"time_cost": True, "memory_cost_kib": 8, "parallelism": 1},
    ],
)
def test_hashing_profile_is_validated(fields: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        HashingProfile(**fields)


# --- policy -----------------------------------------------------------------------------------


@pytest.mark.parametrize("password", ["x" * 10, "y" * 256, "  spaced  out  ", "🔑" * 10, "pässwörter!"])
def test_policy_accepts(password: str) -> None:
    check_password_policy(password)


@pytest.mark.parametrize(
    ("password", "issue_fragment"),
    [
        ("short-pw1", "at least 10"),
        ("", "at least 10"),
        ("z" * 257, "at most 256"),
        (" " * 12, "whitespace"),
        ("\t\n \u3000" * 4, "whitespace"),
        ("abcdefghij\x00", "NUL"),
        (None, "string"),
        (1234567890, "string"),
    ],
)
def test_policy_refuses(password: object, issue_fragment: str) -> None:
    with pytest.raises(PasswordPolicyViolation) as caught:
        check_password_policy(password)
    error = caught.value
    assert isinstance(error, ValidationFailed) and error.status == 422
    assert error.details[0]["path"] == "/password"
    assert issue_fragment in error.details[0]["issue"]
    if isinstance(password, str) and password.strip():
        assert password not in str(error.to_body())


def test_policy_reports_the_given_path() -> None:
    with pytest.raises(PasswordPolicyViolation) as caught:
        check_password_policy("short", path="/new_password")
    assert caught.value.details == [{"path": "/new_password", "issue": "must be at least 10 characters long"}]


@settings(max_examples=40, deadline=None)
@given(st.text(min_size=10, max_size=40).filter(lambda text: text.strip() and "\x00" not in text))
def test_any_acceptable_password_round_trips(password: str) -> None:
    check_password_policy(password)
    stored = hash_password(password, profile=FAST)
    assert verify_password(stored, password, profile=FAST)
    assert not verify_password(stored, password + "x", profile=FAST)
