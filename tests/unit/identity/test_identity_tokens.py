"""Access tokens: the happy path, and a negative suite where every forgery is refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from chalicelib.errors import Unauthenticated
from chalicelib.identity.errors import InvalidToken
from chalicelib.identity.keys import KeySet, generate_key_config
from chalicelib.identity.roles import Role
from chalicelib.identity.tokens import Claims, TokenKind, issue_access_token, verify_access_token

ISSUER = "https://stepline.test"
AUDIENCE = "stepline-api"
NOW = datetime(2026, 11, 22, 10, 0, 0, tzinfo=UTC)


def _keyset(*entries: dict[str, Any]) -> KeySet:
    return KeySet.from_json(json.dumps(list(entries)))


@pytest.fixture(scope="module")
def key_k1() -> dict[str, str]:
    return generate_key_config("k1")


@pytest.fixture(scope="module")
def keyset(key_k1: dict[str, str]) -> KeySet:
    return _keyset(key_k1)


def _issue(keyset: KeySet, **overrides: Any) -> str:
    arguments: dict[str, Any] = {
        "user_id": "usr_1", "tenant_id": "ten_acme", "role": Role.ADMIN, "session_id": "ses_1",
        "now": NOW, "issuer": ISSUER, "audience": AUDIENCE,
    }
    arguments.update(overrides)
    return issue_access_token(keyset, **arguments)


def _verify(keyset: KeySet, token: str, **overrides: Any) -> Claims:
    arguments: dict[str, Any] = {"issuer": ISSUER, "audience": AUDIENCE, "now": NOW + timedelta(seconds=5)}
    arguments.update(overrides)
    return verify_access_token(keyset, token, **arguments)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _segment(obj: dict[str, Any]) -> str:
    return _b64(json.dumps(obj, separators=(",", ":")).encode())


def _payload(**overrides: Any) -> dict[str, Any]:
    now = int(NOW.timestamp())
    claims: dict[str, Any] = {
        "iss": ISSUER, "aud": AUDIENCE, "sub": "usr_1", "tid": "ten_acme", "role": "owner",
        "kind": "user", "jti": "jti-1", "iat": now, "nbf": now, "exp": now + 900,
    }
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


def _signed(keyset: KeySet, payload: dict[str, Any], **header: Any) -> str:
    key = keyset.signing_key
    headers = {"kid": key.kid, "typ": "at+jwt", **header}
    return jwt.encode(payload, key.private_key, algorithm=key.algorithm, headers=headers)  # type: ignore[arg-type]


def _refused(keyset: KeySet, token: str, **overrides: Any) -> InvalidToken:
    with pytest.raises(InvalidToken) as caught:
        _verify(keyset, token, **overrides)
    error = caught.value
    # The error never echoes the token, in any form the edge might render.
    rendered = json.dumps(error.to_body("req-1")) + str(error) + repr(error.details) + repr(error.headers)
    assert token not in rendered or not token
    for part in token.split("."):
        if len(part) > 8:
            assert part not in rendered
    assert error.status == 401 and isinstance(error, Unauthenticated)
    return error


# --- happy path -------------------------------------------------------------------------------


def test_issued_token_verifies_with_all_claims(keyset: KeySet) -> None:
    # GIVEN a token issued for an admin of ACME
    token = _issue(keyset, extra={"ws": ["w1"]})
    # WHEN it is verified
    claims = _verify(keyset, token)
    # THEN every claim comes back typed
    assert claims.user_id == "usr_1" and claims.tenant_id == "ten_acme"
    assert claims.role is Role.ADMIN and claims.token_kind is TokenKind.USER
    assert claims.session_id == "ses_1" and claims.key_id == "k1"
    assert claims.issuer == ISSUER and claims.audience == AUDIENCE
    assert claims.issued_at == NOW.timestamp()
    assert claims.expires_at == int(NOW.timestamp()) + 900
    assert claims.not_before == int(NOW.timestamp())
    assert dict(claims.extra) == {"ws": ["w1"]}
    assert claims.token_id


def test_header_names_key_type_and_algorithm(keyset: KeySet) -> None:
    header = jwt.get_unverified_header(_issue(keyset))
    assert header == {"alg": "EdDSA", "kid": "k1", "typ": "at+jwt"}


def test_each_token_has_a_fresh_jti(keyset: KeySet) -> None:
    ids = {_verify(keyset, _issue(keyset)).token_id for _ in range(5)}
    assert len(ids) == 5


def test_api_kind_and_no_session(keyset: KeySet) -> None:
    claims = _verify(keyset, _issue(keyset, token_kind="api", session_id=None, role="viewer"))
    assert claims.token_kind is TokenKind.API and claims.session_id is None and claims.role is Role.VIEWER


def test_es256_keys_work_too() -> None:
    es_keyset = _keyset(generate_key_config("ec1", algorithm="ES256"))
    token = _issue(es_keyset)
    assert jwt.get_unverified_header(token)["alg"] == "ES256"
    assert _verify(es_keyset, token).key_id == "ec1"


def test_leeway_tolerates_small_clock_skew(keyset: KeySet) -> None:
    token = _issue(keyset, ttl=60)
    late = NOW + timedelta(seconds=62)
    _refused(keyset, token, now=late)
    assert _verify(keyset, token, now=late, leeway=5).user_id == "usr_1"


@pytest.mark.parametrize(
    "overrides",
    [
        {"extra": {"sub": "someone-else"}},
        {"extra": {"role": "owner"}},
        {"ttl": 0},
        {"ttl": 86_401},
        {"now": NOW.replace(tzinfo=None)},
        {"user_id": ""},
        {"role": "superuser"},
        {"token_kind": "robot"},
    ],
)
def test_issue_refuses_invalid_arguments(keyset: KeySet, overrides: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        _issue(keyset, **overrides)


# --- negative suite ---------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_alg_none_is_refused(keyset: KeySet, alg: str) -> None:
    # GIVEN an unsigned token claiming to be an owner, with a valid kid
    token = f"{_segment({'alg': alg, 'typ': 'at+jwt', 'kid': 'k1'})}.{_segment(_payload())}."
    # THEN it is refused
    assert _refused(keyset, token).code == "invalid_token"


def test_hs256_signed_with_the_public_key_is_refused(keyset: KeySet, key_k1: dict[str, str]) -> None:
    # GIVEN the classic confusion attack: HMAC keyed with the (public) PEM of the real key
    signing_input = f"{_segment({'alg': 'HS256', 'typ': 'at+jwt', 'kid': 'k1'})}.{_segment(_payload())}"
    mac = hmac.new(key_k1["public_key"].encode(), signing_input.encode(), hashlib.sha256).digest()
    token = f"{signing_input}.{_b64(mac)}"
    # THEN the key's pinned algorithm refuses it
    error = _refused(keyset, token)
    assert error.code == "invalid_token" and error.reason == "algorithm_mismatch"


def test_es256_token_presented_to_an_eddsa_key_is_refused(keyset: KeySet) -> None:
    attacker = _keyset(generate_key_config("k1", algorithm="ES256"))
    assert _refused(keyset, _issue(attacker)).reason == "algorithm_mismatch"


def test_token_signed_by_another_key_pair_with_the_same_kid_is_refused(keyset: KeySet) -> None:
    attacker = _keyset(generate_key_config("k1"))
    error = _refused(keyset, _issue(attacker, role=Role.OWNER))
    assert error.reason == "bad_signature"


def test_expired_token_is_refused_with_token_expired(keyset: KeySet) -> None:
    token = _issue(keyset, ttl=900)
    assert _verify(keyset, token, now=NOW + timedelta(seconds=899)).user_id == "usr_1"
    error = _refused(keyset, token, now=NOW + timedelta(seconds=900))
    assert error.code == "token_expired" and isinstance(error, InvalidToken)
    assert error.headers["WWW-Authenticate"].startswith("Bearer")


def test_expired_forgery_is_not_reported_as_merely_expired(keyset: KeySet) -> None:
    attacker = _keyset(generate_key_config("k1"))
    token = _issue(attacker, ttl=60)
    assert _refused(keyset, token, now=NOW + timedelta(hours=1)).code == "invalid_token"


def test_nbf_in_the_future_is_refused(keyset: KeySet) -> None:
    now = int(NOW.timestamp())
    token = _signed(keyset, _payload(nbf=now + 60))
    assert _refused(keyset, token, now=NOW).reason == "not_yet_valid"


def test_iat_in_the_future_is_refused(keyset: KeySet) -> None:
    token = _signed(keyset, _payload(iat=int(NOW.timestamp()) + 3600, nbf=None))
    assert _refused(keyset, token, now=NOW).reason == "issued_in_future"


def test_wrong_audience_is_refused(keyset: KeySet) -> None:
    assert _refused(keyset, _issue(keyset, audience="other-api")).reason == "wrong_audience"


def test_audience_list_is_refused(keyset: KeySet) -> None:
    token = _signed(keyset, _payload(aud=[AUDIENCE, "other"]))
    assert _refused(keyset, token).code == "invalid_token"


def test_wrong_issuer_is_refused(keyset: KeySet) -> None:
    assert _refused(keyset, _issue(keyset, issuer="https://evil.test")).reason == "wrong_issuer"


@pytest.mark.parametrize("claim", ["exp", "iat", "iss", "aud", "sub", "tid", "role", "jti", "kind"])
def test_missing_required_claim_is_refused(keyset: KeySet, claim: str) -> None:
    token = _signed(keyset, _payload(**{claim: None}))
    assert _refused(keyset, token).code == "invalid_token"


@pytest.mark.parametrize(
    "overrides",
    [
        {"exp": "tomorrow"},
        {"exp": True},
        {"iat": "now"},
        {"role": "superuser"},
        {"kind": "robot"},
        {"tid": 42},
        {"sub": ""},
        {"sid": 7},
    ],
)
def test_bad_claim_values_are_refused(keyset: KeySet, overrides: dict[str, Any]) -> None:
    assert _refused(keyset, _signed(keyset, _payload(**overrides))).code == "invalid_token"


def test_non_finite_exp_is_refused(keyset: KeySet) -> None:
    # json.loads accepts NaN; a signed token carrying it must still be refused.
    key = keyset.signing_key
    body = json.dumps(_payload(exp=float("nan"))).encode()
    token = jwt.api_jws.encode(body, key.private_key, algorithm="EdDSA", headers={"kid": "k1", "typ": "at+jwt"})
    assert _refused(keyset, token).code == "invalid_token"


def test_tampered_payload_is_refused(keyset: KeySet) -> None:
    # GIVEN a genuine viewer token whose payload is swapped for an owner payload
    header, payload, signature = _issue(keyset, role=Role.VIEWER).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "owner"
    token = f"{header}.{_segment(claims)}.{signature}"
    # THEN the signature no longer matches
    assert _refused(keyset, token).reason == "bad_signature"


def test_tampered_header_is_refused(keyset: KeySet) -> None:
    _, payload, signature = _issue(keyset).split(".")
    header = _segment({"alg": "EdDSA", "kid": "k1", "typ": "at+jwt", "x": 1})
    assert _refused(keyset, f"{header}.{payload}.{signature}").reason == "bad_signature"


def test_unknown_kid_is_refused(keyset: KeySet) -> None:
    other = _keyset(generate_key_config("k9"))
    assert _refused(keyset, _issue(other)).reason == "unknown_kid"


def test_missing_kid_is_refused(keyset: KeySet) -> None:
    key = keyset.signing_key
    token = jwt.encode(_payload(), key.private_key, algorithm="EdDSA", headers={"typ": "at+jwt"})  # type: ignore[arg-type]
    assert _refused(keyset, token).reason == "unknown_kid"


def test_other_jwt_types_are_refused(keyset: KeySet) -> None:
    # A JWT signed by our key but not typed as an access token (e.g. some other signed artefact).
    assert _refused(keyset, _signed(keyset, _payload(), typ="JWT")).reason == "wrong_type"


@pytest.mark.parametrize(
    "garbage",
    ["", "abc", "a.b.c", "a.b", "....", "é.é.é", "x" * 9000, "eyJhbGciOiJFZERTQSJ9.e30.AAAA"],
)
def test_garbage_is_refused(keyset: KeySet, garbage: str) -> None:
    assert _refused(keyset, garbage).code == "invalid_token"


@pytest.mark.parametrize("not_text", [None, 42, b"abc.def.ghi", {"token": "x"}])
def test_non_string_tokens_are_refused(keyset: KeySet, not_text: object) -> None:
    with pytest.raises(InvalidToken):
        verify_access_token(keyset, not_text, issuer=ISSUER, audience=AUDIENCE, now=NOW)


# --- rotation ---------------------------------------------------------------------------------


def test_rotation_retiring_key_verifies_during_overlap_then_not(key_k1: dict[str, str]) -> None:
    # GIVEN a token signed by k1 before rotation
    before = _keyset(key_k1)
    token = _issue(before, ttl=86_400)
    # WHEN k2 becomes active and k1 is retiring for one hour
    key_k2 = generate_key_config("k2")
    retiring = {**key_k1, "status": "retiring", "retire_after": "2026-11-22T11:00:00Z"}
    rotated = _keyset(key_k2, retiring)
    # THEN the old token still verifies within the overlap, and new tokens are signed by k2
    assert _verify(rotated, token, now=NOW + timedelta(minutes=30)).key_id == "k1"
    assert jwt.get_unverified_header(_issue(rotated))["kid"] == "k2"
    # AND after retire_after it is refused
    assert _refused(rotated, token, now=NOW + timedelta(hours=1)).reason == "retired_kid"


def test_rotation_retired_key_is_refused(key_k1: dict[str, str]) -> None:
    token = _issue(_keyset(key_k1), ttl=86_400)
    retired = {k: v for k, v in key_k1.items() if k != "private_key"} | {"status": "retired"}
    rotated = _keyset(generate_key_config("k2"), retired)
    assert _refused(rotated, token).reason == "retired_kid"


def test_retiring_key_without_deadline_keeps_verifying(key_k1: dict[str, str]) -> None:
    token = _issue(_keyset(key_k1), ttl=86_400)
    verify_only = {k: v for k, v in key_k1.items() if k != "private_key"} | {"status": "retiring"}
    rotated = _keyset(generate_key_config("k2"), verify_only)
    assert _verify(rotated, token, now=NOW + timedelta(hours=20)).key_id == "k1"


# --- global session reset ---------------------------------------------------------------------


def test_tokens_issued_before_a_reset_are_refused(keyset: KeySet) -> None:
    # GIVEN a token issued at 10:00:00.200 and a reset at 10:00:00.500, within the same second
    early = _issue(keyset, now=NOW + timedelta(milliseconds=200))
    late = _issue(keyset, now=NOW + timedelta(milliseconds=700))
    reset_at = (NOW + timedelta(milliseconds=500)).timestamp()
    # THEN the token from before the reset is refused and the one from after it is accepted
    assert _refused(keyset, early, not_before_epoch=reset_at).reason == "issued_before_reset"
    assert _verify(keyset, late, not_before_epoch=reset_at).user_id == "usr_1"


def test_reset_long_ago_changes_nothing(keyset: KeySet) -> None:
    token = _issue(keyset)
    assert _verify(keyset, token, not_before_epoch=(NOW - timedelta(days=1)).timestamp())


def test_invalid_leeway_is_a_programming_error(keyset: KeySet) -> None:
    with pytest.raises(ValueError):
        _verify(keyset, _issue(keyset), leeway=-1)
    with pytest.raises(ValueError):
        _verify(keyset, _issue(keyset), leeway=3600)
