"""JWT refusals over HTTP (the full negative suite is in tests/unit/identity), and the platform reset."""

from __future__ import annotations

import base64
import datetime as dt
import json

import jwt
import pytest

from chalicelib.identity.keys import generate_key_config
from chalicelib.services.authentication import keyset


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def test_forged_tokens_are_401(api, tokens):
    good = tokens[("acme", "owner")]
    header, payload, signature = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    forged = {
        "alg_none": f"{_b64({'alg': 'none', 'typ': 'at+jwt', 'kid': 'local-1'})}.{payload}.",
        "tampered": f"{header}.{_b64({**claims, 'role': 'owner', 'tid': claims['tid'][::-1]})}.{signature}",
        "expired": None,
        "unknown_kid": None,
    }
    other = generate_key_config("intruder")
    private = other["private_key"]
    now = int(dt.datetime.now(dt.UTC).timestamp())
    forged["expired"] = jwt.encode({**claims, "iat": now - 3600, "nbf": now - 3600, "exp": now - 1800},
                                   keyset().signing_key.private_key, algorithm="EdDSA",
                                   headers={"kid": keyset().signing_key.kid, "typ": "at+jwt"})
    forged["unknown_kid"] = jwt.encode(claims, private, algorithm="EdDSA", headers={"kid": "intruder", "typ": "at+jwt"})
    for name, token in forged.items():
        reply = api.get("/api/me", token=token)
        assert reply.status == 401, name
        assert reply.error_code in ("invalid_token", "token_expired"), name
        assert token not in json.dumps(reply.body)


@pytest.mark.resets_platform
def test_platform_reset_forces_everyone_to_log_in_again(api, tokens):
    from chalicelib.config import get_settings

    session = api.login("viewer@beta.test")
    assert api.post("/operator/reset", token=tokens[("acme", "owner")]).status == 401  # a tenant token is not enough
    reply = api.post("/operator/reset", headers={"x-operator-token": get_settings().operator_token})
    assert reply.status == 200, reply.body
    assert api.get("/api/me", token=session["access_token"]).status == 401
    assert api.post("/auth/refresh", {"refresh_token": session["refresh_token"]}).status == 401
    tokens.clear()  # the shared tokens were issued before the reset too
    assert api.get("/api/me", token=tokens[("beta", "viewer")]).status == 200
