"""Which key-encryption key seals connection secrets (KMS when its alias resolves, else the local key),
and the small pure helpers the connector services rely on (ids, paging)."""

from __future__ import annotations

import base64
import os
import socket

import boto3
import pytest
from botocore.config import Config

from chalicelib.config import get_settings
from chalicelib.crypto.kek import build_cipher, local_master_key
from chalicelib.crypto.key_wrapper import KeyServiceUnavailable
from chalicelib.errors import BadRequest, ConfigurationError
from chalicelib.services.connectors.ids import BuiltinRef, parse_builtin, template_name
from chalicelib.services.connectors.listing import catalog_then_rows, page_of

IDS = {"tenant_id": "t-1", "table": "connections", "record_id": "c-1"}


def test_kms_is_chosen_when_the_alias_resolves_and_the_local_key_still_decrypts():
    settings = get_settings()
    cipher = build_cipher(settings)
    assert cipher.current.kek_id == f"kms:{settings.kms_key_alias}"
    local_only = build_cipher(settings.model_copy(update={"kms_key_alias": "alias/stepline-missing-key"}))
    assert local_only.current.kek_id == "local"
    # GIVEN a record sealed locally (before KMS existed) THEN the KMS-first cipher reads it and flags it
    sealed = local_only.encrypt({"token": "value-1234"}, **IDS)
    assert cipher.decrypt(sealed, **IDS) == {"token": "value-1234"} and cipher.needs_rewrap(sealed)


def test_without_any_key_encryption_key_nothing_starts():
    settings = get_settings().model_copy(
        update={"kms_key_alias": "alias/stepline-missing-key", "local_master_key": None}
    )
    with pytest.raises(ConfigurationError):
        build_cipher(settings)


def test_an_unreachable_kms_is_an_error_never_a_silent_fallback():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    kms = boto3.client(
        "kms",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"max_attempts": 1}, connect_timeout=0.5, read_timeout=0.5),
    )
    with pytest.raises(KeyServiceUnavailable):
        build_cipher(get_settings(), kms)


def test_the_local_master_key_reads_base64_and_base64url():
    raw = os.urandom(32)
    standard = local_master_key(base64.b64encode(raw).decode())
    url_safe = local_master_key(base64.urlsafe_b64encode(raw).decode().rstrip("="))
    wrapped = standard.wrap(b"k" * 32, IDS)
    assert url_safe.unwrap(wrapped, IDS) == b"k" * 32
    with pytest.raises(ConfigurationError):
        local_master_key(base64.b64encode(os.urandom(16)).decode())


def test_builtin_ids_and_template_references():
    assert parse_builtin("builtin:slack") == BuiltinRef("app", "slack")
    assert parse_builtin("builtin:slack@1") == BuiltinRef("version", "slack")
    assert parse_builtin("builtin:slack:post_message") == BuiltinRef("action", "slack", "post_message")
    for bad in ("builtin:slack@2", "builtin:Slack", "builtin:slack:Post", "slack", "", None, "builtin:s/x"):
        assert parse_builtin(bad) is None
    assert template_name("tpl:notify_ops") == "notify_ops" and template_name("builtin:slack") is None


def test_paging_through_a_catalog_then_rows():
    catalog = [{"id": f"b{i}"} for i in range(5)]
    rows = [{"id": f"r{i}"} for i in range(4)]

    def rows_page(limit: int, cursor: str | None) -> dict:
        start = int(cursor or 0)
        more = start + limit < len(rows)
        return {"items": rows[start : start + limit], "next_cursor": str(start + limit) if more else None}

    seen, cursor = [], None
    for _ in range(10):
        page = catalog_then_rows(catalog, rows_page, {"limit": "2", **({"cursor": cursor} if cursor else {})})
        assert len(page["items"]) <= 2
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [i["id"] for i in catalog + rows]
    exact = catalog_then_rows(catalog, rows_page, {"limit": "5"})
    assert [i["id"] for i in exact["items"]] == ["b0", "b1", "b2", "b3", "b4"] and exact["next_cursor"]
    after = catalog_then_rows(catalog, rows_page, {"limit": "5", "cursor": exact["next_cursor"]})
    assert [i["id"] for i in after["items"]] == ["r0", "r1", "r2", "r3"] and after["next_cursor"] is None
    assert catalog_then_rows(catalog, None, {"limit": "200"})["items"] == catalog
    assert (
        page_of(catalog, {"limit": "3"})["next_cursor"]
        and page_of(catalog, {"limit": "5"})["next_cursor"] is None
    )
    with pytest.raises(BadRequest):
        page_of(catalog, {"cursor": "!!"})
