"""The connector services' collaborators, built lazily once per container and replaceable in tests.

- ``cipher()``: the ``EnvelopeCipher`` sealing secrets at rest (see ``chalicelib.crypto.kek``).
- ``invoker()``: the ``ActionInvoker`` over the process-wide pooled HTTP transport.
- ``oauth_transport()``: the transport of OAuth2 token requests (the same pool).
- ``state_signer()``: signs OAuth2 ``state`` with ``STATE_SIGNING_KEY``.
- ``now()``: the clock deciding when a token needs refreshing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from chalicelib.config import get_settings
from chalicelib.connectors.http_transport import HttpTransport, default_transport
from chalicelib.connectors.invoker import ActionInvoker
from chalicelib.connectors.oauth2 import StateSigner
from chalicelib.crypto.envelope import EnvelopeCipher
from chalicelib.errors import ConfigurationError

_LOCK = threading.Lock()
_parts: dict[str, Any] = {}


def _lazy(name: str, build: Callable[[], Any]) -> Any:
    part = _parts.get(name)
    if part is None:
        with _LOCK:
            part = _parts.get(name)
            if part is None:
                part = _parts[name] = build()
    return part


def cipher() -> EnvelopeCipher:
    from chalicelib.crypto.kek import build_cipher

    return _lazy("cipher", build_cipher)


def invoker() -> ActionInvoker:
    return _lazy("invoker", lambda: ActionInvoker(default_transport()))


def oauth_transport() -> HttpTransport:
    return _lazy("oauth_transport", default_transport)


def state_signer() -> StateSigner:
    def build() -> StateSigner:
        key = get_settings().state_signing_key
        if not key or len(key.encode("utf-8")) < 32:
            raise ConfigurationError("STATE_SIGNING_KEY must be set (at least 32 characters) to use OAuth2.")
        return StateSigner(key.encode("utf-8"))

    return _lazy("state_signer", build)


def now() -> datetime:
    clock = _parts.get("clock")
    return clock() if clock is not None else datetime.now(UTC)


def override(**parts: Any) -> None:
    """Replace collaborators (``cipher``, ``invoker``, ``oauth_transport``, ``state_signer``, ``clock``)."""
    unknown = set(parts) - {"cipher", "invoker", "oauth_transport", "state_signer", "clock"}
    if unknown:
        raise ValueError(f"unknown connector collaborators: {sorted(unknown)}")
    with _LOCK:
        _parts.update(parts)


def reset() -> None:
    """Forget every collaborator; the next use rebuilds it from the settings."""
    with _LOCK:
        _parts.clear()
