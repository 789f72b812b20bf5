"""``/operator/*``: platform operations, reachable only with the operator credential."""

from __future__ import annotations

from pydantic import Field

from chalicelib.api.contract import SortedListQuery
from chalicelib.api.system_models import MailPage, ResetDone
from chalicelib.http.access import OPERATOR
from chalicelib.http.routing import Call, Routes
from chalicelib.services import demo, outbound_mail

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
    return outbound_mail.list_mail(call.query)
