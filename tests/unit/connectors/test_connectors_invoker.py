"""The action invoker against an in-memory transport (no network, no real sleeping)."""

from __future__ import annotations

import json
import logging

import pytest

from chalicelib.connectors.catalog import get_builtin
from chalicelib.connectors.errors import (
    ActionNotFound,
    InvalidActionInput,
    InvalidActionOutput,
    UpstreamActionFailed,
    UpstreamConnectionFailed,
    UpstreamRateLimited,
    UpstreamRejected,
    UpstreamTimeout,
    UpstreamUnauthorized,
    UpstreamUnavailable,
)
from chalicelib.connectors.invoker import ActionInvoker
from tests.fakes.vendors.scripted_transport import ScriptedTransport, raw

TOKEN = "ghp_unitTestTokenValue0123456789abcd"
GITHUB = get_builtin("github")
SETTINGS = {"base_url": "https://gh.example"}
REPO = {"path": {"owner": "octo", "repo": "hello"}}
ISSUE = {**REPO, "body": {"title": "Bug"}}


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def run(transport, sleeps, action="get_repository", input=REPO, **kwargs):
    invoker = ActionInvoker(transport, sleep=sleeps)
    return invoker.invoke(
        GITHUB, action, input=input, settings=SETTINGS, credentials={"token": TOKEN}, **kwargs
    )


def test_a_successful_call_returns_status_output_timing_and_a_masked_trace(sleeps):
    transport = ScriptedTransport(raw(200, {"id": 1, "full_name": "octo/hello"}))
    result = run(transport, sleeps)
    assert result.status == 200 and result.output == {"id": 1, "full_name": "octo/hello"}
    assert result.duration_ms >= 0 and result.attempts == 1
    assert result.trace.request.url == "https://gh.example/repos/octo/hello"
    assert result.trace.request.headers["Authorization"] == "Bearer ••••abcd"
    assert TOKEN not in json.dumps(result.to_dict())
    assert transport.sent[0].headers["Authorization"] == f"Bearer {TOKEN}"


def test_input_is_validated_before_any_call(sleeps):
    transport = ScriptedTransport(raw(200, {}))
    with pytest.raises(InvalidActionInput) as caught:
        run(
            transport, sleeps, action="create_issue", input={"path": {"owner": "octo"}, "body": {"title": ""}}
        )
    assert caught.value.status == 422
    assert {d["path"] for d in caught.value.details} == {"/input/path/repo", "/input/body/title"}
    assert transport.sent == []


def test_an_unknown_action_is_not_found(sleeps):
    with pytest.raises(ActionNotFound):
        run(ScriptedTransport(raw(200, {})), sleeps, action="nope")


def test_output_is_validated_after_the_call(sleeps):
    with pytest.raises(InvalidActionOutput) as caught:
        run(ScriptedTransport(raw(200, {"id": "x"})), sleeps)
    assert caught.value.details == [{"path": "/output/full_name", "issue": "is required"}]
    assert caught.value.retryable is False and caught.value.trace.response.status == 200


def test_a_503_on_a_get_is_retried_with_backoff_then_succeeds(sleeps):
    transport = ScriptedTransport(raw(503, {"message": "busy"}), raw(200, {"id": 1, "full_name": "o/h"}))
    result = run(transport, sleeps)
    assert result.status == 200 and result.attempts == 2 and len(sleeps) == 1
    assert [a.status for a in result.trace.attempts] == [503, 200]


def test_retries_are_bounded_by_the_policy(sleeps):
    transport = ScriptedTransport(raw(502, {"message": "bad gateway"}))
    with pytest.raises(UpstreamUnavailable) as caught:
        run(transport, sleeps)
    assert len(transport.sent) == GITHUB.action("get_repository").retry.max_attempts
    assert caught.value.retryable is True and caught.value.upstream_status == 502


def test_a_4xx_is_never_retried_and_carries_the_vendor_message(sleeps):
    transport = ScriptedTransport(
        raw(422, {"message": "Validation Failed", "errors": [{"code": "missing_field"}]})
    )
    with pytest.raises(UpstreamRejected) as caught:
        run(transport, sleeps, action="create_issue", input=ISSUE)
    assert len(transport.sent) == 1 and sleeps == []
    assert caught.value.retryable is False and caught.value.vendor_code == "missing_field"
    assert "Validation Failed" in caught.value.message


def test_a_post_answered_503_is_not_repeated_without_an_idempotency_key(sleeps):
    transport = ScriptedTransport(raw(503, {}), raw(201, {"number": 1, "html_url": "u"}))
    with pytest.raises(UpstreamUnavailable):
        run(transport, sleeps, action="create_issue", input=ISSUE)
    assert len(transport.sent) == 1


def test_a_post_with_an_idempotency_key_is_retried_and_sends_the_key_each_time(sleeps):
    transport = ScriptedTransport(raw(503, {}), raw(201, {"number": 1, "html_url": "u"}))
    result = run(transport, sleeps, action="create_issue", input=ISSUE, idempotency_key="run1:n1:1")
    assert result.status == 201
    assert [r.headers["Idempotency-Key"] for r in transport.sent] == ["run1:n1:1", "run1:n1:1"]


