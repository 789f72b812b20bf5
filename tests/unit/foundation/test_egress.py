"""Outbound calls on a tenant's behalf cannot reach internal addresses outside local/test stages."""

import httpx
import pytest

from chalicelib.adapters import egress
from chalicelib.config import get_settings


@pytest.fixture
def stage(monkeypatch):
    def set_stage(name, allow=None):
        monkeypatch.setenv("DATABASE_URL", "postgresql://app@127.0.0.1/stepline")
        monkeypatch.setenv("STAGE", name)
        if allow is None:
            monkeypatch.delenv("OUTBOUND_ALLOW_PRIVATE", raising=False)
        else:
            monkeypatch.setenv("OUTBOUND_ALLOW_PRIVATE", allow)
        get_settings.cache_clear()

    yield set_stage
    get_settings.cache_clear()


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000/x", "http://169.254.169.254/latest/meta-data/",
                                 "http://10.1.2.3/", "http://192.168.0.1/", "http://[::1]/",
                                 "http://[::ffff:10.0.0.1]/", "http://0.0.0.0/", "http://localhost/"])
def test_internal_destinations_are_refused_in_deployed_stages(stage, url):
    stage("prod")
    with pytest.raises(egress.EgressDenied) as caught:
        egress.guard(httpx.Request("GET", url))
    assert caught.value.code == "egress_denied" and caught.value.retryable is False


def test_public_addresses_pass(stage):
    stage("prod")
    egress.guard(httpx.Request("GET", "https://93.184.216.34/"))  # an IP literal: no lookup, no network


def test_local_and_test_stages_allow_loopback_unless_told_otherwise(stage):
    stage("local")
    egress.guard(httpx.Request("GET", "http://127.0.0.1:9/"))
    stage("test", allow="false")
    with pytest.raises(egress.EgressDenied):
        egress.guard(httpx.Request("GET", "http://127.0.0.1:9/"))
    stage("prod", allow="true")
    egress.guard(httpx.Request("GET", "http://127.0.0.1:9/"))


def test_the_outbound_clients_carry_the_guard(stage):
    from chalicelib import bootstrap
    from chalicelib.connectors.http_transport import HttpxTransport

    stage("prod")
    for client in (HttpxTransport().client, bootstrap.build().http_client()):
        with pytest.raises(egress.EgressDenied):
            client.get("http://127.0.0.1:9/")
