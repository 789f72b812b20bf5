"""Mask secrets in nested data, and diff two versions of a record for the audit log.

A value is secret when its key looks secret (``password``, ``client_secret``,
``X-Api-Key``, ``refresh_token`` … or any key the caller names), or when the
value itself looks like a credential whatever its key (a Stepline opaque
token, a JWT, a PEM private key, an ``Authorization``-style ``Bearer`` value).

Masked strings keep at most their last 4 characters (``••••abcd``) and only
when they are long enough for those 4 to reveal nothing useful; password-like
keys and short values show ``••••`` alone. Non-string secrets (numbers,
objects, lists) become ``••••`` whole. ``None`` and ``""`` stay as they are:
"not set" is not a secret.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "••••"
# Below this length even 4 characters are a meaningful share of the secret.
_MIN_LENGTH_FOR_HINT = 16
_HINT_LENGTH = 4
_MAX_DEPTH = 64

# Compared against the key lower-cased with every non-alphanumeric character removed, so
# "client_secret", "Client-Secret" and "clientSecret" all match "secret".
_SECRET_KEY_PARTS = (
    "password", "passwd", "passphrase", "secret", "token", "apikey", "authorization",
    "privatekey", "credential", "cookie", "signingkey", "encryptionkey", "accesskey",
)
_SECRET_KEYS_EXACT = frozenset({"pwd", "pin", "otp", "auth", "bearer"})
# Keys whose values must not even show a hint: passwords are short enough that 4 characters help.
_NO_HINT_KEY_PARTS = ("password", "passwd", "passphrase", "pwd", "pin", "otp")

_SECRET_VALUE_PATTERNS = (
    re.compile(r"^(slr|slp|sli|slk)_[A-Za-z0-9_-]{20,}$"),  # Stepline opaque tokens
    re.compile(r"^eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$"),  # JWS compact form
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"^(bearer|basic)\s+\S{8,}", re.IGNORECASE),
)


def _normalise_key(key: str) -> str:
    return re.sub(r"[^a-z0-9]", "", key.lower())


def is_secret_key(key: object, secret_keys: Iterable[str] = ()) -> bool:
    """Whether a mapping key names a secret (built-in patterns, or exactly one of ``secret_keys``)."""
    if not isinstance(key, str):
        return False
    normalised = _normalise_key(key)
    if not normalised:
        return False
    if normalised in {_normalise_key(extra) for extra in secret_keys}:
        return True
    return normalised in _SECRET_KEYS_EXACT or any(part in normalised for part in _SECRET_KEY_PARTS)


def looks_like_secret_value(value: object) -> bool:
    """Whether a string looks like a credential regardless of where it appears."""
    return isinstance(value, str) and any(pattern.search(value) for pattern in _SECRET_VALUE_PATTERNS)


def mask_value(value: Any, *, show_hint: bool = True) -> Any:
    """Mask one secret value: ``••••abcd`` for long strings (when ``show_hint``), else ``••••``."""
    if value is None or value == "":
        return value
    if isinstance(value, str) and show_hint and len(value) >= _MIN_LENGTH_FOR_HINT:
        return MASK + value[-_HINT_LENGTH:]
    return MASK


def mask_secrets(obj: Any, secret_keys: Iterable[str] = ()) -> Any:
    """Return a copy of ``obj`` (dicts, lists, tuples, scalars) with every secret masked.

    The input is never modified. Mapping keys are kept; tuples come back as
    lists (the output is meant for JSON).
    """
    extra = frozenset(_normalise_key(key) for key in secret_keys if isinstance(key, str))
    return _mask(obj, extra, depth=0)


def _mask(obj: Any, extra: frozenset[str], *, depth: int) -> Any:
    if depth > _MAX_DEPTH:
        # Deeper than any legitimate record; refuse to guess rather than risk showing a secret.
        return MASK
    if isinstance(obj, Mapping):
        masked: dict[Any, Any] = {}
        for key, value in obj.items():
            if is_secret_key(key, extra):
                normalised = _normalise_key(key)
                masked[key] = mask_value(value, show_hint=not _is_password_like(normalised))
            else:
                masked[key] = _mask(value, extra, depth=depth + 1)
        return masked
    if isinstance(obj, (list, tuple)):
        return [_mask(item, extra, depth=depth + 1) for item in obj]
    if looks_like_secret_value(obj):
        return mask_value(obj)
    return obj


def _is_password_like(normalised_key: str) -> bool:
    return normalised_key in _SECRET_KEYS_EXACT or any(part in normalised_key for part in _NO_HINT_KEY_PARTS)


def diff(
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    *,
    secret_keys: Iterable[str] = (),
) -> dict[str, dict[str, Any]]:
    """Return ``{field: {"before": …, "after": …}}`` for each top-level field that changed.

    ``before=None`` describes a creation and ``after=None`` a deletion. A field
    missing on one side shows ``None`` there (absent and ``None`` count as
    equal). Changes are detected on the raw values, then both sides are
    masked, so a rotated secret shows as changed without revealing either
    value (its two masks may even look the same).
    """
    old, new = dict(before or {}), dict(after or {})
    extra = tuple(secret_keys)
    changes: dict[str, dict[str, Any]] = {}
    for name in sorted({*old, *new}, key=str):
        old_value, new_value = old.get(name), new.get(name)
        if _same(old_value, new_value):
            continue
        changes[name] = {
            "before": mask_secrets({name: old_value}, extra)[name],
            "after": mask_secrets({name: new_value}, extra)[name],
        }
    return changes


def _same(left: Any, right: Any) -> bool:
    # 1 == True and 1 == 1.0 in Python, but a field switching from 1 to true did change.
    if type(left) is not type(right):
        return False
    return bool(left == right)
