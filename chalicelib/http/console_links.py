"""Sending a browser from an API route to a console page (same origin, so a relative Location)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from chalice import Response


def browser_navigation(headers: Any) -> bool:
    """A top-level browser navigation (a provider's redirect), not an API client."""
    return "text/html" in (headers.get("accept") or "").lower()


def console_redirect(path: str, query: dict[str, str]) -> Response:
    """303 to a console page; only ``path`` and the given query, never a secret or token."""
    location = f"{path}?{urlencode(query)}" if query else path
    return Response(body="", status_code=303, headers={"Location": location, "Cache-Control": "no-store"})
