"""The built-in catalog: every file validates, and each app is complete."""

from __future__ import annotations

import json

import pytest

from chalicelib.connectors import catalog
from chalicelib.connectors.catalog import UnknownConnector, builtin_slugs, get_builtin, load_catalog
from chalicelib.connectors.definition import BasicAuth, BearerAuth, CustomHeaderAuth, NoAuth, OAuth2Auth
from chalicelib.errors import ConfigurationError

EXPECTED = {"http", "slack", "github", "stripe", "shopify", "sendgrid", "hubspot"}


def test_the_catalog_holds_the_seven_built_in_apps():
    assert set(builtin_slugs()) == EXPECTED


def test_the_catalog_is_loaded_once_and_cached():
    assert load_catalog() is load_catalog()
    assert get_builtin("slack") is load_catalog()["slack"]


@pytest.mark.parametrize("slug", sorted(EXPECTED))
def test_each_app_has_a_test_action_three_more_actions_and_an_overridable_base_url(slug):
    definition = get_builtin(slug)
    keys = {a.key for a in definition.actions}
    assert definition.test_action in keys
    assert len(keys - {definition.test_action}) >= 3
    assert "base_url" in definition.settings_schema["properties"]


def test_each_vendor_uses_its_documented_auth_scheme():
    assert isinstance(get_builtin("slack").auth, BearerAuth)
    assert isinstance(get_builtin("github").auth, BearerAuth)
    assert isinstance(get_builtin("sendgrid").auth, BearerAuth)
    stripe = get_builtin("stripe")
    assert isinstance(stripe.auth, BasicAuth) and stripe.auth.password_field is None
    assert all(a.body_encoding in ("form", "none") for a in stripe.actions)
    shopify = get_builtin("shopify").auth
    assert isinstance(shopify, CustomHeaderAuth) and shopify.header == "X-Shopify-Access-Token"
    hubspot = get_builtin("hubspot").auth
    assert isinstance(hubspot, OAuth2Auth) and hubspot.token_url == "https://api.hubapi.com/oauth/v1/token"
    assert isinstance(get_builtin("http").auth, NoAuth)


def test_github_sends_its_media_type_and_api_version_on_every_call():
    headers = get_builtin("github").default_headers
    assert headers["Accept"] == "application/vnd.github+json"
    assert headers["X-GitHub-Api-Version"] == "2022-11-28"


def test_an_unknown_slug_is_a_404():
    with pytest.raises(UnknownConnector) as caught:
        get_builtin("nope")
    assert caught.value.status == 404 and caught.value.code == "connector_not_found"


def test_a_broken_catalog_file_fails_loudly_with_pointers(tmp_path):
    broken = json.loads((catalog.CATALOG_DIR / "slack.json").read_text())
    broken["actions"][1]["method"] = "SEND"
    path = tmp_path / "slack.json"
    path.write_text(json.dumps(broken))
    with pytest.raises(ConfigurationError) as caught:
        catalog._load_file(path)
    assert caught.value.details == [
        {
            "path": "/actions/1/method",
            "issue": "'SEND' is not one of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']",
        }
    ]


def test_a_file_whose_slug_differs_from_its_name_is_refused(tmp_path):
    path = tmp_path / "other.json"
    path.write_text((catalog.CATALOG_DIR / "slack.json").read_text())
    with pytest.raises(ConfigurationError):
        catalog._load_file(path)
