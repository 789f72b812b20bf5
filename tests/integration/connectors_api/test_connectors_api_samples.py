"""Every built-in action's sample input validates against its input schema and runs against its fake vendor.

"Test with the sample input" (``POST /api/actions/{id}/test`` without an input) is what a builder tries
first: each of the catalog's actions must answer it with a 2xx from the vendor.
"""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator

from chalicelib.connectors.catalog import load_catalog
from tests.integration.connectors_api.connector_docs import unique
from tests.integration.connectors_api.test_connectors_api_builtin_tests import CASES

ACTIONS = [(slug, action.key) for slug, connector in sorted(load_catalog().items()) for action in connector.actions]


def test_the_catalog_is_covered():
    assert len(ACTIONS) >= 34 and {slug for slug, _ in ACTIONS} == set(CASES)


@pytest.mark.parametrize(("slug", "key"), ACTIONS)
def test_the_sample_input_satisfies_the_input_schema(slug, key):
    action = load_catalog()[slug].action(key)
    problems = [e.message for e in Draft202012Validator(action.input_schema).iter_errors(action.sample_input)]
    assert problems == [], f"{slug}:{key} sample input: {problems}"


def _seed(fakes) -> None:
    """The records the samples name, as a vendor account in use has them (the fakes start empty)."""
    fakes["github"].issues.append({"id": 2347, "number": 1347, "title": "Found a bug", "body": "", "state": "open",
                                   "labels": [], "html_url": "https://github.com/octocat/hello-world/issues/1347"})
    hubspot = fakes["hubspot"]
    hubspot.contacts["51"] = hubspot._record("51", {"email": "ada@example.com", "firstname": "Ada",
                                                    "lastname": "Lovelace"})
    fakes["sendgrid"].contacts["ada@example.com"] = {"id": "ca6bbcd2", "email": "ada@example.com"}
    fakes["slack"].messages.append({"channel": "C0123456789", "type": "message", "text": "Deploy done",
                                    "user": "U0123ABC", "ts": "1503435956.000247"})
    fakes["stripe"].customers["cus_NffrFeUfNV2Hib"] = {"id": "cus_NffrFeUfNV2Hib", "object": "customer",
                                                       "email": "ada@example.com", "name": "Ada Lovelace",
                                                       "description": None, "metadata": {}}


@pytest.fixture(scope="module")
def fakes():
    started = {}
    try:
        for slug, case in CASES.items():
            fake = case.fake()
            fake.__enter__()
            started[slug] = fake
        _seed(started)
        yield started
    finally:
        for fake in started.values():
            fake.__exit__(None, None, None)


@pytest.fixture(scope="module")
def connections(api, tokens, fakes):
    ws = tokens.ids("acme")["workspaces"]["Operations"]
    builder = tokens[("acme", "builder")]
    made = {}
    for slug, case in CASES.items():
        reply = api.post(f"/api/workspaces/{ws}/connections",
                         {"name": unique(f"sample-{slug}"), "app_id": f"builtin:{slug}",
                          "settings": case.settings(fakes[slug]), "secrets": case.secrets}, token=builder)
        assert reply.status == 201, reply.body
        made[slug] = reply.body["id"]
    return made


@pytest.mark.parametrize(("slug", "key"), ACTIONS)
def test_the_sample_input_runs_against_the_fake_vendor(api, tokens, connections, slug, key):
    # WHEN a builder tests the action with its sample input (no input given)
    reply = api.post(f"/api/actions/builtin:{slug}:{key}/test", {"connection_id": connections[slug]},
                     token=tokens[("acme", "builder")])
    # THEN the vendor accepted it
    assert reply.status == 200, reply.body
    assert reply.body["ok"] is True and 200 <= reply.body["status"] < 300, (reply.body.get("error"),
                                                                          reply.body.get("response"))
