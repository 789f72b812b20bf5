"""Secret masking and audit diffs: a secret never appears in the output."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.identity.opaque_tokens import TokenPurpose, generate_token
from chalicelib.masking import MASK, diff, is_secret_key, mask_secrets, mask_value

LONG_SECRET = "sk_live_4242424242424242abcd"


@pytest.mark.parametrize(
    "key",
    ["password", "new_password", "secret", "client_secret", "Client-Secret", "clientSecret", "token",
     "api_key", "apiKey", "X-Api-Key", "authorization", "Authorization", "private_key", "refresh_token",
     "access_token", "webhook_secret", "aws_secret_access_key", "credentials", "Cookie", "pwd", "passphrase"],
)
def test_secret_looking_keys(key: str) -> None:
    assert is_secret_key(key)


@pytest.mark.parametrize("key", ["name", "email", "url", "kid", "status", "id", "", "key_id", 3])
def test_ordinary_keys(key: object) -> None:
    assert not is_secret_key(key)


def test_caller_named_keys_are_secret_too() -> None:
    assert is_secret_key("shop_domain_pin_hash", ["shop_domain_pin_hash"])
    masked = mask_secrets({"account_sid": "AC123456789012345678", "name": "x"}, secret_keys={"account_sid"})
    assert masked == {"account_sid": "••••5678", "name": "x"}


def test_nested_secrets_are_masked_and_the_input_is_untouched() -> None:
    # GIVEN a connection record with secrets at several depths
    record = {
        "name": "Shop",
        "config": {"base_url": "https://shop.test", "api_key": LONG_SECRET, "oauth": {"refresh_token": "r" * 30}},
        "headers": [{"name": "X-Trace", "value": "1"}, {"Authorization": "Bearer abcdefghijklmnop"}],
        "users": ({"password": "a-very-long-password-123"},),
    }
    original = copy.deepcopy(record)
    # WHEN it is masked
    masked = mask_secrets(record)
    # THEN secrets are hidden, ordinary values kept, and the input unchanged
    assert masked["name"] == "Shop" and masked["config"]["base_url"] == "https://shop.test"
    assert masked["config"]["api_key"] == "••••abcd"
    assert masked["config"]["oauth"]["refresh_token"] == "••••rrrr"
    assert masked["headers"][0] == {"name": "X-Trace", "value": "1"}
    assert masked["headers"][1]["Authorization"] == "••••mnop"
    assert masked["users"] == [{"password": MASK}]  # passwords show no hint at all
    assert record == original
    rendered = json.dumps(masked)
    assert LONG_SECRET not in rendered and "a-very-long-password" not in rendered


def test_short_and_non_string_secrets_show_nothing() -> None:
    masked = mask_secrets({"token": "abc123", "secret": 123456789, "credentials": {"user": "u", "pass": "p"}})
    assert masked == {"token": MASK, "secret": MASK, "credentials": MASK}


def test_unset_secrets_stay_unset() -> None:
    assert mask_secrets({"api_key": None, "client_secret": ""}) == {"api_key": None, "client_secret": ""}


@pytest.mark.parametrize(
    "value",
    [
        generate_token(TokenPurpose.API).value,
        "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ1c3JfMSJ9.c2lnbmF0dXJl",
        "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI\n-----END PRIVATE KEY-----\n",
        "Bearer abcdefghijklmnopqrstuvwxyz",
    ],
)
def test_credential_shaped_values_are_masked_under_any_key(value: str) -> None:
    masked = mask_secrets({"note": value, "list": [value]})
    assert value not in json.dumps(masked)
    assert masked["note"].startswith(MASK)


def test_mask_value_rules() -> None:
    assert mask_value("0123456789abcdef") == "••••cdef"
    assert mask_value("0123456789abcde") == MASK
    assert mask_value("0123456789abcdef", show_hint=False) == MASK
    assert mask_value(None) is None


def test_very_deep_structures_are_cut_off_masked() -> None:
    deep: dict[str, object] = {"leaf": "plain"}
    for _ in range(100):
        deep = {"child": deep}
    rendered = json.dumps(mask_secrets(deep), ensure_ascii=False)
    assert "plain" not in rendered and MASK in rendered


# --- diff -------------------------------------------------------------------------------------


def test_diff_lists_only_changed_fields() -> None:
    before = {"name": "Old", "enabled": True, "retries": 3, "gone": "x"}
    after = {"name": "New", "enabled": True, "retries": 3, "added": [1]}
    assert diff(before, after) == {
        "name": {"before": "Old", "after": "New"},
        "gone": {"before": "x", "after": None},
        "added": {"before": None, "after": [1]},
    }


def test_diff_of_creation_and_deletion() -> None:
    assert diff(None, {"name": "A"}) == {"name": {"before": None, "after": "A"}}
    assert diff({"name": "A"}, None) == {"name": {"before": "A", "after": None}}
    assert diff({"name": "A"}, {"name": "A"}) == {}


def test_diff_type_changes_count() -> None:
    assert diff({"flag": 1}, {"flag": True}) == {"flag": {"before": 1, "after": True}}


def test_rotated_secret_shows_as_changed_but_masked() -> None:
    old_secret, new_secret = "whsec_old_0000000000_wxyz", "whsec_new_1111111111_wxyz"
    changes = diff({"signing_secret": old_secret}, {"signing_secret": new_secret})
    assert changes == {"signing_secret": {"before": "••••wxyz", "after": "••••wxyz"}}


def test_nested_secrets_inside_a_changed_field_are_masked() -> None:
    changes = diff({"config": {"url": "a", "password": "p" * 20}}, {"config": {"url": "b", "password": "q" * 20}})
    assert changes["config"]["before"] == {"url": "a", "password": MASK}
    assert changes["config"]["after"] == {"url": "b", "password": MASK}


def test_diff_honours_caller_named_secret_keys() -> None:
    changes = diff({"sid": "AC000000000000000001"}, {"sid": "AC000000000000000002"}, secret_keys=["sid"])
    assert "AC00000000000000000" not in json.dumps(changes)


_secret = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=8, max_size=40).map(
    lambda body: "S3CR3T" + body
)
_secret_key = st.sampled_from(["password", "api_key", "client_secret", "Authorization", "refresh_token", "token"])


@given(key=_secret_key, old=_secret, new=_secret, depth=st.integers(min_value=0, max_value=5))
def test_property_diff_never_leaks_a_secret(key: str, old: str, new: str, depth: int) -> None:
    def nest(value: str) -> dict[str, object]:
        node: dict[str, object] = {key: value, "label": "visible"}
        for level in range(depth):
            node = {f"level{level}": [node]}
        return {"config": node, "name": "n"}

    rendered = json.dumps(diff(nest(old), nest(new))) + json.dumps(mask_secrets(nest(old)))
    assert old not in rendered and new not in rendered
    # At most the last 4 characters of a secret are ever shown.
    assert old[:-4] not in rendered and new[:-4] not in rendered
