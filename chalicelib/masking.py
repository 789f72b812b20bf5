"""Masking secrets: the one place that decides what is secret and how a secret is shown.

Two ways in, one rule set:

- **By name** (:func:`mask_secrets`, :func:`diff`, :func:`is_secret_key`): a value is secret
  when its key looks secret (``password``, ``client_secret``, ``X-Api-Key``,
  ``refresh_token`` … or any key the caller names), or when the value itself looks like a
  credential whatever its key (a Stepline opaque token, a JWT, a PEM private key, an
  ``Authorization``-style ``Bearer`` value). Used for records shown or audited.
- **By value** (:class:`SecretMasker`): known secret values are replaced wherever they
  appear, not only where we put them: the raw value, its upper- and lower-cased,
  URL-encoded and base64 forms (an API key echoed in a query string, a Basic header, a
  remote that re-spells what it received), in headers, URLs and bodies alike. Used for
  what a call or a step leaves behind: traces, log lines, error messages, run records.

- **HTTP requests as received** (:func:`is_sensitive_header`, :meth:`SecretMasker.request_headers`,
  :meth:`SecretMasker.document`, :meth:`SecretMasker.form`, :func:`mask_secret_pairs`): what a
  sender posted (a webhook delivery), kept for debugging: every credential or signature header
  redacted by name, secret-looking keys of a JSON or form body redacted, known secret values
  replaced wherever they appear.

Masked strings keep at most their last 4 characters (``••••abcd``) and only when they
are long enough for those 4 to reveal nothing useful; password-like keys and short
values show ``••••`` alone. Non-string secrets (numbers, objects, lists) become ``••••``
whole. ``None`` and ``""`` stay as they are: "not set" is not a secret.
"""

from __future__ import annotations

import base64
import functools
import re
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "••••"
# Below this length even 4 characters are a meaningful share of the secret.
_MIN_LENGTH_FOR_HINT = 16
_HINT_LENGTH = 4
_MAX_DEPTH = 64
# Shorter known values are not searched for: they would mask ordinary text.
_MIN_NEEDLE = 4

ALWAYS_SENSITIVE_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key"}
)

# Authorization schemes shown before a masked credential ("Bearer ••••").
_AUTH_SCHEMES = frozenset({"bearer", "basic", "digest", "token", "negotiate", "hoba", "mutual"})

# A header whose name contains one of these carries a signature (``Stripe-Signature``,
# ``X-Hub-Signature-256``, ``X-Shopify-Hmac-Sha256``, ``webhook-signature`` …): proof made with a
# secret, redacted like a credential.
_SIGNATURE_HEADER_PARTS = ("signature", "hmac")

# Compared against the key lower-cased with every non-alphanumeric character removed, so
# "client_secret", "Client-Secret" and "clientSecret" all match "secret".
_SECRET_KEY_PARTS = (
    "password", "passwd", "passphrase", "secret", "token", "apikey", "authorization",
    "privatekey", "credential", "cookie", "signingkey", "encryptionkey", "accesskey",
)
_SECRET_KEYS_EXACT = frozenset({"pwd", "pin", "otp", "auth", "bearer"})
# Keys that contain a secret-looking part but only describe how to authenticate.
_DESCRIPTIVE_KEYS = frozenset({"tokentype", "tokenurl"})
# Keys whose values must not even show a hint: passwords are short enough that 4 characters help.
_NO_HINT_KEY_PARTS = ("password", "passwd", "passphrase", "pwd", "pin", "otp")

_SECRET_VALUE_PATTERNS = (
    re.compile(r"^(slr|slp|sli|slk)_[A-Za-z0-9_-]{20,}$"),  # Stepline opaque tokens
    re.compile(r"^eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$"),  # JWS compact form
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"^(bearer|basic)\s+\S{8,}", re.IGNORECASE),
)
# The same patterns as one expression: every string of every webhook body is checked against it.
_SECRET_VALUE = re.compile("|".join(
    f"(?i:{pattern.pattern})" if pattern.flags & re.IGNORECASE else f"(?:{pattern.pattern})"
    for pattern in _SECRET_VALUE_PATTERNS))


def _normalise_key(key: str) -> str:
    return re.sub(r"[^a-z0-9]", "", key.lower())


def is_secret_key(key: object, secret_keys: Iterable[str] = ()) -> bool:
    """Whether a mapping key names a secret (built-in patterns, or exactly one of ``secret_keys``)."""
    if not isinstance(key, str):
        return False
    if secret_keys:
        normalised = _normalise_key(key)
        if normalised and normalised in {_normalise_key(extra) for extra in secret_keys}:
            return True
    return _is_builtin_secret_key(key)


