"""Keyset pagination: ``limit`` (default 50, max 200) and an opaque ``cursor``; newest first unless ``order=asc``.

The cursor carries the direction it was made for, so a cursor of one order is
refused (400 ``invalid_cursor``) in the other rather than silently skipping rows.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from typing import Any, Protocol

from sqlalchemy import Integer, Select, Table, and_, bindparam, or_

from chalicelib.cache import BoundedCache
from chalicelib.errors import BadRequest

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
ORDERS = ("desc", "asc")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def parse_limit(query: dict[str, str]) -> int:
    raw = query.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise BadRequest(f"limit must be an integer between 1 and {MAX_LIMIT}.", code="invalid_limit")
    return int(raw)


def parse_order(query: dict[str, str]) -> str:
    order = query.get("order") or "desc"
    if order not in ORDERS:
        raise BadRequest("order must be asc or desc.", code="invalid_filter")
    return order


def _encode(created_at: dt.datetime, row_id: str, order: str) -> str:
    position = [created_at.isoformat(), str(row_id)] + ([order] if order != "desc" else [])
    raw = json.dumps(position).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, order: str) -> tuple[dt.datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        position = json.loads(raw)
        created, row_id = position[0], str(position[1])
        made_for = position[2] if len(position) > 2 else "desc"
        at = dt.datetime.fromisoformat(created)
    except (ValueError, TypeError, IndexError, KeyError):
        raise BadRequest("The cursor is invalid.", code="invalid_cursor") from None
    if not _UUID.match(row_id) or made_for != order or len(position) > 3:
        raise BadRequest("The cursor is invalid (or was made for the other order).", code="invalid_cursor")
    return (at if at.tzinfo else at.replace(tzinfo=dt.UTC)), row_id


class Executes(Protocol):
    """What paging needs of a unit of work (``services.unit_of_work.UnitOfWork`` has it)."""

    def execute(self, statement: Any, params: Any = None) -> Any: ...


# The page statements of queries built once (``bound``): keyed by the query's identity, kept with the query.
_PAGES: BoundedCache[tuple[int, str, bool, str, str], tuple[Select, Select]] = BoundedCache(256)


def paginate(uow: Executes, query: Select, table: Table, params: dict[str, str],
             *, created: str = "created_at", key: str = "id", bound: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run ``query`` newest first (``order=asc``: oldest first), one page: ``{"items": [...], "next_cursor": …}``.

    ``bound``: ``query`` is built once (a module constant) with bound parameters, these are their values; its
    page statement (order, cursor and limit as bound parameters too) is then built once as well.
    """
    limit = parse_limit(params)
    order = parse_order(params)
    cursor = _decode(params["cursor"], order) if params.get("cursor") else None
    if bound is None:
        statement = _page(query, table, order, cursor, created, key).limit(limit + 1)
        values: dict[str, Any] = {}
    else:
        memo = (id(query), order, cursor is not None, created, key)
        kept = _PAGES.get(memo)
        if kept is None or kept[0] is not query:
            kept = (query, _page(query, table, order, cursor and (bindparam("page_at"), bindparam("page_id")),
                                 created, key).limit(bindparam("page_limit", type_=Integer)))
            _PAGES.put(memo, kept)
        statement = kept[1]
        values = {**bound, "page_limit": limit + 1}
        if cursor is not None:
            values.update(page_at=cursor[0], page_id=cursor[1])
    rows = uow.execute(statement, values).mappings().all() if values else uow.execute(statement).mappings().all()
    items = [dict(r) for r in rows[:limit]]
    next_cursor = _encode(rows[limit - 1][created], rows[limit - 1][key], order) if len(rows) > limit else None
    return {"items": items, "next_cursor": next_cursor}


def _page(query: Select, table: Table, order: str, cursor: tuple[Any, Any] | None, created: str, key: str) -> Select:
    """``query`` after ``cursor`` (values or bound parameters), in ``order``."""
    created_col, key_col = table.c[created], table.c[key]
    if cursor is not None:
        at, last_id = cursor
        if order == "asc":
            query = query.where(or_(created_col > at, and_(created_col == at, key_col > last_id)))
        else:
            query = query.where(or_(created_col < at, and_(created_col == at, key_col < last_id)))
    sort = (created_col.asc(), key_col.asc()) if order == "asc" else (created_col.desc(), key_col.desc())
    return query.order_by(*sort)


def parse_time(query: dict[str, str], name: str) -> dt.datetime | None:
    raw = query.get(name)
    if raw is None:
        return None
    try:
        value = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"{name} must be an RFC 3339 timestamp.", code="invalid_timestamp") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
