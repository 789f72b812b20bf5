"""Slack connector contract against the loopback Slack fake."""

from __future__ import annotations

import json

import pytest

from chalicelib.connectors.catalog import get_builtin
from chalicelib.connectors.errors import (
    InvalidActionInput,
    UpstreamActionFailed,
    UpstreamRateLimited,
    UpstreamUnauthorized,
)
from tests.fakes.vendors.contract import RecordedSleeps, loopback_invoker
from tests.fakes.vendors.slack import DEFAULT_TOKEN, FakeSlack

SLACK = get_builtin("slack")


@pytest.fixture(autouse=True)
def _stack():
    """Overrides the integration conftest's stack: contract tests need only the vendor fake."""


@pytest.fixture(scope="module")
def slack():
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def invoke(slack):
    slack.clear()
    sleeps = RecordedSleeps()

    def run(action, input=None, token=DEFAULT_TOKEN, **kwargs):
        with loopback_invoker(sleep=sleeps) as invoker:
            return invoker.invoke(
                SLACK,
                action,
                input=input or {},
                settings={"base_url": slack.base_url},
                credentials={"token": token},
                **kwargs,
            )

    run.sleeps = sleeps
    return run


def test_the_test_action_checks_the_token(slack, invoke):
    with loopback_invoker() as invoker:
        result = invoker.test_connection(
            SLACK, settings={"base_url": slack.base_url}, credentials={"token": DEFAULT_TOKEN}
        )
    assert result.output["team_id"] == "T0123ABC"
    assert (
        slack.last.path == "/api/auth.test"
        and slack.last.headers["authorization"] == f"Bearer {DEFAULT_TOKEN}"
    )


def test_post_message_sends_json_and_returns_the_timestamp(slack, invoke):
    result = invoke("post_message", {"body": {"channel": "C0123456789", "text": "Deployed ✅"}})
    assert result.output["ts"] and result.output["channel"] == "C0123456789"
    assert slack.last.headers["content-type"] == "application/json; charset=utf-8"
    assert slack.last.json() == {"channel": "C0123456789", "text": "Deployed ✅"}


def test_update_message_and_add_reaction(slack, invoke):
    ts = invoke("post_message", {"body": {"channel": "C0123456789", "text": "v1"}}).output["ts"]
    assert (
        invoke("update_message", {"body": {"channel": "C0123456789", "ts": ts, "text": "v2"}}).output["ts"]
        == ts
    )
    assert invoke(
        "add_reaction", {"body": {"channel": "C0123456789", "timestamp": ts, "name": "rocket"}}
    ).output == {"ok": True}


def test_list_conversations_passes_query_parameters(slack, invoke):
    result = invoke("list_conversations", {"query": {"limit": 1, "exclude_archived": True}})
    assert [c["name"] for c in result.output["channels"]] == ["general"]
    assert slack.last.query == {"limit": ["1"], "exclude_archived": ["true"]}


def test_ok_false_at_http_200_maps_to_a_non_retryable_failure(invoke):
    with pytest.raises(UpstreamActionFailed) as caught:
        invoke("post_message", {"body": {"channel": "C_UNKNOWN", "text": "x"}})
    assert caught.value.vendor_code == "channel_not_found" and caught.value.retryable is False
    assert caught.value.trace.response.status == 200


def test_an_invalid_token_is_an_auth_failure_and_never_leaks(invoke):
    wrong = "xoxb-9999-8888-wrong-token-value"
    with pytest.raises(UpstreamUnauthorized) as caught:
        invoke("auth_test", token=wrong)
    assert caught.value.vendor_code == "invalid_auth"
    assert wrong not in json.dumps(caught.value.trace.to_dict()) and wrong not in str(caught.value)


def test_rate_limiting_honours_retry_after(slack, invoke):
    slack.script(slack.rate_limited(retry_after=2))
    result = invoke("auth_test")
    assert result.output["ok"] is True and invoke.sleeps == [2.0]


def test_a_rate_limit_longer_than_the_budget_is_returned_as_retryable(slack, invoke):
    slack.script(slack.rate_limited(retry_after=30))
    with pytest.raises(UpstreamRateLimited) as caught:
        invoke("auth_test", timeout=5)
    assert caught.value.retry_after == 30 and caught.value.retryable


def test_input_missing_text_and_blocks_is_refused_before_calling(slack, invoke):
    with pytest.raises(InvalidActionInput):
        invoke("post_message", {"body": {"channel": "C0123456789"}})
    assert slack.requests == []
