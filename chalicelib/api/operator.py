"""``/operator/*``: platform operations, reachable only with the operator credential."""

from __future__ import annotations

from pydantic import Field
from sqlalchemy import select

from chalicelib.api.contract import SortedListQuery
from chalicelib.api.system_models import MailPage, ResetDone
from chalicelib.db.uow import system_uow
from chalicelib.http.access import OPERATOR
from chalicelib.http.pagination import paginate
from chalicelib.http.routing import Call, Routes
from chalicelib.services import demo
from chalicelib.tables.identity import outbound_mail

routes = Routes("operator")


class MailFilters(SortedListQuery):
    to: str | None = Field(None, max_length=320, description="Mail to this address.")


@routes.route("/operator/reset", methods=("POST",), access=OPERATOR, response=ResetDone)
def reset(call: Call):
    """Purge business data, reseed the demo tenants, invalidate every session."""
    return demo.reset()


@routes.route("/operator/mail", access=OPERATOR, response=MailPage, query=MailFilters)
def list_mail(call: Call):
    """Captured outbound mail (local mail backend): reset and invite links."""
    query = select(outbound_mail)
    if call.query.get("to"):
        query = query.where(outbound_mail.c.to_address == call.query["to"].strip().lower())
    with system_uow() as uow:
        return paginate(uow, query, outbound_mail, call.query)
