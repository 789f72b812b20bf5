from __future__ import annotations

import pytest

from chalicelib.engine.conditions import evaluate_clause, evaluate_rule, rule_issues
from chalicelib.engine.errors import ConfigInvalid, NonRetryableStepError


@pytest.mark.parametrize(
    ("left", "op", "right", "expected"),
    [
        (1, "eq", 1.0, True),
        (1, "eq", True, False),  # booleans are not numbers
        ("1", "eq", 1, False),  # no coercion
        (None, "eq", None, True),
        ({"a": [1]}, "eq", {"a": [1]}, True),
        (2, "ne", 3, True),
        (5, "gt", 3, True),
        (3, "gte", 3, True),
        (2, "lt", 3, True),
        (3, "lte", 2, False),
        ("2026-01-02", "gt", "2026-01-01", True),  # ISO dates order as strings
        ("10", "gt", 9, False),  # mixed types never order
        (True, "gt", 0, False),
        (None, "lt", 1, False),
        ("hello world", "contains", "world", True),
        (["a", "b"], "contains", "b", True),
        ([1, 2], "contains", True, False),
        ({"k": 1}, "contains", "k", True),
        (5, "contains", 5, False),
        ("b", "in", ["a", "b"], True),
        ("ell", "in", "hello", True),
        ("z", "in", {"z": 0}, True),
        ("z", "in", None, False),
        (0, "exists", None, True),
        (None, "exists", None, False),
        (None, "not_exists", None, True),
        ("", "not_exists", None, False),
        ("order-123", "matches", r"^order-\d+$", True),
        (123, "matches", r"\d", False),
    ],
)
def test_operators(left, op, right, expected):
    assert evaluate_clause(left, op, right) is expected


def test_groups():
    yes = {"left": 1, "op": "eq", "right": 1}
    no = {"left": 1, "op": "eq", "right": 2}
    assert evaluate_rule({"all": [yes, yes]}) is True
    assert evaluate_rule({"all": [yes, no]}) is False
    assert evaluate_rule({"any": [no, yes]}) is True
    assert evaluate_rule({"any": [no, no]}) is False
    assert evaluate_rule({"not": no}) is True
    assert evaluate_rule({"all": [{"any": [no, {"not": no}]}, yes]}) is True


def test_pathological_pattern_fails_the_step_instead_of_hanging():
    with pytest.raises(NonRetryableStepError):
        evaluate_clause("a" * 60 + "b", "matches", r"(a|aa)+$")


def test_invalid_pattern_is_a_config_error():
    with pytest.raises(ConfigInvalid):
        evaluate_clause("x", "matches", "(")
    with pytest.raises(ConfigInvalid):
        evaluate_clause("x", "matches", 5)


def test_rule_issues_point_at_the_bad_part():
    rule = {"any": [{"left": "x", "op": "eq", "right": 1}, {"not": {"left": "x", "op": "matches", "right": "["}}]}
    issues = rule_issues(rule, "/config")
    assert [i["path"] for i in issues] == ["/config/any/1/not/right"]
    # a pattern given as an expression is only known at run time
    assert rule_issues({"left": "x", "op": "matches", "right": "{{ pattern }}"}) == []


def test_nesting_depth_is_bounded():
    rule = {"left": 1, "op": "eq", "right": 1}
    for _ in range(12):
        rule = {"not": rule}
    assert rule_issues(rule)
    with pytest.raises(ConfigInvalid):
        evaluate_rule(rule)
