"""Keyset pagination: ``limit`` (default 50, max 200) and an opaque ``cursor``; newest first."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

from sqlalchemy import Select, Table, and_, or_

from chalicelib.errors import BadRequest

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


def parse_limit(query: dict[str, str]) -> int:
    raw = query.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise BadRequest(f"limit must be an integer between 1 and {MAX_LIMIT}.", code="invalid_limit")
    return int(raw)


def _encode(created_at: dt.datetime, row_id: str) -> str:
    raw = json.dumps([created_at.isoformat(), str(row_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> tuple[dt.datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, row_id = json.loads(raw)
        return dt.datetime.fromisoformat(created), str(row_id)
    except (ValueError, TypeError):
        raise BadRequest("The cursor is invalid.", code="invalid_cursor") from None


def paginate(uow: Any, query: Select, table: Table, params: dict[str, str],
             *, created: str = "created_at", key: str = "id") -> dict[str, Any]:
    """Run ``query`` newest first, one page; returns ``{"items": [...], "next_cursor": …}``."""
    limit = parse_limit(params)
    created_col, key_col = table.c[created], table.c[key]
    if params.get("cursor"):
        at, last_id = _decode(params["cursor"])
        query = query.where(or_(created_col < at, and_(created_col == at, key_col < last_id)))
    rows = uow.execute(query.order_by(created_col.desc(), key_col.desc()).limit(limit + 1)).mappings().all()
    items = [dict(r) for r in rows[:limit]]
    next_cursor = _encode(rows[limit - 1][created], rows[limit - 1][key]) if len(rows) > limit else None
    return {"items": items, "next_cursor": next_cursor}


def parse_time(query: dict[str, str], name: str) -> dt.datetime | None:
    raw = query.get(name)
    if raw is None:
        return None
    try:
        value = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"{name} must be an RFC 3339 timestamp.", code="invalid_timestamp") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
