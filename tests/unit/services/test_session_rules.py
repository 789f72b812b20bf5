"""Refresh-token rules of the service layer (``chalicelib/services/sign_in.py``), without a database.

Rotation, reuse detection across a token family, the browser's reuse leeway,
expiry, cut-offs and lost memberships; the same flows run against PostgreSQL
in tests/integration/identity (where the database's clock and locks are real).
"""

from __future__ import annotations

import datetime as dt
import os

import pytest

from chalicelib.config import get_settings
from chalicelib.identity.opaque_tokens import hash_token
from chalicelib.identity.tokens import generate_keyset_json
from chalicelib.services import sign_in
from chalicelib.services.authentication import GLOBAL_RESET_KEY

TENANT, USER = "00000000-0000-0000-0000-0000000000a1", "00000000-0000-0000-0000-0000000000c3"


@pytest.fixture(autouse=True)
def session_clock(monkeypatch, database):
    """The session rules read the time through ``sign_in.now``; here it is the fake database's clock."""
    monkeypatch.setattr(sign_in, "now", database.clock)


@pytest.fixture(autouse=True)
def signing_keys(monkeypatch):
    monkeypatch.setenv("JWT_KEYS", generate_keyset_json("unit-1"))
    if "DATABASE_URL" not in os.environ:  # the settings require one; nothing here connects to it
        monkeypatch.setenv("DATABASE_URL", "postgresql+pg8000://nobody@127.0.0.1:9/none")
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture
def signed_in(database) -> str:
    """A member who signed in: the refresh token of a new session family."""
    database.records.memberships[(TENANT, USER)] = "builder"
    with database.units_of_work().system() as uow:
        issued = sign_in._issue(uow, user_id=USER, tenant_id=TENANT, role="builder", client_ip="127.0.0.1")
        uow.commit()
    return issued["refresh_token"]


def _refresh(token: str, **kwargs) -> dict:
    return sign_in.refresh(token, client_ip="127.0.0.1", **kwargs)


def _code(token: str, **kwargs) -> str:
    with pytest.raises(sign_in.InvalidRefreshToken) as err:
        _refresh(token, **kwargs)
    return err.value.code


def test_a_refresh_rotates_the_token_within_its_family(database, signed_in):
    rotated = _refresh(signed_in)
    assert rotated["refresh_token"] != signed_in and rotated["role"] == "builder" and rotated["access_token"]
    families = {s.family_id for s in database.records.sessions.values()}
    assert len(database.records.sessions) == 2 and len(families) == 1


def test_a_spent_token_presented_again_revokes_the_whole_family(database, signed_in):
    # GIVEN a token that was rotated, and a second later its copy comes back (a thief, or the victim)
    rotated = _refresh(signed_in)["refresh_token"]
    database.clock.advance(1)
    # THEN the replay is refused as reuse, and the token the rightful holder got is dead too
    assert _code(signed_in) == "refresh_token_reused"
    assert _code(rotated) == "session_ended"
    assert {s.revoked_reason for s in database.records.sessions.values()} == {"reuse_detected"}


def test_the_browser_leeway_forgives_a_replay_within_it_and_only_within_it(database, signed_in):
    _refresh(signed_in)
    database.clock.advance(5)
    assert _refresh(signed_in, reuse_leeway=dt.timedelta(seconds=10))["refresh_token"]
    database.clock.advance(10)
    assert _code(signed_in, reuse_leeway=dt.timedelta(seconds=10)) == "refresh_token_reused"


def test_an_expired_session_ends(database, signed_in):
    database.clock.advance(sign_in.REFRESH_TTL.total_seconds())
    assert _code(signed_in) == "session_ended"


@pytest.mark.parametrize("cut_off", ["user", "platform"])
def test_a_cut_off_after_sign_in_ends_the_session(database, signed_in, cut_off):
    # GIVEN the password was changed elsewhere (the user's cut-off) or the platform was reset
    database.clock.advance(60)
    if cut_off == "user":
        database.records.user_cutoffs[USER] = database.clock()
    else:
        database.records.platform_state[GLOBAL_RESET_KEY] = database.clock()
    # THEN the session ends, saying why
    with pytest.raises(sign_in.InvalidRefreshToken) as err:
        _refresh(signed_in)
    reason = "user_cutoff" if cut_off == "user" else "platform_reset"
    assert err.value.code == "session_ended" and err.value.message == sign_in._ENDED[reason]


def test_a_member_removed_from_the_tenant_cannot_refresh(database, signed_in):
    del database.records.memberships[(TENANT, USER)]
    assert _code(signed_in) == "invalid_refresh_token"
    # and nothing was rotated: the refusal changed no record
    assert all(s.rotated_at is None for s in database.records.sessions.values())


def test_logout_ends_every_session_of_the_family(database, signed_in):
    rotated = _refresh(signed_in)["refresh_token"]
    sign_in.logout(None, rotated)
    with pytest.raises(sign_in.InvalidRefreshToken) as err:
        _refresh(rotated)
    assert err.value.code == "session_ended" and "signed out" in err.value.message


def test_an_unknown_token_is_refused_without_a_trace(database):
    assert _code("slr_" + "x" * 40) == "invalid_refresh_token"
    assert hash_token("slr_" + "x" * 40) not in database.records.sessions and database.commits == 0
