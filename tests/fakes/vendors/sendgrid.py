"""A fake of the SendGrid v3 API: bearer API keys, 202 on send, ``{"errors": [{"message", "field"}]}``."""

from __future__ import annotations

import re
import uuid

from tests.fakes.vendors.base import FakeResponse, FakeVendorServer, RecordedRequest, json_response

DEFAULT_API_KEY = "SG.fakeSendgridKey.0123456789abcdefghijklmnopqrstuv"


def sendgrid_errors(status: int, *errors: tuple[str, str | None]) -> FakeResponse:
    return json_response(status, {"errors": [{"message": m, "field": f, "help": None} for m, f in errors]})


class FakeSendGrid(FakeVendorServer):
    def __init__(self, api_key: str = DEFAULT_API_KEY) -> None:
        super().__init__()
        self.api_key = api_key
        self.sent: list[dict] = []
        self.contacts: dict[str, dict] = {}
        self.route("GET", r"/v3/scopes", self._scopes)
        self.route("POST", r"/v3/mail/send", self._send)
        self.route("PUT", r"/v3/marketing/contacts", self._upsert)
        self.route("POST", r"/v3/marketing/contacts/search/emails", self._search)

    def answer(self, request: RecordedRequest) -> FakeResponse:
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return sendgrid_errors(401, ("authorization required", None))
        return super().answer(request)

    def not_found(self, request: RecordedRequest, *, method_not_allowed: bool = False) -> FakeResponse:
        return sendgrid_errors(404, ("resource not found", None))

    def _scopes(self, request: RecordedRequest, _: re.Match[str]) -> FakeResponse:
        return json_response(200, {"scopes": ["mail.send", "marketing.read", "marketing.update"]})

    def _send(self, request: RecordedRequest, _: re.Match[str]) -> FakeResponse:
        body = request.json() or {}
        problems = []
        if not body.get("personalizations"):
            problems.append(
                (
                    "The personalizations field is required and must have at least one personalization.",
                    "personalizations",
                )
            )
        if not (body.get("from") or {}).get("email"):
            problems.append(
                (
                    "The from object must be provided for every email send. It is an object that requires "
                    "the email parameter, but may also contain a name parameter.",
                    "from.email",
                )
            )
        if not body.get("subject") and not body.get("template_id"):
            problems.append(
                (
                    "The subject is required. You can get around this requirement if you use a template "
                    "with a subject defined or if every personalization has a subject defined.",
                    "subject",
                )
            )
        if problems:
            return sendgrid_errors(400, *problems)
        self.sent.append(body)
        return FakeResponse(status=202, headers={"X-Message-Id": f"fake-{uuid.uuid4().hex[:16]}"})

    def _upsert(self, request: RecordedRequest, _: re.Match[str]) -> FakeResponse:
        body = request.json() or {}
        for contact in body.get("contacts", []):
            self.contacts[contact["email"]] = {"id": uuid.uuid4().hex, **contact}
        return json_response(202, {"job_id": str(uuid.uuid4())})

    def _search(self, request: RecordedRequest, _: re.Match[str]) -> FakeResponse:
        emails = (request.json() or {}).get("emails", [])
        found = {e: {"contact": self.contacts[e]} for e in emails if e in self.contacts}
        if not found:
            return sendgrid_errors(404, ("No contacts found", None))
        return json_response(200, {"result": found})
