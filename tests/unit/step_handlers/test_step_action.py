from __future__ import annotations

import pytest

from chalicelib.engine.errors import NonRetryableStepError, StepFailed
from chalicelib.engine.node_config import prepare_config
from chalicelib.errors import ConfigurationError
from step_handlers import action


class RecordingInvoker:
    """Stands in for the connector invoker: records calls, answers or raises."""

    def __init__(self, answer=None, error=None):
        self.calls = []
        self.answer = {"id": "ch_1"} if answer is None else answer
        self.error = error

    def __call__(self, template, input, credentials, idempotency_key):
        self.calls.append((template, input, credentials, idempotency_key))
        if self.error:
            raise self.error
        return self.answer


def run(make_ctx, invoker, credentials, config=None, **ctx_fields):
    payload = {"amount": 500, "currency": "eur"}
    config = prepare_config(action, config or {"input": {"amount": "{{ amount }}"}}, payload)
    ctx = make_ctx(template="stripe@1/create_charge", invoke_action=invoker, attempt=2, **ctx_fields)
    return action.handle({"payload": payload}, config, ctx, credentials)


def test_calls_the_invoker_with_rendered_input_credentials_and_idempotency_key(make_ctx):
    invoker = RecordingInvoker()
    out = run(make_ctx, invoker, {"api_key": "sk_test_0123456789"})
    assert out == {"id": "ch_1"}
    assert invoker.calls == [
        ("stripe@1/create_charge", {"amount": 500}, {"api_key": "sk_test_0123456789"}, "run-1:node-1:2")
    ]


def test_missing_credentials_fail_at_once_without_calling_out(make_ctx):
    invoker = RecordingInvoker()
    with pytest.raises(NonRetryableStepError) as err:
        run(make_ctx, invoker, None)
    assert err.value.code == "credentials_missing"
    assert invoker.calls == []


def test_an_action_that_needs_no_connection_runs_without_one(make_ctx):
    invoker = RecordingInvoker()
    run(make_ctx, invoker, None, credentials_required=False)
    assert invoker.calls[0][2] is None


def test_invoker_errors_keep_their_retryability(make_ctx):
    with pytest.raises(StepFailed) as err:
        run(make_ctx, RecordingInvoker(error=StepFailed("remote 503")), {"k": "v"})
    assert err.value.retryable is True


def test_a_non_object_answer_is_wrapped(make_ctx):
    assert run(make_ctx, RecordingInvoker(answer=[1, 2]), {"k": "v"}) == {"result": [1, 2]}


def test_without_an_injected_invoker_the_platform_is_misconfigured(make_ctx):
    with pytest.raises(ConfigurationError):
        run(make_ctx, None, {"k": "v"})