# Keys repeat (every item of a list has the same ones): each distinct key is judged once.
@functools.lru_cache(maxsize=4096)
def _is_builtin_secret_key(key: str) -> bool:
    normalised = _normalise_key(key)
    if not normalised or normalised in _DESCRIPTIVE_KEYS:
        return False
    return normalised in _SECRET_KEYS_EXACT or any(part in normalised for part in _SECRET_KEY_PARTS)


def is_sensitive_header(name: str, extra_names: Iterable[str] = ()) -> bool:
    """Whether an HTTP header carries a credential or a signature (by its name)."""
    lowered = name.lower()
    if extra_names and lowered in {extra.lower() for extra in extra_names}:
        return True
    return _is_builtin_sensitive_header(lowered)


@functools.lru_cache(maxsize=1024)
def _is_builtin_sensitive_header(lowered: str) -> bool:
    if lowered in ALWAYS_SENSITIVE_HEADERS or _is_builtin_secret_key(lowered):
        return True
    normalised = _normalise_key(lowered)
    return any(part in normalised for part in _SIGNATURE_HEADER_PARTS)


# ``"key": "value"`` (JSON-like) and ``key=value`` (form, query, log-like) pairs in free text.
_JSON_PAIR = re.compile(r'"(?P<key>[^"\\]{1,100})"(?P<sep>\s*:\s*)(?P<value>"(?:[^"\\]|\\.)*"?|[^,}\]\s{\[][^,}\]\s]*)')
_FORM_PAIR = re.compile(r"(?P<key>(?<![A-Za-z0-9_.-])[A-Za-z0-9_.\[\]-]{1,100})(?P<sep>=)(?P<value>[^&\s]*)")


def mask_secret_pairs(text: str) -> str:
    """Redact the values of secret-looking keys in text that is not (or no longer) a whole document.

    For a body that does not parse, or that was cut at a bound: the structure is gone, but
    ``"password": "…"`` and ``token=…`` still say which value is secret.
    """
    def redact(match: re.Match[str]) -> str:
        if not is_secret_key(match["key"]):
            return match[0]
        quoted = match["value"].startswith('"')
        return match[0][: match.start("value") - match.start()] + (f'"{MASK}"' if quoted else MASK)

    return _FORM_PAIR.sub(redact, _JSON_PAIR.sub(redact, text))


def looks_like_secret_value(value: object) -> bool:
    """Whether a string looks like a credential regardless of where it appears."""
    return isinstance(value, str) and _SECRET_VALUE.search(value) is not None


def secret_hint(value: str) -> str | None:
    """The last 4 characters of a secret long enough for them to reveal nothing useful, else ``None``."""
    return value[-_HINT_LENGTH:] if len(value) >= _MIN_LENGTH_FOR_HINT else None


def mask_secret(value: str) -> str:
    """``••••abcd`` for long secrets, ``••••`` for short ones."""
    return MASK + (secret_hint(value) or "")


def mask_value(value: Any, *, show_hint: bool = True) -> Any:
    """Mask one secret value: ``••••abcd`` for long strings (when ``show_hint``), else ``••••``."""
    if value is None or value == "":
        return value
    if isinstance(value, str) and show_hint:
        return mask_secret(value)
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


def _variants(secret: str) -> set[str]:
    raw = secret.encode("utf-8")
    return {
        secret,
        secret.upper(),
        secret.lower(),
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret),
        base64.b64encode(raw).decode("ascii"),
        base64.urlsafe_b64encode(raw).decode("ascii").rstrip("="),
    }


# Credential fields that describe how to authenticate, not with what (never taken as secret values).
DESCRIPTIVE_FIELDS = frozenset({"type", "in", "name", "header", "username", "scheme", "token_type", "scope",
                                "expires_at", "expires_in"})


_NO_NAMES: frozenset[str] = frozenset()


