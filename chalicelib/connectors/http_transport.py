"""The HTTP port the invoker and the OAuth2 client call, and its httpx adapter.

The port speaks in plain values (``OutboundRequest`` in, ``RawResponse`` out)
and raises the connector errors, so callers never import httpx and unit tests
can hand in a fake. The adapter owns the transport rules: explicit connect
and read timeouts plus an overall deadline, no redirects followed (a redirect
could carry credentials to another host), and a response size limit enforced
while streaming — reading stops at the limit.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx

from chalicelib.adapters.egress import outbound_client
from chalicelib.connectors.errors import ResponseTooLarge, UpstreamConnectionFailed, UpstreamTimeout
from chalicelib.errors import ConfigurationError

DEFAULT_MAX_RESPONSE_BYTES = 5 * 1024 * 1024

# httpx logs every request URL at INFO and httpcore logs response headers at DEBUG; an API key can
# ride in a query string or be echoed in a header, so these libraries only speak from WARNING up.
for _name in ("httpx", "httpcore"):
    if logging.getLogger(_name).level < logging.WARNING:
        logging.getLogger(_name).setLevel(logging.WARNING)
USER_AGENT = "Stepline-Connector/1.0"


@dataclass(frozen=True)
class Timeouts:
    """Per-attempt limits: ``connect`` and ``read`` (between bytes), ``total`` for the whole exchange."""

    connect: float = 5.0
    read: float = 30.0
    total: float = 30.0

    def __post_init__(self) -> None:
        for name in ("connect", "read", "total"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or math.isnan(value) or not 0 < value <= 900:
                raise ConfigurationError(f"Timeouts.{name} must be in (0, 900] seconds.")

    @classmethod
    def for_budget(cls, seconds: float) -> Timeouts:
        seconds = max(seconds, 0.001)
        return cls(connect=min(5.0, seconds), read=seconds, total=seconds)


@dataclass(frozen=True)
class OutboundRequest:
    """A fully built request (URL with query, encoded body)."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None


@dataclass(frozen=True)
class RawResponse:
    """A fully read response (headers with lower-case names)."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    elapsed_ms: int = 0


class HttpTransport(ABC):
    """Sends one request and reads its whole (bounded) response."""

    @abstractmethod
    def send(self, request: OutboundRequest, *, timeouts: Timeouts, max_response_bytes: int) -> RawResponse:
        """Raise ``UpstreamConnectionFailed``, ``UpstreamTimeout`` or ``ResponseTooLarge`` on failure."""

    def close(self) -> None:  # noqa: B027
        """Release pooled connections (optional: not every transport pools)."""


class HttpxTransport(HttpTransport):
    """``HttpTransport`` over a (shared, pooled) ``httpx.Client``."""

    def __init__(self, client: httpx.Client | None = None) -> None:
        self._owns_client = client is None
        self._client = client or outbound_client(headers={"User-Agent": USER_AGENT})

    @property
    def client(self) -> httpx.Client:
        return self._client

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def send(self, request: OutboundRequest, *, timeouts: Timeouts, max_response_bytes: int) -> RawResponse:
        started = time.monotonic()
        deadline = started + timeouts.total
        timeout = httpx.Timeout(
            connect=timeouts.connect, read=timeouts.read, write=timeouts.read, pool=timeouts.connect
        )
        try:
            with self._client.stream(
                request.method,
                request.url,
                headers=dict(request.headers),
                content=request.body,
                timeout=timeout,
                follow_redirects=False,
            ) as response:
                body = _read_bounded(response, max_response_bytes, deadline)
                headers = {k.lower(): v for k, v in response.headers.items()}
                status = response.status_code
        except httpx.ConnectTimeout as exc:
            raise UpstreamTimeout("Timed out connecting to the remote service.", phase="connect") from exc
        except httpx.PoolTimeout as exc:
            raise UpstreamTimeout("Timed out waiting for a pooled connection.", phase="connect") from exc
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout("The remote service did not answer in time.", phase="read") from exc
        except httpx.ConnectError as exc:
            raise UpstreamConnectionFailed(
                "Could not connect to the remote service.", request_sent=False
            ) from exc
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            raise UpstreamConnectionFailed(
                "The connection broke during the exchange.", request_sent=True
            ) from exc
        except httpx.TransportError as exc:
            raise UpstreamConnectionFailed("The HTTP transport failed.", request_sent=True) from exc
        elapsed_ms = int((time.monotonic() - started) * 1000)
        return RawResponse(status=status, headers=headers, body=body, elapsed_ms=elapsed_ms)


def _read_bounded(response: httpx.Response, limit: int, deadline: float) -> bytes:
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ResponseTooLarge(f"The remote response declares {declared} bytes; the limit is {limit}.")
    chunks: list[bytes] = []
    size = 0
    # iter_bytes yields decoded bytes, so a small compressed body cannot expand past the limit.
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            raise ResponseTooLarge(f"The remote response exceeds the limit of {limit} bytes.")
        if time.monotonic() > deadline:
            raise UpstreamTimeout(
                "The remote response took longer than the attempt's time limit.", phase="read"
            )
        chunks.append(chunk)
    return b"".join(chunks)


_DEFAULT: HttpTransport | None = None
_DEFAULT_LOCK = threading.Lock()


def default_transport() -> HttpTransport:
    """The process-wide pooled transport, created on first use and reused across warm invocations."""
    global _DEFAULT
    if _DEFAULT is None:
        with _DEFAULT_LOCK:
            if _DEFAULT is None:
                _DEFAULT = HttpxTransport()
    return _DEFAULT
