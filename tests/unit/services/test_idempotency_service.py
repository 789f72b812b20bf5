"""Idempotency-Key rules of the service layer (``chalicelib/services/idempotency.py``), without a database.

The same rules run against PostgreSQL in tests/integration/security/test_security_idempotency.py
(where concurrency, row-level security and the database's clock are real).
"""

from __future__ import annotations

import json

import pytest

from chalicelib.errors import BadRequest
from chalicelib.services import idempotency
from chalicelib.services.idempotency import IN_FLIGHT_SECONDS, KEEP_SECONDS, IdempotencyConflict, Scope

TENANT, OTHER_TENANT = "00000000-0000-0000-0000-0000000000a1", "00000000-0000-0000-0000-0000000000b2"
ALICE = Scope(TENANT, "user:alice", "POST /v1/workspaces/{ws}/workflows", "key-1")
BODY = b'{"name": "orders"}'
ANSWER = json.dumps({"id": "wf_1", "secret": "shown once"})


def _answered(scope: Scope = ALICE, body: bytes = BODY, status: int = 201) -> None:
    assert idempotency.begin(scope, body) is None  # the first request claims the key
    idempotency.finish(scope, status, ANSWER, {"Location": "/v1/wf_1", "Content-Type": "application/json",
                                                "Set-Cookie": "sid=1"})


def test_a_repeat_gets_the_first_answer_with_only_the_kept_headers():
    # GIVEN a request that was answered
    _answered()
    # WHEN the same caller repeats it with the same key and body
    stored = idempotency.begin(ALICE, BODY)
    # THEN it gets the first answer back, without headers that are not replayed
    assert stored is not None and stored.status == 201 and stored.body == json.loads(ANSWER)
    assert stored.headers == {"Location": "/v1/wf_1", "Content-Type": "application/json"}


@pytest.mark.parametrize("other", [
    Scope(TENANT, "user:bob", ALICE.route, ALICE.key),  # another user of the tenant
    Scope(TENANT, "api:token-1", ALICE.route, ALICE.key),  # an API token of the same user's tenant
    Scope(TENANT, ALICE.principal, "POST /v1/workspaces/{ws}/connections", ALICE.key),  # another route
    Scope(OTHER_TENANT, ALICE.principal, ALICE.route, ALICE.key),  # another tenant
])
def test_a_key_belongs_to_one_caller_and_route(other):
    _answered()
    # WHEN someone else sends the same key and body, THEN theirs is a request of its own
    assert idempotency.begin(other, BODY) is None


def test_the_same_key_with_another_body_is_a_conflict():
    _answered()
    with pytest.raises(IdempotencyConflict, match="different request body"):
        idempotency.begin(ALICE, b'{"name": "invoices"}')


def test_a_repeat_while_the_first_is_in_flight_is_a_conflict_until_the_claim_goes_stale(database):
    # GIVEN a first request that claimed the key and never finished (its function was killed)
    assert idempotency.begin(ALICE, BODY) is None
    with pytest.raises(IdempotencyConflict, match="still in progress"):
        idempotency.begin(ALICE, BODY)
    # WHEN its claim is past its time
    database.clock.advance(IN_FLIGHT_SECONDS + 1)
    # THEN the next request with the key runs afresh
    assert idempotency.begin(ALICE, BODY) is None


def test_a_failed_first_attempt_releases_the_key():
    _answered(status=500)
    assert idempotency.begin(ALICE, BODY) is None


def test_an_answer_is_replayed_for_a_day_then_the_key_is_free_and_purged(database):
    _answered()
    database.clock.advance(KEEP_SECONDS - 1)
    assert idempotency.begin(ALICE, BODY) is not None
    database.clock.advance(2)
    assert idempotency.purge_expired() == 1
    assert idempotency.begin(ALICE, BODY) is None


def test_stored_answers_are_sealed_and_bound_to_their_caller(database):
    _answered()
    # THEN nothing of the answer is at rest in plaintext
    (stored,) = database.records.idempotency_keys.values()
    assert "shown once" not in json.dumps(stored.record.sealed_response)
    # AND a sealed answer pasted onto another caller's key does not open
    bob = Scope(TENANT, "user:bob", ALICE.route, ALICE.key)
    database.records.idempotency_keys[(bob.tenant_id, bob.principal, bob.route, bob.key)] = stored
    with pytest.raises(IdempotencyConflict, match="can no longer be replayed"):
        idempotency.begin(bob, BODY)


def test_an_answer_that_cannot_be_sealed_is_not_kept(database, services):
    # GIVEN a cipher that fails (the key service is down)
    class Broken:
        def encrypt(self, *args, **kwargs):
            raise RuntimeError("KMS unavailable")

    from chalicelib import bootstrap

    with bootstrap.replaced(cipher=Broken()):
        _answered()
    # THEN the key is released, never stored in plaintext
    assert database.records.idempotency_keys == {}


@pytest.mark.parametrize("key", ["", "k" * 201])
def test_a_key_must_be_1_to_200_characters(key):
    with pytest.raises(BadRequest) as err:
        idempotency.begin(Scope(TENANT, ALICE.principal, ALICE.route, key), BODY)
    assert err.value.code == "invalid_idempotency_key"