class SecretMasker:
    """Replaces known secret values (and their encodings) and redacts sensitive names.

    ``show_hint=False`` replaces a secret by ``••••`` alone, whatever its length (for run
    records, which keep no hint of a credential).
    """

    def __init__(
        self,
        secrets: Iterable[str] = (),
        *,
        header_names: Iterable[str] = (),
        query_names: Iterable[str] = (),
        show_hint: bool = True,
    ) -> None:
        self._show_hint = show_hint
        self._replacements: dict[str, str] = {}
        self._needles: list[tuple[str, str]] = []
        for secret in secrets:
            self.add(secret)
        # (Built only when given: a masker is made per step attempt, most with no names of their own.)
        self._header_names = (ALWAYS_SENSITIVE_HEADERS | {h.lower() for h in header_names} if header_names
                              else ALWAYS_SENSITIVE_HEADERS)
        self._query_names = frozenset(q.lower() for q in query_names) if query_names else _NO_NAMES

    def add(self, secret: object) -> None:
        """Also mask ``secret`` (strings and numbers of 4+ characters; anything else is ignored)."""
        if isinstance(secret, bool) or not isinstance(secret, (str, int, float)):
            return
        text = str(secret)
        if len(text) < _MIN_NEEDLE:
            return
        replacement = mask_secret(text) if self._show_hint else MASK
        added = False
        for variant in _variants(text):
            if len(variant) >= _MIN_NEEDLE and variant not in self._replacements:
                self._replacements[variant] = replacement
                added = True
        if added:
            # Longest first, so a secret inside a longer encoded form is not half-replaced.
            self._needles = sorted(self._replacements.items(), key=lambda item: -len(item[0]))

    def add_values(self, source: Any) -> None:
        """Mask every value in ``source`` (a credential mapping, a list, a scalar), except descriptive fields."""
        if isinstance(source, Mapping):
            for key, value in source.items():
                if key not in DESCRIPTIVE_FIELDS:
                    self.add_values(value)
        elif isinstance(source, (list, tuple)):
            for value in source:
                self.add_values(value)
        else:
            self.add(source)

    def merged(self, other: SecretMasker) -> SecretMasker:
        """A masker that knows both maskers' secrets (e.g. before and after a token refresh)."""
        combined = SecretMasker(show_hint=self._show_hint)
        combined._replacements = {**self._replacements, **other._replacements}
        combined._needles = sorted(combined._replacements.items(), key=lambda item: -len(item[0]))
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

    def _redact_header(self, value: str) -> str:
        scheme, _, rest = value.partition(" ")
        if rest and scheme.isalpha() and len(scheme) <= 10:  # keep "Bearer"/"Basic" for readability
            return f"{scheme} {mask_value(rest, show_hint=self._show_hint)}"
        return mask_value(value, show_hint=self._show_hint)

    def request_headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        """Headers as a sender sent them: credential and signature headers (by name) redacted."""
        out = {}
        for name, value in headers.items():
            if name.lower() in self._header_names or _is_builtin_sensitive_header(name.lower()):
                scheme, _, rest = value.partition(" ")
                keep_scheme = bool(rest) and scheme.lower() in _AUTH_SCHEMES  # "Bearer ••••", never a word of a key
                hidden = mask_value(rest if keep_scheme else value, show_hint=self._show_hint)
                out[name] = f"{scheme} {hidden}" if keep_scheme else hidden
            else:
                out[name] = self.text(value)
        return out

    def document(self, value: Any, *, scan: bool = True, depth: int = 0) -> Any:
        """A decoded JSON document: values under secret-looking keys and credential-like strings redacted,
        known secrets replaced in every string (keys included). One pass: it runs on every webhook delivery.

        ``scan=False`` skips looking for known secrets in strings, for a document whose source text was
        found free of them (and of escapes that could hide one).
        """
        if depth > _MAX_DEPTH:
            return MASK  # deeper than any legitimate document; refuse to guess
        if isinstance(value, str):
            if looks_like_secret_value(value):
                return mask_value(value, show_hint=self._show_hint)
            return self.text(value) if scan else value
        if isinstance(value, dict):
            return {
                (self.text(k) if scan and isinstance(k, str) else k):
                    (MASK if is_secret_key(k) and v is not None and v != ""
                     else self.document(v, scan=scan, depth=depth + 1))
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [self.document(v, scan=scan, depth=depth + 1) for v in value]
        return value

    def form(self, text: str) -> str:
        """An ``application/x-www-form-urlencoded`` body: secret-looking fields redacted, known secrets replaced."""
        pairs = urllib.parse.parse_qsl(text, keep_blank_values=True)
        # Built by hand so the mask stays readable ("token=••••") instead of percent-encoded.
        return "&".join(
            self.text(urllib.parse.quote(k, safe="[]")) + "="
            + (MASK if is_secret_key(k) and v else self.text(urllib.parse.quote(v, safe="")))
            for k, v in pairs
        )

    def _secret_query_name(self, name: str) -> bool:
        return name.lower() in self._query_names or is_secret_key(name)

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
                + (MASK if self._secret_query_name(k) else urllib.parse.quote(v, safe=""))
                for k, v in pairs
            )
        else:
            query = parts.query
        return self.text(urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment)))

    def values(self, value: Any) -> Any:
        """Mask known secret values only (no key-name redaction): for data that must stay usable."""
        if not self._needles:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {k: self.values(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.values(v) for v in value]
        return value

    def body(self, value: Any) -> Any:
        """Mask a decoded body: values under secret-looking keys redacted, every string scanned for secrets."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {
                k: (MASK if is_secret_key(k) and v not in (None, "") else self.body(v))
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [self.body(v) for v in value]
        return value
