"""The placeholder cache returns exactly what pg8000 itself computes."""

import pytest

from chalicelib.db import pg8000_tuning

QUERIES = [
    "SELECT %s, '%s literal', \"col\" FROM t WHERE a = %s -- %s comment\n AND b = %s",
    "SELECT $$ %s $$, E'it''s %s', x::text FROM t WHERE y = %s",
    "INSERT INTO t (a, b) VALUES (%s, %s) ON CONFLICT DO NOTHING",
]


@pytest.mark.parametrize("query", QUERIES)
def test_cached_conversion_matches_pg8000(query):
    args = tuple(range(query.count("%s")))
    expected = pg8000_tuning._ORIGINAL("format", query, args)
    first = pg8000_tuning.convert_paramstyle("format", query, args)
    second = pg8000_tuning.convert_paramstyle("format", query, ("other",) * len(args))
    assert first == expected
    assert second == (expected[0], ("other",) * len(args))  # the SQL is cached, the values are not


def test_named_style_is_not_cached():
    result = pg8000_tuning.convert_paramstyle("named", "SELECT :a, :b", {"a": 1, "b": 2})
    assert result == ("SELECT $1, $2", (1, 2))
    assert ("named", "SELECT :a, :b") not in pg8000_tuning._cache
