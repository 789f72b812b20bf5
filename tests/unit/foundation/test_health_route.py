"""/health through chalice.test.Client, with the container's parts replaced by fakes."""

import json

import pytest
from chalice.test import Client
from sqlalchemy import create_engine

from chalicelib import bootstrap
from chalicelib.adapters.queue import InMemoryStepQueue
from chalicelib.config import Settings
from tests.support.api import TEST_STAGE


class UnreachableQueue(InMemoryStepQueue):
    def ping(self):
        raise ConnectionError("queue down")


@pytest.fixture
def app_client():
    import app as app_module

    with Client(app_module.app, stage_name=TEST_STAGE) as client:
        yield client
    bootstrap.reset()


def _install(queue, engine=None):
    settings = Settings(database_url="postgresql://x@127.0.0.1/x")
    bootstrap.override(settings=settings, database=engine or create_engine("sqlite://"), step_queue=queue)


def test_health_ok_when_database_and_queue_answer(app_client):
    _install(InMemoryStepQueue())
    response = app_client.http.get("/health")
    assert response.status_code == 200
    body = json.loads(response.body)
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["queue"]["status"] == "ok"
    assert body["version"]


def test_health_names_the_failing_queue(app_client):
    _install(UnreachableQueue())
    response = app_client.http.get("/health")
    assert response.status_code == 503
    body = json.loads(response.body)
    assert body["failing"] == ["queue"]
    assert body["checks"]["database"]["status"] == "ok"


def test_health_names_the_failing_database(app_client):
    _install(InMemoryStepQueue(), engine=create_engine("postgresql+pg8000://x@127.0.0.1:1/x"))
    response = app_client.http.get("/health")
    assert response.status_code == 503
    assert json.loads(response.body)["failing"] == ["database"]


def test_health_reports_bad_configuration(app_client, monkeypatch):
    bootstrap.reset()
    from chalicelib.config import get_settings

    get_settings.cache_clear()
    monkeypatch.delenv("DATABASE_URL", raising=False)
    response = app_client.http.get("/health")
    assert response.status_code == 503
    assert json.loads(response.body)["failing"] == ["configuration"]
    get_settings.cache_clear()


def test_the_test_clients_stage_adds_no_stage_of_its_own():
    """The in-process client's stage must not switch STAGE (or the egress policy) under a running test."""
    import json
    from pathlib import Path

    config = json.loads((Path(__file__).resolve().parents[3] / ".chalice" / "config.json").read_text())
    assert TEST_STAGE not in config["stages"]
    assert not {"STAGE", "OUTBOUND_ALLOW_PRIVATE"} & set(config.get("environment_variables", {}))
