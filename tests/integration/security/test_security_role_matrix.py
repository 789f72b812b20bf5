"""Every mutating route × every role × users and API tokens → allowed or 403, exactly as docs/security.md says.

Ids in paths are random (nonexistent) UUIDs and bodies are empty, so an
allowed call is refused later (404 for the id, 422 for the body) and nothing
is changed: what is checked is that the role check lets it through or not.
An API token of a role is held to the same matrix as a user of that role.
"""

from __future__ import annotations

import re
import uuid

import pytest

from chalicelib.http.routing import ROUTE_TABLE
from devstack.security_doc import DOC, MUTATING, ROLES, parse

PARAM = re.compile(r"\{(\w+)\}")


def _documented():
    return parse(DOC.read_text())


def test_every_mutating_route_is_in_the_documented_matrix(app_module):
    declared = {(m, r.path): r.access.name for r in ROUTE_TABLE for m in r.methods if m in MUTATING}
    documented = _documented()
    assert declared == documented, "docs/security.md is out of date: run python -m devstack.security_doc"


@pytest.mark.parametrize("kind", ["user", "api"])
def test_each_role_is_allowed_or_refused_as_documented(api, tokens, api_tokens, app_module, kind):
    credentials = tokens if kind == "user" else api_tokens
    mismatches = []
    for (method, path), least in _documented().items():
        target = PARAM.sub(lambda _m: str(uuid.uuid4()), path)
        for role in ROLES:
            # public routes are called without a token (a logout would end the session the others use)
            token = None if least == "public" else credentials[("acme", role)]
            reply = api.call(method, target, token=token, json_body={})
            if least == "operator":
                ok = reply.status == 401 and reply.error_code == "operator_unauthenticated"
            elif least == "public":
                ok = reply.status != 403
            elif ROLES.index(role) < ROLES.index(least):
                ok = reply.status == 403 and reply.error_code == "forbidden"
            else:
                ok = reply.status not in (401, 403)
            if not ok:
                mismatches.append(f"{role}: {method} {path} → {reply.status} {reply.error_code} (least {least})")
    assert mismatches == []
