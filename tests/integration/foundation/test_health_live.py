"""/health against the real database and queue emulation, through chalice.test.Client."""

import json

from chalice.test import Client

from tests.support.api import TEST_STAGE


def test_health_ok_against_real_dependencies():
    import app as app_module

    with Client(app_module.app, stage_name=TEST_STAGE) as client:
        response = client.http.get("/health")
    body = json.loads(response.body)
    assert response.status_code == 200, body
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["queue"]["status"] == "ok"
