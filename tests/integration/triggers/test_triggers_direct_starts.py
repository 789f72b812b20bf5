"""Runs started directly (``POST …/flows/{id}/runs``) are labelled by who started them, as the manual kind says:
``manual`` for a person, ``api`` for an API token; a rerun is ``rerun``."""

from __future__ import annotations


def test_a_direct_start_is_labelled_manual_for_a_person_and_api_for_a_token(acme, doorbells, api, tokens):
    flow = acme.make_flow()
    runs = f"{acme.flows()}/{flow['id']}/runs"
    # GIVEN an API token of the tenant's owner
    minted = api.post("/api/api-tokens", {"name": "start bot", "role": "owner"}, token=tokens[("acme", "owner")])
    assert minted.status == 201, minted.body
    # WHEN a person and the token each start a run
    by_person = api.post(runs, {"mode": "production"}, token=acme.token)
    by_token = api.post(runs, {"mode": "production"}, token=minted.body["token"])
    # THEN each run says who started it
    assert by_person.status == 202 and by_token.status == 202, (by_person.body, by_token.body)
    assert acme.run(by_person.body["id"])["trigger"] == "manual"
    assert acme.run(by_token.body["id"])["trigger"] == "api"
    # AND a rerun of either is a rerun
    rerun = api.post(f"/api/workspaces/{acme.ws}/runs/{by_token.body['id']}/rerun", {}, token=acme.token)
    assert rerun.status == 202, rerun.body
    assert acme.run(rerun.body["id"])["trigger"] == "rerun"
