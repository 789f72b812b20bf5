"""Cross-tenant isolation, generated from the app's route table.

For every ``/api`` route that takes an id, BETA's owner aims at ACME's object
and must get 404 — the answer for a missing id. For every list route, ACME's
lists must not show BETA's objects. A route whose id parameter has no factory
in ``tests/support/objects.py`` fails the test.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest

from chalicelib.http.routing import ROUTE_TABLE, _Public
from tests.support.objects import FACTORIES, Ctx

PARAM = re.compile(r"\{(\w+)\}")
# A valid value of each query parameter some route requires (a new required parameter needs one here).
REQUIRED_QUERY = {"cron": "*/5 * * * *"}


def _required_query(path: str, method: str) -> str:
    info = next(r for r in ROUTE_TABLE if r.path == path and method in r.methods)
    fields = getattr(info.query, "model_fields", {})
    required = [name for name, field in fields.items() if field.is_required()]
    missing = [name for name in required if name not in REQUIRED_QUERY]
    assert not missing, f"{method} {path} requires query parameter(s) {missing}: add a value to REQUIRED_QUERY"
    return "?" + urlencode({name: REQUIRED_QUERY[name] for name in required}) if required else ""


def _api_routes():
    return [(r.path, m) for r in ROUTE_TABLE if r.path.startswith("/api/") for m in r.methods]


@pytest.fixture(scope="module")
def objects(api, tokens, app_module):
    ctx = Ctx(api, tokens)
    params = sorted({p for path, _ in _api_routes() for p in PARAM.findall(path)})
    missing = [p for p in params if p not in FACTORIES]
    assert not missing, f"no cross-tenant case for route parameter(s) {missing}: add one in tests/support/objects.py"
    return {tenant: {p: FACTORIES[p](ctx, tenant) for p in params} for tenant in ("acme", "beta")}


def test_every_api_route_requires_authentication(app_module):
    public = [f"{m} {p}" for p, m in _api_routes()
              if isinstance(next(r for r in ROUTE_TABLE if r.path == p and m in r.methods).access, _Public)]
    assert public == []


def test_beta_gets_404_on_every_acme_id(api, tokens, objects):
    failures = []
    for path, method in _api_routes():
        if not PARAM.search(path):
            continue
        # aim every id in the path at ACME's objects, with BETA's owner token
        target = PARAM.sub(lambda m: objects["acme"][m.group(1)], path)
        reply = api.call(method, target, token=tokens[("beta", "owner")], json_body={} if method != "GET" else None)
        if reply.status != 404 or reply.error_code != "not_found":
            failures.append(f"{method} {path} → {reply.status} {reply.error_code}")
    assert failures == []


def test_acme_lists_never_show_beta_rows(api, tokens, objects):
    beta_ids = {v for v in objects["beta"].values()}
    leaks = []
    for path, method in _api_routes():
        if method != "GET":
            continue
        params = PARAM.findall(path)
        if any(p != "ws" for p in params):
            continue
        target = PARAM.sub(lambda m: objects["acme"][m.group(1)], path) + _required_query(path, method)
        reply = api.get(target, token=tokens[("acme", "owner")])
        assert reply.status == 200, (path, reply.body)
        text = str(reply.body)
        leaks += [f"{path} shows {i}" for i in beta_ids if i in text]
    assert leaks == []


def test_malformed_ids_are_plain_404(api, tokens):
    reply = api.get("/api/workspaces/not-a-uuid", token=tokens[("acme", "owner")])
    assert reply.status == 404 and reply.error_code == "not_found"
