"""Paging for lists that are not one SQL query: the built-in catalog, and the catalog followed by rows.

Same contract as ``chalicelib.db.pagination`` (``limit`` default 50, max 200,
an opaque ``cursor``, ``{"items", "next_cursor"}``). Catalog items are a fixed,
ordered list, so an offset is a stable position in them.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from typing import Any

from chalicelib.db.pagination import parse_limit
from chalicelib.errors import BadRequest


def encode_cursor(state: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict[str, Any]:
    if not cursor:
        return {}
    try:
        state = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError):
        raise BadRequest("The cursor is invalid.", code="invalid_cursor") from None
    if not isinstance(state, dict):
        raise BadRequest("The cursor is invalid.", code="invalid_cursor")
    return state


def _offset(state: dict[str, Any], key: str = "o") -> int:
    value = state.get(key, 0)
    if not isinstance(value, int) or value < 0:
        raise BadRequest("The cursor is invalid.", code="invalid_cursor")
    return value


def page_of(items: Sequence[dict[str, Any]], params: dict[str, str]) -> dict[str, Any]:
    """One page of an in-memory, stably ordered list."""
    limit = parse_limit(params)
    start = _offset(decode_cursor(params.get("cursor")))
    page = list(items[start : start + limit])
    more = start + limit < len(items)
    return {"items": page, "next_cursor": encode_cursor({"o": start + limit}) if more else None}


def catalog_then_rows(
    catalog: Sequence[dict[str, Any]],
    rows_page: Callable[[int, str | None], dict[str, Any]] | None,
    params: dict[str, str],
) -> dict[str, Any]:
    """Catalog items first, then rows (``rows_page(limit, row_cursor)`` pages them, newest first).

    ``rows_page`` is ``None`` when rows are filtered out. The cursor remembers
    which part it is in: ``{"o": offset}`` in the catalog, ``{"r": row cursor}`` after it.
    """
    limit = parse_limit(params)
    state = decode_cursor(params.get("cursor"))
    items: list[dict[str, Any]] = []
    row_cursor: str | None = None
    if "r" in state:
        row_cursor = state["r"] if isinstance(state["r"], str) else None
    else:
        start = _offset(state)
        items = list(catalog[start : start + limit])
        if start + limit < len(catalog):
            return {"items": items, "next_cursor": encode_cursor({"o": start + limit})}
    room = limit - len(items)
    if rows_page is None:
        return {"items": items, "next_cursor": None}
    if room == 0:
        peek = rows_page(1, None)
        return {"items": items, "next_cursor": encode_cursor({"r": ""}) if peek["items"] else None}
    page = rows_page(room, row_cursor or None)
    items += page["items"]
    next_cursor = encode_cursor({"r": page["next_cursor"]}) if page["next_cursor"] else None
    return {"items": items, "next_cursor": next_cursor}
