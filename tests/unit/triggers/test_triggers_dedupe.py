"""Dedupe keys: from a correlation expression or the delivery id, fixed length."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.triggers.dedupe import (
    DEDUPE_KEY_LENGTH,
    DedupeSource,
    derive_dedupe_key,
    validate_correlation_expression,
)
from chalicelib.triggers.errors import InvalidCorrelationExpression

HEX_KEY = re.compile(r"[0-9a-f]{64}")
ORDER = {"id": "evt_42", "data": {"object": {"id": "ch_1", "n": "abc"}}, "tags": ["a", "b"]}


def key(**kw):
    kw.setdefault("delivery_id", None)
    kw.setdefault("correlation_expression", None)
    kw.setdefault("body", ORDER)
    kw.setdefault("headers", {})
    return derive_dedupe_key(**kw)


def test_delivery_id_gives_a_fixed_length_stable_key() -> None:
    first, again = key(delivery_id="dlv-1"), key(delivery_id="dlv-1")
    assert first == again and first.source is DedupeSource.DELIVERY_ID
    assert HEX_KEY.fullmatch(first.value) and len(first.value) == DEDUPE_KEY_LENGTH
    assert key(delivery_id="dlv-2").value != first.value


def test_expression_wins_so_a_retry_with_a_new_delivery_id_is_still_a_duplicate() -> None:
    # GIVEN a sender that mints a new delivery id per retry of the same event
    first = key(delivery_id="attempt-1", correlation_expression="body.id")
    retry = key(delivery_id="attempt-2", correlation_expression="body.id")
    # THEN the configured expression identifies them as one event
    assert first == retry and first.source is DedupeSource.EXPRESSION


def test_braced_and_bare_expressions_are_the_same() -> None:
    assert key(correlation_expression="{{ body.data.object.id }}") == key(correlation_expression="body.data.object.id")
    assert validate_correlation_expression("{{ body.id }}") == "body.id"


def test_headers_are_reachable_case_insensitively() -> None:
    by_upper = key(correlation_expression="headers.x-request-id", headers={"X-Request-Id": "r-9"})
    by_lower = key(correlation_expression="headers.x-request-id", headers={"x-request-id": "r-9"})
    assert by_upper == by_lower and by_upper.source is DedupeSource.EXPRESSION


def test_unresolved_expression_falls_back_to_the_delivery_id_then_to_none() -> None:
    fallback = key(delivery_id="dlv-1", correlation_expression="body.missing")
    assert fallback == key(delivery_id="dlv-1")
    assert key(correlation_expression="body.missing") is None
    assert key(correlation_expression="body.id", body="not an object") is None
    assert key() is None


def test_filter_failing_on_the_senders_data_falls_back_instead_of_raising() -> None:
    assert key(delivery_id="d", correlation_expression="body.data.object.n | int") == key(delivery_id="d")


def test_structured_values_hash_canonically() -> None:
    a = key(correlation_expression="body.x", body={"x": {"b": 1, "a": [1, 2]}})
    b = key(correlation_expression="body.x", body={"x": {"a": [1, 2], "b": 1}})
    assert a == b
    assert key(correlation_expression="body.x", body={"x": 7}) != key(correlation_expression="body.x", body={"x": "8"})
    assert key(correlation_expression="body.x", body={"x": True}) is not None


def test_same_text_from_different_sources_does_not_collide() -> None:
    from_expression = key(correlation_expression="body.id", body={"id": "same"})
    from_delivery = key(delivery_id="same")
    assert from_expression.value != from_delivery.value


@pytest.mark.parametrize("bad", ["", "   ", "{{ }}", "body..id", "body.id | nosuchfilter", "{{ body[ }}"])
def test_malformed_expressions_are_refused(bad: str) -> None:
    with pytest.raises(InvalidCorrelationExpression) as caught:
        validate_correlation_expression(bad)
    assert caught.value.status == 422 and caught.value.details[0]["path"] == "/correlation_key"


def test_malformed_expression_at_delivery_time_raises() -> None:
    with pytest.raises(InvalidCorrelationExpression):
        key(delivery_id="d", correlation_expression="body..id")


@given(st.text(min_size=1, max_size=5000))
def test_any_delivery_id_hashes_to_the_fixed_length(delivery_id: str) -> None:
    derived = key(delivery_id=delivery_id)
    assert derived is not None and HEX_KEY.fullmatch(derived.value)
