"""A fake of the HubSpot CRM API: bearer tokens (OAuth2 or private app),
``{"status": "error", "message", "category"}`` errors, EXPIRED_AUTHENTICATION on old tokens."""

from __future__ import annotations

import re
import threading
import uuid

from tests.fakes.vendors.base import FakeResponse, FakeVendorServer, RecordedRequest, json_response

PRIVATE_APP_TOKEN = "pat-na1-fake-hubspot-private-app-token-0123"


def hubspot_error(status: int, category: str, message: str, **extra: str) -> FakeResponse:
    return json_response(
        status,
        {
            "status": "error",
            "message": message,
            "correlationId": str(uuid.uuid4()),
            "category": category,
            **extra,
        },
    )


class FakeHubSpot(FakeVendorServer):
    def __init__(self, tokens: set[str] | None = None) -> None:
        super().__init__()
        self.valid_tokens = set(tokens if tokens is not None else {PRIVATE_APP_TOKEN})
        self.expired_tokens: set[str] = set()
        self.contacts: dict[str, dict] = {}
        self._lock = threading.Lock()
        self.route("GET", r"/account-info/v3/details", self._details)
        self.route("POST", r"/crm/v3/objects/contacts", self._create)
        self.route("POST", r"/crm/v3/objects/contacts/search", self._search)
        self.route("GET", r"/crm/v3/objects/contacts/(\d+)", self._get)
        self.route("PATCH", r"/crm/v3/objects/contacts/(\d+)", self._update)

    def add_token(self, token: str) -> None:
        """Accept ``token`` (wire this to the fake OAuth server's ``on_token_issued``)."""
        self.valid_tokens.add(token)

    def expire_token(self, token: str) -> None:
        self.valid_tokens.discard(token)
        self.expired_tokens.add(token)

    def answer(self, request: RecordedRequest) -> FakeResponse:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme != "Bearer" or token in self.expired_tokens:
            category = "EXPIRED_AUTHENTICATION" if token in self.expired_tokens else "INVALID_AUTHENTICATION"
            return hubspot_error(401, category, "Authentication credentials not found or expired.")
        if token not in self.valid_tokens:
            return hubspot_error(401, "INVALID_AUTHENTICATION", "Authentication credentials not found.")
        return super().answer(request)

    def not_found(self, request: RecordedRequest, *, method_not_allowed: bool = False) -> FakeResponse:
        return hubspot_error(404, "OBJECT_NOT_FOUND", "resource not found")

    def _details(self, request: RecordedRequest, _: re.Match[str]) -> FakeResponse:
        return json_response(
            200,
            {
                "portalId": 62515,
                "accountType": "STANDARD",
                "timeZone": "US/Eastern",
                "companyCurrency": "USD",
                "uiDomain": "app.hubspot.com",
            },
        )

    def _record(self, contact_id: str, properties: dict) -> dict:
        return {
            "id": contact_id,
            "properties": properties,
            "createdAt": "2026-01-01T00:00:00.000Z",
            "updatedAt": "2026-01-01T00:00:00.000Z",
            "archived": False,
        }

    def _create(self, request: RecordedRequest, _: re.Match[str]) -> FakeResponse:
        properties = (request.json() or {}).get("properties") or {}
        email = properties.get("email")
        if not isinstance(email, str) or "@" not in email:
            return hubspot_error(400, "VALIDATION_ERROR", "Property values were not valid: email")
        with self._lock:
            existing = next(
                (cid for cid, c in self.contacts.items() if c["properties"].get("email") == email), None
            )
            if existing:
                return hubspot_error(409, "CONFLICT", f"Contact already exists. Existing ID: {existing}")
            contact_id = str(101 + len(self.contacts))
            self.contacts[contact_id] = self._record(contact_id, dict(properties))
        return json_response(201, self.contacts[contact_id])

    def _get(self, request: RecordedRequest, match: re.Match[str]) -> FakeResponse:
        contact = self.contacts.get(match.group(1))
        if contact is None:
            return self.not_found(request)
        wanted = request.arg("properties")
        if wanted:
            names = wanted.split(",")
            contact = {
                **contact,
                "properties": {k: v for k, v in contact["properties"].items() if k in names},
            }
        return json_response(200, contact)

    def _update(self, request: RecordedRequest, match: re.Match[str]) -> FakeResponse:
        contact = self.contacts.get(match.group(1))
        if contact is None:
            return self.not_found(request)
        contact["properties"].update((request.json() or {}).get("properties") or {})
        return json_response(200, contact)

    def _search(self, request: RecordedRequest, _: re.Match[str]) -> FakeResponse:
        body = request.json() or {}
        filters = [f for group in body.get("filterGroups", []) for f in group.get("filters", [])]
        results = [
            c
            for c in self.contacts.values()
            if all(
                f.get("operator") == "EQ" and c["properties"].get(f.get("propertyName")) == f.get("value")
                for f in filters
            )
        ]
        return json_response(200, {"total": len(results), "results": results[: body.get("limit", 10)]})
