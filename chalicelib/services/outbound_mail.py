"""The outbound mail captured by the local mail backend (reset and invite links), for operators."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from chalicelib.db.pagination import paginate
from chalicelib.db.uow import system_uow
from chalicelib.tables.identity import outbound_mail


def list_mail(params: dict[str, str]) -> dict[str, Any]:
    """One page of captured mail, newest first; ``to`` narrows it to one address."""
    query = select(outbound_mail)
    if params.get("to"):
        query = query.where(outbound_mail.c.to_address == params["to"].strip().lower())
    with system_uow() as uow:
        return paginate(uow, query, outbound_mail, params)
