"""The tests' token cache replaces a token near its expiry, so a long (or reordered) suite never sends one
that has expired (``token_expired`` from a fixture minted at the start of the session)."""

from __future__ import annotations

import base64
import json
import time

from tests.support import api as support


def _token(exp: float) -> str:
    body = base64.urlsafe_b64encode(json.dumps({"exp": exp}).encode()).decode().rstrip("=")
    return f"h.{body}.s"


def test_a_token_near_expiry_is_replaced_and_a_fresh_one_is_kept(monkeypatch):
    minted = []

    def login(_api, role, tenant="acme"):
        minted.append((tenant, role))
        return _token(time.time() + (30 if len(minted) == 1 else 900))

    monkeypatch.setattr(support, "demo_login", login)
    cache = support.DemoTokens(api=None)  # type: ignore[arg-type]
    first = cache[("acme", "builder")]          # 30 s left: below the margin
    second = cache[("acme", "builder")]         # replaced
    third = cache[("acme", "builder")]          # 900 s left: kept
    assert first != second == third
    assert minted == [("acme", "builder"), ("acme", "builder")]
