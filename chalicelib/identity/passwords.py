"""Password hashing (Argon2id) and the password policy.

Hashes are PHC strings (``$argon2id$v=19$m=…,t=…,p=…$salt$hash``): they carry
their own parameters, so a hash made under an older profile still verifies and
``needs_rehash`` tells the login flow to upgrade it.

The cost is a ``HashingProfile`` value passed by the caller, never a global
switch: production code uses ``PRODUCTION_PROFILE``; tests pass
``FAST_TEST_PROFILE`` explicitly, so a test can never weaken production hashing
by accident.
"""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from chalicelib.identity.errors import PasswordPolicyViolation

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
# Verification input bound: no stored password can be longer than the policy allows, so anything far
# beyond it is refused without spending argon2 time on a multi-megabyte body.
_MAX_VERIFIABLE_LENGTH = 4 * MAX_PASSWORD_LENGTH


@dataclass(frozen=True)
class HashingProfile:
    """Argon2id cost parameters, validated on creation.

    ``memory_cost_kib`` is in KiB. Argon2 requires at least ``8 * parallelism``
    KiB; salts shorter than 16 bytes and tags shorter than 16 bytes are refused
    because they would weaken every hash made with the profile.
    """

    time_cost: int
    memory_cost_kib: int
    parallelism: int
    hash_len: int = 32
    salt_len: int = 16

    def __post_init__(self) -> None:
        for name in ("time_cost", "memory_cost_kib", "parallelism", "hash_len", "salt_len"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"HashingProfile.{name} must be a positive integer")
        if self.memory_cost_kib < 8 * self.parallelism:
            raise ValueError("HashingProfile.memory_cost_kib must be at least 8 * parallelism")
        if self.hash_len < 16 or self.salt_len < 16:
            raise ValueError("HashingProfile.hash_len and salt_len must be at least 16 bytes")


# Production cost: 3 passes over 32 MiB in 2 lanes. On a 2-core machine this hashes in roughly
# 40-70 ms: slow enough to make offline guessing expensive (above the OWASP Argon2id floor of
# m=19 MiB, t=2, p=1), fast enough for a login inside a Lambda with 2 vCPUs. 32 MiB fits easily
# in the smallest memory size we deploy. Raising any value later is safe: old hashes keep
# verifying and are upgraded on the next successful login (``needs_rehash``).
PRODUCTION_PROFILE = HashingProfile(time_cost=3, memory_cost_kib=32 * 1024, parallelism=2)

# Minimal cost for tests: same algorithm and code path, microseconds per hash. Never use in
# production; it exists so unit tests stay fast without a global "testing" flag.
FAST_TEST_PROFILE = HashingProfile(time_cost=1, memory_cost_kib=8, parallelism=1)


@functools.lru_cache(maxsize=8)
def _hasher(profile: HashingProfile) -> PasswordHasher:
    return PasswordHasher(
        time_cost=profile.time_cost,
        memory_cost=profile.memory_cost_kib,
        parallelism=profile.parallelism,
        hash_len=profile.hash_len,
        salt_len=profile.salt_len,
        type=Type.ID,
    )


@functools.lru_cache(maxsize=8)
def _dummy_hash(profile: HashingProfile) -> str:
    # A hash of a random secret nobody knows, made once per warm container with the same cost as
    # real hashes, so verifying against it takes as long as verifying a real account.
    return _hasher(profile).hash(secrets.token_urlsafe(32))


def check_password_policy(password: object, *, path: str = "/password") -> None:
    """Raise ``PasswordPolicyViolation`` (a ``ValidationFailed``) unless ``password`` is acceptable.

    Policy: a string of 10 to 256 characters (code points) that is not only
    whitespace. No composition rules: length is what makes passwords strong,
    and composition rules push people to predictable patterns. ``path`` is the
    JSON pointer reported in ``details`` (``/new_password`` for a change form).
    """
    issue: str | None = None
    if not isinstance(password, str):
        issue = "must be a string"
    elif len(password) < MIN_PASSWORD_LENGTH:
        issue = f"must be at least {MIN_PASSWORD_LENGTH} characters long"
    elif len(password) > MAX_PASSWORD_LENGTH:
        issue = f"must be at most {MAX_PASSWORD_LENGTH} characters long"
    elif not password.strip():
        issue = "must not consist only of whitespace"
    elif "\x00" in password:
        issue = "must not contain NUL characters"
    if issue is not None:
        raise PasswordPolicyViolation(details=[{"path": path, "issue": issue}])


def hash_password(password: str, *, profile: HashingProfile = PRODUCTION_PROFILE) -> str:
    """Hash a password that already passed ``check_password_policy``; returns a PHC string."""
    if not isinstance(password, str):
        raise TypeError("password must be a string")
    return _hasher(profile).hash(password)


def verify_password(
    stored_hash: str | None, password: str, *, profile: HashingProfile = PRODUCTION_PROFILE
) -> bool:
    """Return whether ``password`` matches ``stored_hash``; never raises for bad input.

    The digest comparison inside libargon2 is constant-time. A missing,
    malformed or foreign hash, or an absurdly long password, answers ``False``
    after a dummy verification, so the answer takes about as long as a real
    mismatch. ``profile`` only matters for that dummy: a real hash is checked
    with the parameters it carries.
    """
    if (
        not isinstance(stored_hash, str)
        or not stored_hash.startswith("$argon2")
        or not isinstance(password, str)
        or len(password) > _MAX_VERIFIABLE_LENGTH
    ):
        dummy_verify(password if isinstance(password, str) else "", profile=profile)
        return False
    try:
        return _hasher(profile).verify(stored_hash, password)
    except VerifyMismatchError:
        return False
    except (VerificationError, InvalidHashError):
        dummy_verify(password, profile=profile)
        return False


def needs_rehash(stored_hash: str, *, profile: HashingProfile = PRODUCTION_PROFILE) -> bool:
    """Return whether ``stored_hash`` was made with other parameters than ``profile`` (or is unreadable)."""
    try:
        return _hasher(profile).check_needs_rehash(stored_hash)
    except (InvalidHashError, ValueError, TypeError):
        return True


def dummy_verify(password: str, *, profile: HashingProfile = PRODUCTION_PROFILE) -> None:
    """Spend the time of one verification and discard the result.

    Login calls this when the account does not exist (or has no password), so
    "unknown email" and "wrong password" cost the same and cannot be told apart
    by timing.
    """
    candidate = password[:_MAX_VERIFIABLE_LENGTH] if isinstance(password, str) else ""
    try:
        _hasher(profile).verify(_dummy_hash(profile), candidate)
    except VerificationError:
        pass
