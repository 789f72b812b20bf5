"""Keeping resolved secrets out of what a run stores (outputs, errors, logs).

Credentials and ``$secrets`` values are resolved per attempt and handed to the
handler; whatever the handler returns or raises is scrubbed of those values
before it is written, in case a remote echoed them back. The values a
``$secrets`` expression rendered to (after its filters) are added too, and
each value is also masked upper-cased, lower-cased and URL-encoded.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

MASK = "••••"
MIN_SECRET_CHARS = 4
# Credential fields that describe how to authenticate, not with what (never scrubbed).
DESCRIPTIVE_KEYS = frozenset({"type", "in", "name", "header", "username", "scheme", "token_type", "scope",
                              "expires_at", "expires_in"})


class Redactor:
    """Collects the secret values of one attempt and scrubs them from any JSON-like value."""

    def __init__(self) -> None:
        self._values: set[str] = set()

    def add_values(self, source: Any) -> None:
        if isinstance(source, dict):
            for key, value in source.items():
                if key not in DESCRIPTIVE_KEYS:
                    self.add_values(value)
        elif isinstance(source, (list, tuple)):
            for value in source:
                self.add_values(value)
        elif isinstance(source, (str, int, float)) and not isinstance(source, bool):
            text = str(source)
            if len(text) >= MIN_SECRET_CHARS:
                # the common re-spellings a remote may echo back, as well as the value itself
                self._values.update({text, text.upper(), text.lower(), urllib.parse.quote(text, safe="")})

    def scrub(self, value: Any) -> Any:
        if not self._values:
            return value
        if isinstance(value, str):
            for secret in sorted(self._values, key=len, reverse=True):
                value = value.replace(secret, MASK)
            return value
        if isinstance(value, dict):
            return {k: self.scrub(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.scrub(v) for v in value]
        return value
