"""Secret masking: by value (and encodings) and by name."""

from __future__ import annotations

import base64
import urllib.parse

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from chalicelib.masking import MASK, SecretMasker, mask_secret

SECRET = "sk_live_51Hx9QeYXhJkLmNoPqRsTuVw"


def test_long_secrets_keep_at_most_their_last_four_characters_short_ones_nothing():
    assert mask_secret(SECRET) == MASK + SECRET[-4:]
    assert mask_secret("short-secret") == MASK


def test_a_secret_is_masked_in_its_raw_url_encoded_and_base64_forms():
    secret = "p@ss/word+with spaces&more"
    masker = SecretMasker([secret])
    text = (
        f"a={secret} b={urllib.parse.quote(secret, safe='')} c={base64.b64encode(secret.encode()).decode()}"
    )
    masked = masker.text(text)
    assert secret not in masked
    assert urllib.parse.quote(secret, safe="") not in masked
    assert base64.b64encode(secret.encode()).decode() not in masked


def test_sensitive_headers_are_redacted_by_name_keeping_the_scheme():
    masker = SecretMasker(header_names=["X-Shopify-Access-Token"])
    headers = masker.headers(
        {
            "Authorization": "Bearer abc.def.ghi-unknown-token",
            "X-Shopify-Access-Token": "shpat_1",
            "Accept": "json",
        }
    )
    assert headers["Authorization"].startswith("Bearer ••••") and "abc.def" not in headers["Authorization"]
    assert headers["X-Shopify-Access-Token"] == MASK
    assert headers["Accept"] == "json"


def test_urls_lose_sensitive_query_values_and_userinfo():
    masker = SecretMasker(query_names=["key"])
    url = masker.url("https://user:pw@api.example.com/v1/x?key=abcd1234&page=2&access_token=zzz")
    assert "abcd1234" not in url and "zzz" not in url and "pw@" not in url
    assert "page=2" in url


def test_bodies_are_masked_by_key_and_by_value():
    masker = SecretMasker([SECRET])
    body = masker.body({"password": "hunter2", "nested": [{"note": f"key is {SECRET}"}], "count": 3})
    assert body["password"] == MASK
    assert SECRET not in str(body) and body["count"] == 3


def test_a_merged_masker_knows_both_sets_of_secrets():
    merged = SecretMasker(["old-token-value-1234"]).merged(SecretMasker(["new-token-value-5678"]))
    assert "token-value" not in merged.text("old-token-value-1234 new-token-value-5678")


@settings(max_examples=200, deadline=None)
@given(
    secret=st.text(
        alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=4, max_size=40
    ),
    prefix=st.text(max_size=20),
    suffix=st.text(max_size=20),
)
def test_property_a_known_secret_never_survives_masking(secret, prefix, suffix):
    assume("•" not in secret)  # a secret made of mask characters would be indistinguishable from its mask
    masked = SecretMasker([secret]).text(prefix + secret + suffix)
    assert secret not in masked


def test_names_and_values_follow_one_rule_set_in_traces_and_records():
    # GIVEN a masker for run records (no hint) that learnt a credential mapping
    masker = SecretMasker(show_hint=False)
    masker.add_values({"type": "bearer", "token_type": "Bearer", "token": SECRET, "expires_in": 3600})
    # THEN descriptive fields are not taken as secrets, and every spelling of the token is masked
    echoed = f"{SECRET.upper()} {base64.b64encode(SECRET.encode()).decode()} Bearer"
    assert masker.values({"echo": echoed, "n": 3600}) == {"echo": f"{MASK} {MASK} Bearer", "n": 3600}
    # AND a trace body or URL is redacted by the same key rule the audit log uses
    body = SecretMasker().body({"clientSecret": "x" * 20, "token_type": "Bearer", "apiKey": "k" * 8})
    assert body == {"clientSecret": MASK, "token_type": "Bearer", "apiKey": MASK}
    assert "k" * 8 not in SecretMasker().url("https://api.example.test/x?apiKey=" + "k" * 8)


# Upper case and digits only, so a tail can never match the fixed text around it ("Bearer", key names, URLs).
@given(secret=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=12, max_size=40))
@settings(max_examples=60, deadline=None)
def test_a_masker_without_hints_leaves_no_tail_of_a_secret_in_any_of_its_outputs(secret: str) -> None:
    """``show_hint=False`` (run records) holds for every method: headers by name, headers by value, bodies,
    documents, forms, urls and text keep not even the last characters of a credential."""
    masker = SecretMasker([secret], header_names=["X-Vendor-Key"], query_names=["key"], show_hint=False)
    tail = secret[-4:]
    outputs = [
        *masker.headers({"Authorization": f"Bearer {secret}", "X-Vendor-Key": secret, "X-Echo": secret}).values(),
        *masker.request_headers({"Authorization": f"Bearer {secret}", "X-Vendor-Key": secret}).values(),
        masker.text(f"token {secret} end"),
        str(masker.body({"password": secret, "note": secret})),
        str(masker.document({"api_key": secret, "list": [secret]})),
        masker.form(f"token={secret}&x=1"),
        masker.url(f"https://api.example.com/x?key={secret}&q={secret}"),
    ]
    for output in outputs:
        assert tail not in output.replace(MASK, "|"), output
