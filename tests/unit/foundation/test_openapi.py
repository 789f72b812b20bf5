"""The OpenAPI document covers every route and matches the copy kept in docs/."""

import json

from chalice.test import Client

from devstack.openapi import DOC, render


def test_document_in_repo_is_current():
    assert json.loads(DOC.read_text()) == json.loads(render()), "run: python -m devstack.openapi"


def test_every_route_is_described_and_refs_resolve():
    import app as app_module
    from chalicelib.http.routing import ROUTE_TABLE

    with Client(app_module.app) as client:
        doc = json.loads(client.http.get("/openapi.json").body)
    assert doc["openapi"] == "3.1.0"
    for route in ROUTE_TABLE:
        for method in route.methods:
            assert method.lower() in doc["paths"][route.path], (method, route.path)
    text = json.dumps(doc)
    for ref in {part.split('"')[0] for part in text.split('"$ref": "#/components/schemas/')[1:]}:
        assert ref in doc["components"]["schemas"], ref
    login = doc["paths"]["/auth/login"]["post"]
    assert login["security"] == [] and "requestBody" in login
    assert doc["paths"]["/api/me"]["get"]["security"] == [{"bearer": []}]
