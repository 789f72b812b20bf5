"""Opaque random tokens: refresh, password-reset, invite and API tokens.

Format: ``<prefix>_<43 url-safe characters>`` (32 random bytes). The prefix
says what a token is for (``slr_`` refresh, ``slp_`` password reset, ``sli_``
invite, ``slk_`` API key), so a leaked token is recognisable by secret
scanners and an ``Authorization`` header can be routed to the right check
without a database round trip.

Only ``hash_token(token)`` (SHA-256, hex) is ever stored. A token carries 256
bits of randomness, so a fast unsalted hash is enough: there is nothing to
brute-force, and lookups by hash stay indexable.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from enum import Enum

from chalicelib.masking import MASK

_RANDOM_BYTES = 32
_BODY_PATTERN = r"[A-Za-z0-9_-]{43}"


class TokenPurpose(Enum):
    """What an opaque token is for; the value is its prefix (without the underscore)."""

    REFRESH = "slr"
    PASSWORD_RESET = "slp"
    INVITE = "sli"
    API = "slk"

    @property
    def prefix(self) -> str:
        """The literal start of every token of this purpose, e.g. ``"slk_"``."""
        return f"{self.value}_"


_WELL_FORMED = re.compile(rf"^(slr|slp|sli|slk)_{_BODY_PATTERN}$")


@dataclass(frozen=True)
class IssuedToken:
    """A freshly generated token: show ``value`` to its owner once, store only ``token_hash``."""

    purpose: TokenPurpose
    value: str = field(repr=False)
    token_hash: str

    @property
    def masked(self) -> str:
        """Display form, e.g. ``slk_••••9xQz``."""
        return mask_token(self.value)


def generate_token(purpose: TokenPurpose) -> IssuedToken:
    """Create a new random token of ``purpose`` with its storage hash."""
    value = purpose.prefix + secrets.token_urlsafe(_RANDOM_BYTES)
    return IssuedToken(purpose=purpose, value=value, token_hash=hash_token(value))


def hash_token(token: str) -> str:
    """Return the SHA-256 hex digest of the whole token (prefix included): the only stored form."""
    if not isinstance(token, str):
        raise TypeError("token must be a string")
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_matches(token: str, stored_hash: str) -> bool:
    """Constant-time check that ``token`` hashes to ``stored_hash``; ``False`` for malformed input."""
    if not isinstance(token, str) or not isinstance(stored_hash, str):
        return False
    return hmac.compare_digest(hash_token(token).encode("ascii"), stored_hash.encode("utf-8"))


def purpose_of(token: str) -> TokenPurpose | None:
    """Return the purpose of a well-formed opaque token, ``None`` for anything else (e.g. a JWT)."""
    if not isinstance(token, str) or not _WELL_FORMED.match(token):
        return None
    return TokenPurpose(token[:3])


def is_well_formed(token: str, purpose: TokenPurpose) -> bool:
    """Return whether ``token`` has the shape of a ``purpose`` token (cheap pre-check before a lookup)."""
    return purpose_of(token) is purpose


def mask_token(token: str) -> str:
    """Display form: prefix and last 4 characters (``slk_••••9xQz``); only ``••••`` if malformed.

    A malformed value may be a secret of unknown shape (a password pasted in the
    wrong field), so nothing of it is shown.
    """
    purpose = purpose_of(token)
    if purpose is None:
        return MASK
    return f"{purpose.prefix}{MASK}{token[-4:]}"
