"""What a webhook sender posted, as its delivery keeps it: the headers and the body, bounded and masked.

A delivery's raw request is what someone debugging an integration needs, and
also what a sender's credentials travel in. Everything here goes through the
one masking module (``chalicelib.masking``):

- **headers** keep their names and values, except credential and signature
  headers (``Authorization``, ``Cookie``, ``X-Api-Key``, every scheme's
  signature header, any name that looks secret), which are redacted whole;
- **body**, by what it is:

  ``json``    a JSON document, complete: values under secret-looking keys
              (``password``, ``token``, ``api_key`` …) redacted. Stored as sent
              when nothing needed masking, else re-serialised after masking;
  ``text``    UTF-8 text (plain, form, XML, a JSON document that does not parse
              or was cut at the bound): form fields and ``"key": value`` /
              ``key=value`` pairs with secret-looking keys redacted;
  ``binary``  not UTF-8 text (or text with NUL characters): only its size is
              kept. Secrets in arbitrary bytes cannot be found reliably, so no
              byte of such a body is stored.

  A body is kept up to :data:`BODY_LIMIT_BYTES` (of its masked UTF-8 form);
  beyond that it is cut and ``truncated`` is set (the original size stays in
  the delivery's ``body_bytes``). Masking always happens before the cut, so a
  cut can never expose half a secret;
- the trigger's signing secrets (current and previous) are replaced wherever
  they appear, in headers and body, in their usual encodings, by ``••••``
  with no hint.

Pure: no I/O. ``services/triggers/webhooks`` captures every delivery it records.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.cache import BoundedCache
from chalicelib.errors import BadRequest
from chalicelib.json_codec import decode_json
from chalicelib.masking import SecretMasker, mask_secret_pairs
from chalicelib.triggers.signatures import SIGNATURE_HEADERS, STANDARD_SECRET_PREFIX

BODY_LIMIT_BYTES = 64 * 1024
MAX_HEADERS = 100
HEADER_VALUE_LIMIT = 4096
JSON, TEXT, BINARY = "json", "text", "binary"
# "Not parsed yet": the caller may pass the body it already parsed (the accept path parses it anyway).
UNPARSED: Any = object()


@dataclass(frozen=True)
class CapturedRequest:
    """A request as a delivery records it (already masked and bounded)."""

    method: str
    headers: dict[str, str]
    body: str | None
    body_encoding: str  # json | text | binary
    truncated: bool

    def columns(self) -> dict[str, Any]:
        """The ``trigger_deliveries`` columns that hold it."""
        return {"request_method": self.method, "request_headers": self.headers, "request_body": self.body,
                "request_body_encoding": self.body_encoding, "request_truncated": self.truncated}


# Maskers by the secrets they mask, as long as ``services/triggers/secrets`` keeps an opened secret.
_MASKERS: BoundedCache[tuple[str | None, ...], SecretMasker] = BoundedCache(256, ttl_seconds=300.0)


def secret_masker(secrets: Iterable[str | None]) -> SecretMasker:
    """A masker for one trigger's deliveries: its signing secrets by value, signature headers by name.

    Built once per set of secrets (every encoding of each is a needle: the costly part of a capture) and
    kept as briefly as the opened secrets themselves (``services/triggers/secrets``); a masker is only
    read once built."""
    key = tuple(secrets)
    found = _MASKERS.get(key)
    if found is None:
        found = _masker(key)
        _MASKERS.put(key, found)
    return found


def _masker(secrets: tuple[str | None, ...]) -> SecretMasker:
    needles: list[str] = []
    for secret in secrets:
        if secret:
            needles.append(secret)
            if secret.startswith(STANDARD_SECRET_PREFIX):  # the key material alone, as some senders log it
                needles.append(secret[len(STANDARD_SECRET_PREFIX):])
    return SecretMasker(needles, header_names=SIGNATURE_HEADERS, show_hint=False)


def capture(method: str, headers: Mapping[str, str], raw_body: bytes, masker: SecretMasker, *,
            content_type: str | None = None, parsed: Any = UNPARSED,
            limit: int = BODY_LIMIT_BYTES) -> CapturedRequest:
    """Mask and bound one request; ``parsed`` is its JSON body when the caller already decoded it."""
    kept = masker.request_headers(_bounded_headers(headers))
    body, encoding, truncated = _body(raw_body, masker, _media_type(content_type, headers), parsed, limit)
    return CapturedRequest(method.upper(), kept, body, encoding, truncated)


def _bounded_headers(headers: Mapping[str, str]) -> dict[str, str]:
    kept: dict[str, str] = {}
    for name, value in list(headers.items())[:MAX_HEADERS]:
        # PostgreSQL's JSONB holds no NUL character.
        kept[_clean(str(name))[:200].lower()] = _clean(str(value))[:HEADER_VALUE_LIMIT]
    return kept


def _clean(text: str) -> str:
    return text.replace("\x00", "\ufffd")


def _media_type(content_type: str | None, headers: Mapping[str, str]) -> str:
    if content_type is None:
        content_type = next((str(v) for k, v in headers.items() if str(k).lower() == "content-type"), "")
    return content_type.split(";", 1)[0].strip().lower()


def _is_json(media_type: str) -> bool:
    return not media_type or media_type == "application/json" or media_type.endswith("+json")


def _body(raw: bytes, masker: SecretMasker, media_type: str, parsed: Any,
          limit: int) -> tuple[str | None, str, bool]:
    over = len(raw) > 4 * limit  # far beyond the bound: only a prefix is ever read
    text = _text(raw[: 4 * limit], cut=True) if over else _text(raw, cut=False)
    if text is None:
        return None, BINARY, False
    if _is_json(media_type) and text.strip() and (parsed is not UNPARSED or not over):
        document = _document(text, parsed)
        if document is not UNPARSED:
            # No known secret in the text, and no escape that could spell one differently: none in its strings.
            clean = "\\" not in text and masker.text(text) == text
            masked = masker.document(document, scan=not clean)
            if not over and clean and masked == document:
                as_json = text  # nothing secret in it: keep the sender's own bytes (signatures are over them)
            else:
                as_json = json.dumps(masked, ensure_ascii=False, separators=(",", ":"))
            cut, truncated = _cut(as_json, limit)
            return cut, (TEXT if truncated else JSON), truncated
    if media_type == "application/x-www-form-urlencoded":
        masked_text = masker.form(text)
    else:
        masked_text = mask_secret_pairs(masker.text(text))
    cut, truncated = _cut(masked_text, limit)
    return cut, TEXT, truncated or over


def _text(raw: bytes, *, cut: bool) -> str | None:
    """The bytes as UTF-8 text (when ``cut``, a character split by the cut is dropped), or None for binary."""
    for trim in range(4 if cut else 1):
        try:
            text = raw[: len(raw) - trim].decode("utf-8")
        except UnicodeDecodeError:
            continue
        return None if "\x00" in text else text
    return None


def _document(text: str, parsed: Any) -> Any:
    if parsed is not UNPARSED:
        return parsed
    try:
        return decode_json(text)
    except BadRequest:
        return UNPARSED


def _cut(text: str, limit: int) -> tuple[str, bool]:
    if len(text) <= limit // 4:  # at most 4 bytes a character: surely within the bound
        return text, False
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text, False
    return encoded[:limit].decode("utf-8", errors="ignore"), True
