from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.engine.context import Clock, StepContext, default_idempotency_key
from chalicelib.engine.errors import (
    ConfigInvalid,
    NonRetryableStepError,
    StepFailed,
    StepTimeout,
    UnknownStepType,
)
from chalicelib.errors import SteplineError, ValidationFailed
from chalicelib.masking import mask_value


class FixedClock(Clock):
    def __init__(self, epoch: float) -> None:
        self.epoch = epoch

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.epoch, UTC)


def ctx(**fields) -> StepContext:
    base = {"run_id": "r1", "node_id": "n1", "tenant_id": "t1", "workspace_id": "w1"}
    return StepContext(**{**base, **fields})


def test_idempotency_key_is_run_node_attempt():
    assert ctx(attempt=2).idempotency_key == "r1:n1:2"
    assert default_idempotency_key("r1", "n1", 1) == "r1:n1:1"


def test_fan_out_instances_never_share_an_idempotency_key():
    assert ctx(instance_key="3/1").idempotency_key == "r1:n1@3/1:1"
    assert ctx(instance_key="3").idempotency_key != ctx(instance_key="4").idempotency_key


def test_explicit_idempotency_key_wins():
    assert ctx(idempotency_key="given").idempotency_key == "given"


@pytest.mark.parametrize(("field", "value"), [("attempt", 0), ("mode", "staging")])
def test_invalid_identity_is_refused(field, value):
    with pytest.raises(ValueError):
        ctx(**{field: value})


def test_outcome_defaults_take_every_port_and_delay_nothing():
    outcome = ctx().outcome()
    assert outcome.chosen_ports is None
    assert outcome.successor_delay is None
    assert outcome.fan_out_items is None
    assert outcome.run_output is None


def test_outcome_controls_are_read_back():
    c = ctx()
    c.choose_ports("true")
    c.delay_successors(30)
    c.fan_out([1, 2])
    c.mark_run_output({"ok": True})
    outcome = c.outcome()
    assert outcome.chosen_ports == {"true"}
    assert outcome.successor_delay == 30.0
    assert outcome.fan_out_items == (1, 2)
    assert outcome.run_output == {"ok": True}


def test_choosing_no_port_skips_every_edge():
    c = ctx()
    c.choose_ports()
    assert c.outcome().chosen_ports == frozenset()


@pytest.mark.parametrize("seconds", [-1, float("nan"), float("inf"), True, "5"])
def test_delay_must_be_a_finite_non_negative_number(seconds):
    with pytest.raises(ValueError):
        ctx().delay_successors(seconds)


def test_log_masks_fields_named_like_secrets():
    c = ctx(clock=FixedClock(0))
    c.log("info", "called", api_key="sk_live_abcdefghijkl", token="short", status=200)
    line = c.logs[0]
    assert line["fields"] == {"api_key": "••••ijkl", "token": "••••", "status": 200}
    assert line["at"] == "1970-01-01T00:00:00+00:00"
    with pytest.raises(ValueError):
        c.log("loud", "x")


def test_log_masking_shows_at_most_four_characters():
    assert mask_value("0123456789abcdef") == "••••cdef"
    assert mask_value("abc") == "••••"


def test_deadline_uses_the_injected_clock():
    clock = FixedClock(1000.0)
    c = ctx(clock=clock, deadline=1010.0)
    assert c.remaining_seconds() == 10.0
    c.check_deadline()
    clock.epoch = 1010.0
    with pytest.raises(StepTimeout):
        c.check_deadline()
    assert ctx().remaining_seconds() is None


def test_error_codes_and_retryability_are_stable():
    assert (StepFailed.code, StepFailed.retryable) == ("step_failed", True)
    assert (NonRetryableStepError.code, NonRetryableStepError.retryable) == ("step_failed_permanently", False)
    assert (StepTimeout.code, StepTimeout.retryable) == ("step_timeout", True)
    assert (ConfigInvalid.code, ConfigInvalid.retryable, ConfigInvalid.status) == (
        "config_invalid",
        False,
        422,
    )
    assert UnknownStepType.code == "unknown_step_type"


def test_config_invalid_is_both_a_step_failure_and_a_validation_error():
    err = ConfigInvalid("bad", details=[{"path": "/config/x", "issue": "no"}])
    assert isinstance(err, StepFailed) and isinstance(err, ValidationFailed) and isinstance(err, SteplineError)
    assert err.to_body()["error"] == {"code": "config_invalid", "message": "bad",
                                      "details": [{"path": "/config/x", "issue": "no"}]}  # fmt: skip


def test_step_failed_carries_retry_after_and_info():
    err = StepFailed("x", retry_after=3.5, info={"status": 429}, code="http_rate_limited")
    assert (err.retry_after, err.info, err.code, err.retryable) == (
        3.5,
        {"status": 429},
        "http_rate_limited",
        True,
    )
