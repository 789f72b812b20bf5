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


PG_OUTPUTS = {
    1184: ["2026-11-28 00:36:08.123456+00", "2026-11-28 00:36:08.12+00", "2026-11-28 00:36:08+00",
           "2026-11-28 00:36:08.5-08", "0001-01-01 00:00:00+00", "infinity", "-infinity",
           "0044-03-15 12:00:00+00 BC", "10000-01-01 00:00:00+00"],
    1114: ["2026-11-28 00:36:08.123456", "2026-11-28 00:36:08", "infinity", "-infinity"],
    1082: ["2026-11-28", "0001-01-01", "infinity", "-infinity", "0044-03-15 BC", "10000-01-01"],
}


@pytest.mark.parametrize(("oid", "text"), [(oid, text) for oid, texts in PG_OUTPUTS.items() for text in texts])
def test_timestamps_read_as_pg8000_reads_them(oid, text):
    import pg8000.converters

    pg8000_tuning.install()
    fast, original = pg8000.converters.PG_TYPES[oid], pg8000.converters.PG_TYPES[oid].__wrapped__
    assert fast is not original
    expected = original(text)
    assert fast(text) == expected and type(fast(text)) is type(expected)
    if hasattr(expected, "tzinfo"):
        assert fast(text).utcoffset() == expected.utcoffset()