def test_a_connection_that_never_opened_is_retried_even_for_posts(sleeps):
    transport = ScriptedTransport(
        UpstreamConnectionFailed(request_sent=False), raw(201, {"number": 1, "html_url": "u"})
    )
    assert run(transport, sleeps, action="create_issue", input=ISSUE).status == 201


def test_429_waits_exactly_retry_after(sleeps):
    transport = ScriptedTransport(
        raw(429, {"message": "slow"}, {"Retry-After": "3"}), raw(200, {"id": 1, "full_name": "x"})
    )
    assert run(transport, sleeps).status == 200
    assert sleeps == [3.0]


def test_a_retry_after_beyond_the_time_budget_fails_at_once_and_stays_retryable(sleeps):
    transport = ScriptedTransport(raw(429, {"message": "slow"}, {"Retry-After": "120"}))
    with pytest.raises(UpstreamRateLimited) as caught:
        run(transport, sleeps, timeout=10)
    assert sleeps == [] and len(transport.sent) == 1
    assert caught.value.retryable is True and caught.value.retry_after == 120 and caught.value.status == 429


def test_a_read_timeout_of_a_get_is_retried_but_the_budget_is_respected(sleeps):
    transport = ScriptedTransport(UpstreamTimeout(phase="read"))
    with pytest.raises(UpstreamTimeout) as caught:
        run(transport, sleeps)
    assert caught.value.retryable is True and len(transport.sent) == 3
    assert all(t.read <= GITHUB.action("get_repository").timeout_seconds for t in transport.timeouts)


def test_a_small_timeout_caps_each_attempt(sleeps):
    transport = ScriptedTransport(raw(200, {"id": 1, "full_name": "x"}))
    run(transport, sleeps, timeout=0.5)
    assert transport.timeouts[0].read <= 0.5 and transport.timeouts[0].connect <= 0.5


def test_401_calls_on_unauthorized_once_and_retries_with_fresh_credentials(sleeps):
    transport = ScriptedTransport(
        raw(401, {"message": "Bad credentials"}), raw(200, {"id": 1, "full_name": "x"})
    )
    calls = []

    def refresh():
        calls.append(1)
        return {"token": "ghp_freshTokenValue9876543210zyxw"}

    result = run(transport, sleeps, on_unauthorized=refresh)
    assert result.status == 200 and calls == [1] and sleeps == []
    assert transport.sent[1].headers["Authorization"] == "Bearer ghp_freshTokenValue9876543210zyxw"
    assert result.trace.attempts[-1].after_reauthorization is True
    assert "ghp_freshTokenValue9876543210zyxw" not in json.dumps(result.to_dict())


def test_a_second_401_is_final_and_not_retried(sleeps):
    transport = ScriptedTransport(raw(401, {"message": "Bad credentials"}))
    calls = []
    with pytest.raises(UpstreamUnauthorized) as caught:
        run(transport, sleeps, on_unauthorized=lambda: calls.append(1) or {"token": "ghp_another_token_1234"})
    assert calls == [1] and len(transport.sent) == 2
    assert caught.value.retryable is False and caught.value.code == "upstream_unauthorized"


def test_without_on_unauthorized_a_401_fails_at_once(sleeps):
    transport = ScriptedTransport(raw(401, {"message": "Bad credentials"}))
    with pytest.raises(UpstreamUnauthorized):
        run(transport, sleeps)
    assert len(transport.sent) == 1


def test_slack_ok_false_at_http_200_is_a_failure_with_the_vendor_code(sleeps):
    slack = get_builtin("slack")
    invoker = ActionInvoker(
        ScriptedTransport(raw(200, {"ok": False, "error": "channel_not_found"})), sleep=sleeps
    )
    with pytest.raises(UpstreamActionFailed) as caught:
        invoker.invoke(
            slack,
            "post_message",
            input={"body": {"channel": "C1", "text": "hi"}},
            settings={},
            credentials={"token": "xoxb-unit-test-token"},
        )
    assert caught.value.vendor_code == "channel_not_found" and caught.value.retryable is False


def test_slack_token_expired_at_http_200_triggers_reauthorization(sleeps):
    slack = get_builtin("slack")
    transport = ScriptedTransport(
        raw(200, {"ok": False, "error": "token_expired"}),
        raw(200, {"ok": True, "team_id": "T", "user_id": "U"}),
    )
    result = ActionInvoker(transport, sleep=sleeps).test_connection(
        slack,
        settings={},
        credentials={"token": "xoxe-old-token-0001"},
        on_unauthorized=lambda: {"token": "xoxe-new-token-0002"},
    )
    assert result.output["ok"] is True and len(transport.sent) == 2


def test_secrets_never_reach_error_messages_or_logs(sleeps, caplog):
    caplog.set_level(logging.DEBUG)
    echo = raw(400, {"message": f"token {TOKEN} is not allowed here"})
    with pytest.raises(UpstreamRejected) as caught:
        run(ScriptedTransport(echo), sleeps)
    assert TOKEN not in caught.value.message and TOKEN not in str(caught.value)
    assert TOKEN not in json.dumps(caught.value.trace.to_dict())
    assert any(r.name == "chalicelib.connectors.invoker" for r in caplog.records)
    for record in caplog.records:
        assert TOKEN not in record.getMessage()
        assert TOKEN not in json.dumps(record.__dict__, default=str)
