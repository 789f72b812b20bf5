"""A request as a delivery keeps it: masking first, then the bound; binary bodies keep only their size."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.masking import MASK, is_sensitive_header, mask_secret_pairs
from chalicelib.triggers.captured_requests import BINARY, JSON, TEXT, capture, secret_masker

SECRET = "whsec_c2lnbmluZy1rZXktZm9yLXVuaXQtdGVzdHM="
MASKER = secret_masker([SECRET, None])


def _capture(raw: bytes, content_type: str = "application/json", **kw):
    return capture("post", {"Content-Type": content_type}, raw, MASKER, **kw)


def test_a_json_body_without_secrets_is_kept_byte_for_byte():
    raw = b'{ "b": 1,\n  "a": [1, 2] }'
    kept = _capture(raw)
    assert (kept.method, kept.body, kept.body_encoding, kept.truncated) == ("POST", raw.decode(), JSON, False)


def test_a_json_body_with_secrets_is_masked_then_reserialised():
    kept = _capture(json.dumps({"password": "p", "nested": {"api_key": "k" * 20}, "x": SECRET}).encode())
    assert json.loads(kept.body) == {"password": MASK, "nested": {"api_key": MASK}, "x": MASK}


def test_an_already_parsed_body_is_not_parsed_again():
    kept = _capture(b'{"token": "abc"}', parsed={"token": "abc", "from": "caller"})
    assert json.loads(kept.body) == {"token": MASK, "from": "caller"}


def test_the_standard_webhooks_key_material_alone_is_masked_too():
    key = SECRET.removeprefix("whsec_")
    assert _capture(f"key={key}".encode(), "text/plain").body == f"key={MASK}"


def test_the_cut_comes_after_masking_and_never_splits_a_character():
    raw = json.dumps({"token": "t" * 40, "rows": ["ü" * 10] * 40}, ensure_ascii=False).encode()
    kept = _capture(raw, limit=400)
    assert kept.truncated and kept.body_encoding == TEXT
    assert kept.body.startswith('{"token":"' + MASK) and "t" * 40 not in kept.body
    assert len(kept.body.encode()) <= 400


def test_a_body_far_beyond_the_bound_is_read_as_a_prefix_with_its_pairs_masked():
    raw = b'{"password": "hunter2", "rows": "' + b"x" * 2000 + b'"}'
    kept = _capture(raw, limit=100)
    assert kept.truncated and kept.body.startswith(f'{{"password": "{MASK}"')
    assert "hunter2" not in kept.body


@pytest.mark.parametrize("raw", [bytes(range(256)), b"text with a \x00 NUL", b"\xff\xfe"])
def test_binary_bodies_keep_no_byte(raw):
    kept = _capture(raw, "text/plain")
    assert (kept.body, kept.body_encoding, kept.truncated) == (None, BINARY, False)


def test_headers_are_lower_cased_bounded_and_masked():
    headers = {"X-Hub-Signature-256": "sha256=" + "a" * 64, "Authorization": "Bearer abcdefghijklmnopqrstu",
               "X-Trace": f"has {SECRET}", "Weird": "nul\x00here", "Content-Type": "application/json"}
    kept = capture("POST", headers, b"{}", MASKER).headers
    assert kept == {"x-hub-signature-256": MASK, "authorization": f"Bearer {MASK}", "x-trace": f"has {MASK}",
                    "weird": "nul\ufffdhere", "content-type": "application/json"}


@pytest.mark.parametrize("name", ["Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie", "X-Api-Key",
                                  "Api-Key", "X-Auth-Token", "X-Client-Secret", "Stripe-Signature",
                                  "X-Shopify-Hmac-Sha256", "webhook-signature", "X-Slack-Signature"])
def test_sensitive_headers_by_name(name):
    assert is_sensitive_header(name)


@pytest.mark.parametrize("name", ["Content-Type", "User-Agent", "webhook-id", "X-GitHub-Delivery",
                                  "X-Slack-Request-Timestamp", "Accept"])
def test_ordinary_headers_are_not_sensitive(name):
    assert not is_sensitive_header(name)


def test_secret_pairs_in_text():
    text = '{"a": "x", "password": "p\\"w", "api_key": 12345, "nested": {"token": "t"}, "client_secret": "cut'
    assert mask_secret_pairs(text) == (
        f'{{"a": "x", "password": "{MASK}", "api_key": {MASK}, "nested": {{"token": "{MASK}"}}, '
        f'"client_secret": "{MASK}"')
    assert mask_secret_pairs("user=a&token=b c=d secret=e") == f"user=a&token={MASK} c=d secret={MASK}"


_SECRET_KEYS = ("password", "token", "client_secret", "api_key")
# Secret values in capitals, other values in lower case: one can never be found inside the other.
_SECRET_VALUES = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=6, max_size=30)
_OTHER_VALUES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789 ", max_size=60)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(_SECRET_KEYS), _SECRET_VALUES, min_size=1),
       st.dictionaries(st.sampled_from(["note", "id", "rows"]), _OTHER_VALUES),
       st.integers(min_value=16, max_value=400),
       st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded"]))
def test_no_secret_value_survives_whatever_the_bound(secret_fields, other_fields, limit, content_type):
    # GIVEN a body mixing secret fields, ordinary fields and the signing secret itself
    body = {**other_fields, **secret_fields, "echo": SECRET}
    raw = (json.dumps(body) if content_type != "application/x-www-form-urlencoded"
           else "&".join(f"{k}={v}" for k, v in body.items())).encode()
    # WHEN it is captured under any bound
    kept = _capture(raw, content_type, limit=limit)
    # THEN no secret value is in what is kept, cut or not
    for value in [*secret_fields.values(), SECRET, SECRET.removeprefix("whsec_")]:
        assert value not in kept.body, (value, kept.body)
    assert len(kept.body.encode()) <= limit


def test_only_authorization_schemes_stay_readable_before_the_mask():
    kept = capture("POST", {"Authorization": "Token abcdefghijklmnop", "X-Api-Key": "first-word rest-of-key"},
                   b"", MASKER).headers
    assert kept == {"authorization": f"Token {MASK}", "x-api-key": MASK}
