"""The local runtime serves the Chalice routes over real HTTP on loopback."""

import httpx
import pytest

from devstack.postgres import free_port
from devstack.runtime import LocalRuntime


@pytest.fixture(scope="module")
def base_url(local_stack):
    runtime = LocalRuntime(endpoint_url=local_stack.env["AWS_ENDPOINT_URL"],
                           region=local_stack.env["AWS_DEFAULT_REGION"], port=free_port(), workers=1).start()
    yield runtime.gateway.url
    runtime.stop()


def test_health_over_http(base_url):
    with httpx.Client(base_url=base_url, timeout=10) as client:
        response = client.get("/health")
        assert response.status_code == 200
        body = response.json()
        assert body["checks"]["database"]["status"] == "ok"
        assert body["checks"]["queue"]["status"] == "ok"
        assert response.headers["content-type"].startswith("application/json")
        # keep-alive: a second request on the same connection
        assert client.get("/health").status_code == 200


def test_unknown_route_is_refused_over_http(base_url):
    response = httpx.get(base_url + "/nope", timeout=10)
    assert response.status_code == 404  # in the API's error shape, as the deployed gateway's responses say
    assert response.json()["error"]["code"] == "route_not_found"
