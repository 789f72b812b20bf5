"""The OpenAPI document covers every route and matches the copy kept in docs/."""

import json

from chalice.test import Client

from devstack.openapi import DOC, render
from tests.support.api import TEST_STAGE


def test_document_in_repo_is_current():
    assert json.loads(DOC.read_text()) == json.loads(render()), "run: python -m devstack.openapi"


def test_every_route_is_described_and_refs_resolve():
    import app as app_module
    from chalicelib.http.routing import ROUTE_TABLE

    with Client(app_module.app, stage_name=TEST_STAGE) as client:
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


def _operations():
    doc = json.loads(render())
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            yield doc, path, method, op


def test_every_success_answer_has_a_schema():
    for _, path, method, op in _operations():
        for status, answer in op["responses"].items():
            if status == "204":
                assert "content" not in answer, (method, path)
                continue
            if status.startswith("3"):  # a redirect has no body; it says where to
                assert "content" not in answer and "Location" in answer.get("headers", {}), (method, path)
                continue
            assert answer.get("content"), (method, path, status)
            for media in answer["content"].values():
                assert media["schema"], (method, path, status)


def test_every_error_answer_is_the_one_error_shape():
    for _, path, method, op in _operations():
        for status, answer in op["responses"].items():
            if int(status) >= 400 and not (path == "/health" and status == "503"):
                assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}, \
                    (method, path, status)


def test_routes_without_parameters_declare_none():
    doc = json.loads(render())
    for path in ("/health", "/api/me", "/openapi.json"):
        assert "parameters" not in doc["paths"][path]["get"], path
        assert "requestBody" not in doc["paths"][path]["get"], path


def test_statuses_the_routes_give_on_purpose_are_documented():
    doc = json.loads(render())
    paths = doc["paths"]
    assert "503" in paths["/health"]["get"]["responses"]
    assert "202" in paths["/api/workspaces/{ws}/flows/{flow_id}/triggers/{trigger_id}/fire"]["post"]["responses"]
    webhook = paths["/webhooks/{ws}/{path}"]["post"]["responses"]
    assert {"200", "202", "401", "413", "429"} <= set(webhook)
    assert "415" in paths["/auth/login"]["post"]["responses"]
    limited = paths["/api/workspaces/{ws}/flows/{flow_id}/runs"]["post"]["responses"]["429"]
    assert {"Retry-After", "RateLimit", "RateLimit-Policy"} <= set(limited["headers"])


def test_list_filters_and_stream_parameters_are_declared_with_their_constraints():
    paths = json.loads(render())["paths"]
    runs = {p["name"]: p for p in paths["/api/workspaces/{ws}/runs"]["get"]["parameters"]}
    assert runs["status"]["schema"]["enum"] == ["running", "success", "failed", "canceled"]
    assert runs["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 200}
    assert "pattern" in runs["cursor"]["schema"] and runs["created_after"]["schema"]["format"] == "date-time"
    stream = {p["name"]: p for p in paths["/api/workspaces/{ws}/runs/{run_id}/stream"]["get"]["parameters"]}
    assert stream["Last-Event-ID"]["in"] == "header" and {"last_event_id", "wait"} <= set(stream)
    assert "text/event-stream" in paths["/api/workspaces/{ws}/runs/{run_id}/stream"]["get"]["responses"]["200"][
        "content"]


def test_query_parameters_are_validated_by_the_model_that_documents_them():
    # GIVEN a route whose query model declares an enum and a limit range
    from chalicelib.api.runs import RunFilters
    from chalicelib.errors import BadRequest
    from chalicelib.http.requests import parse_query

    # THEN values outside the documented ones answer 400 with a stable code
    for query, code in (({"status": "weird"}, "invalid_filter"), ({"limit": "0"}, "invalid_limit"),
                        ({"cursor": "not a cursor!"}, "invalid_cursor"), ({"created_after": "yesterday"},
                                                                          "invalid_filter")):
        try:
            parse_query(RunFilters, query)
        except BadRequest as exc:
            assert exc.code == code, query
        else:
            raise AssertionError(f"{query} was accepted")
    assert parse_query(RunFilters, {"status": "failed", "limit": "10"}).limit == 10


def test_an_answer_outside_the_contract_is_caught():
    import app  # noqa: F401  (registers every route: this test may run before any other imports it)
    from chalicelib.http.contract_check import problems
    from chalicelib.http.routing import ROUTE_TABLE

    me = next(r for r in ROUTE_TABLE if r.path == "/api/me")
    assert problems(me, 418, "{}", "application/json") == ["status 418 is not documented"]
    assert problems(me, 200, '{"role": "owner"}', "application/json")  # missing fields
    assert problems(me, 404, '{"error": {"code": "not_found", "message": "x"}}', "application/json") == []
    assert problems(me, 404, '{"Code": "NotFound"}', "application/json")  # not the error shape
