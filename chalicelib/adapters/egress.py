"""Egress policy for outbound HTTP made on a tenant's behalf (http_request steps, app actions, OAuth).

A tenant chooses the URLs these calls go to, so without a guard they could
reach the platform's own network: metadata endpoints (169.254.169.254),
private VPC addresses, loopback. Every outbound client gets :func:`guard` as a
request hook: the destination host is resolved and refused when any address
is private, loopback, link-local, reserved, multicast or unspecified.

:func:`outbound_client` is the one factory of those clients.

``OUTBOUND_ALLOW_PRIVATE`` lifts the guard; it defaults to on only for the
``local`` and ``test`` stages, where the vendor fakes live on 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
import socket

import httpx

from chalicelib.config import get_settings
from chalicelib.errors import SteplineError


class EgressDenied(SteplineError):
    """The destination resolves to an address outbound calls may not reach."""

    status, code, retryable = 422, "egress_denied", False
    default_message = "Outbound calls to private, loopback or link-local addresses are not allowed."


def private_allowed() -> bool:
    settings = get_settings()
    if settings.outbound_allow_private is not None:
        return settings.outbound_allow_private
    return settings.stage in ("local", "test")


def _forbidden(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast
            or ip.is_unspecified)


def check_host(host: str) -> None:
    """Raise :class:`EgressDenied` when ``host`` resolves to a forbidden address (or does not resolve)."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror:
        return  # the request itself will fail with a connection error, reported as such
    if any(_forbidden(str(info[4][0])) for info in infos):
        raise EgressDenied(f"Outbound calls to {host} are not allowed (private or internal address).")


def guard(request: httpx.Request) -> None:
    """httpx request hook: refuse forbidden destinations unless the stage allows them."""
    if not private_allowed():
        check_host(request.url.host)


EVENT_HOOKS = {"request": [guard]}


def outbound_client(*, headers: dict[str, str] | None = None) -> httpx.Client:
    """A pooled client for calls on a tenant's behalf: the guard as request hook, no redirects
    followed (a redirect could carry credentials to another host), no proxy or CA settings taken
    from the environment. Built once per process by its owner and reused while warm."""
    return httpx.Client(
        event_hooks=EVENT_HOOKS,
        follow_redirects=False,
        limits=httpx.Limits(max_connections=50, max_keepalive_connections=20, keepalive_expiry=30),
        headers=headers,
        trust_env=False,
    )
