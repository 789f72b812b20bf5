"""Connector documents and small helpers shared by the connector API tests."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

from chalicelib.connectors.catalog import CATALOG_DIR


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def app_fields(slug: str, name: str = "Orders API") -> dict[str, Any]:
    return {"name": name, "slug": slug, "vendor": "Example", "category": "ecommerce"}


def orders_document(slug: str = "orders") -> dict[str, Any]:
    """A small API-key connector whose base URL comes from the connection (pointed at loopback fakes)."""
    return {
        "name": "Orders API",
        "slug": slug,
        "vendor": "Example",
        "category": "ecommerce",
        "base_url": "{{ settings.base_url }}",
        "auth": {"type": "api_key", "in": "header", "name": "X-Api-Key", "field": "api_key"},
        "auth_fields": {
            "type": "object",
            "required": ["api_key"],
            "properties": {"api_key": {"type": "string", "minLength": 8, "writeOnly": True}},
        },
        "settings_schema": {
            "type": "object",
            "required": ["base_url"],
            "properties": {"base_url": {"type": "string", "pattern": "^https?://"}},
        },
        "test_action": "echo",
        "actions": [
            {
                "key": "echo",
                "name": "Echo",
                "method": "GET",
                "path": "/anything/echo",
                "body_encoding": "none",
            },
            {
                "key": "create_order",
                "name": "Create order",
                "method": "POST",
                "path": "/anything/orders",
                "body_schema": {
                    "type": "object",
                    "required": ["sku", "quantity"],
                    "properties": {"sku": {"type": "string"}, "quantity": {"type": "integer", "minimum": 1}},
                },
                "sample_input": {"body": {"sku": "ABC-1", "quantity": 2}},
            },
        ],
    }


def oauth_document(slug: str, *, authorize_url: str, token_url: str) -> dict[str, Any]:
    """HubSpot's connector, with its OAuth2 endpoints moved to a loopback authorization server."""
    doc = copy.deepcopy(json.loads((CATALOG_DIR / "hubspot.json").read_text()))
    doc.update(slug=slug, name="CRM (OAuth)", vendor="Example", category="crm")
    doc["auth"] = {
        **doc["auth"],
        "authorize_url": authorize_url,
        "token_url": token_url,
        "pkce": True,
        "client_auth": "client_secret_basic",
    }
    return doc
