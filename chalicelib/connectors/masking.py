"""Mask secrets in everything a call leaves behind: traces, log lines, error messages.

Secrets are masked wherever they appear, not only where we put them: the raw
value, its URL-encoded and base64 forms (an API key echoed in a query string,
a Basic header), in headers, URLs and bodies alike. A masked secret shows at
most its last four characters, and nothing for short ones.
"""

from __future__ import annotations

import base64
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "••••"
_MIN_NEEDLE = 4
_TAIL_FROM_LENGTH = 16
ALWAYS_SENSITIVE_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key"}
)
SENSITIVE_KEYS = frozenset(
    {
        "password",
        "secret",
        "client_secret",
        "access_token",
        "refresh_token",
        "id_token",
        "api_key",
        "apikey",
        "token",
        "authorization",
        "private_key",
    }
)


def mask_secret(value: str) -> str:
    """``••••abcd`` for long secrets, ``••••`` for short ones."""
    if len(value) >= _TAIL_FROM_LENGTH:
        return MASK + value[-4:]
    return MASK


def _variants(secret: str) -> set[str]:
    raw = secret.encode("utf-8")
    return {
        secret,
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret),
        base64.b64encode(raw).decode("ascii"),
        base64.urlsafe_b64encode(raw).decode("ascii").rstrip("="),
    }


class SecretMasker:
    """Replaces known secret values (and their encodings) and redacts sensitive names."""

    def __init__(
        self,
        secrets: Iterable[str] = (),
        *,
        header_names: Iterable[str] = (),
        query_names: Iterable[str] = (),
    ) -> None:
        needles: dict[str, str] = {}
        for secret in secrets:
            if not isinstance(secret, str) or len(secret) < _MIN_NEEDLE:
                continue
            for variant in _variants(secret):
                if len(variant) >= _MIN_NEEDLE:
                    needles.setdefault(variant, mask_secret(secret))
        # Longest first, so a secret inside a longer encoded form is not half-replaced.
        self._needles = sorted(needles.items(), key=lambda item: -len(item[0]))
        self._header_names = ALWAYS_SENSITIVE_HEADERS | {h.lower() for h in header_names}
        self._query_names = {q.lower() for q in query_names} | SENSITIVE_KEYS

    def merged(self, other: SecretMasker) -> SecretMasker:
        """A masker that knows both maskers' secrets (e.g. before and after a token refresh)."""
        combined = SecretMasker()
        needles = dict(self._needles)
        needles.update(other._needles)
        combined._needles = sorted(needles.items(), key=lambda item: -len(item[0]))
        combined._header_names = self._header_names | other._header_names
        combined._query_names = self._query_names | other._query_names
        return combined

    def text(self, value: str) -> str:
        for needle, replacement in self._needles:
            if needle in value:
                value = value.replace(needle, replacement)
        return value

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        out = {}
        for name, value in headers.items():
            if name.lower() in self._header_names:
                out[name] = self._redact_header(value)
            else:
                out[name] = self.text(value)
        return out

    @staticmethod
    def _redact_header(value: str) -> str:
        scheme, _, rest = value.partition(" ")
        if rest and scheme.isalpha() and len(scheme) <= 10:
            return f"{scheme} {mask_secret(rest)}"  # keep "Bearer"/"Basic" for readability
        return mask_secret(value)

    def url(self, url: str) -> str:
        parts = urllib.parse.urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            netloc = MASK + "@" + netloc.rsplit("@", 1)[1]
        pairs = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
        if pairs:
            # Built by hand so the mask stays readable ("key=••••") instead of percent-encoded.
            query = "&".join(
                f"{urllib.parse.quote(k, safe='[]')}="
                + (MASK if k.lower() in self._query_names else urllib.parse.quote(v, safe=""))
                for k, v in pairs
            )
        else:
            query = parts.query
        return self.text(urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment)))

    def values(self, value: Any) -> Any:
        """Mask known secret values only (no key-name redaction): for data that must stay usable."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {k: self.values(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.values(v) for v in value]
        return value

    def body(self, value: Any) -> Any:
        """Mask a decoded body: sensitive keys redacted, every string scanned for secrets."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {
                k: (
                    MASK
                    if isinstance(k, str) and k.lower() in SENSITIVE_KEYS and v not in (None, "")
                    else self.body(v)
                )
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [self.body(v) for v in value]
        return value
