"""Cron schedules with a controlled clock: slots, overlapping ticks, DST, missed slots."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.triggers.cron import (
    MissedSlotPolicy,
    due_slots,
    next_fire_at,
    parse_schedule,
    upcoming_slots,
)
from chalicelib.triggers.errors import InvalidSchedule

BERLIN = "Europe/Berlin"
SPRING_DAY = datetime(2025, 3, 30, tzinfo=ZoneInfo(BERLIN))  # 02:00 CET → 03:00 CEST
AUTUMN_DAY = datetime(2025, 10, 26, tzinfo=ZoneInfo(BERLIN))  # 03:00 CEST → 02:00 CET


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def run_ticks(expr: str, tz: str, start: datetime, end: datetime, *, policy="fire_once", offset_s=3):
    """Tick once a minute (a few seconds past it, as EventBridge does) from start to end.

    Fired slots go into a set, as the database's unique (trigger, slot) would.
    ``last_slot`` starts at ``start`` as if the trigger was activated then.
    """
    fired: list[datetime] = []
    last = start
    now = start.replace(second=offset_s)
    for _ in range(int((end - start).total_seconds() // 60) + 2):  # bounded
        if now > end:
            break
        for slot in due_slots(expr, tz, last, now, policy):
            assert slot not in fired, f"slot {slot} fired twice"
            fired.append(slot)
            last = slot
        now += timedelta(minutes=1)
    return fired


def local_day(slots: list[datetime], day: datetime) -> list[datetime]:
    zone = day.tzinfo
    return [s for s in slots if s.astimezone(zone).date() == day.date()]


# --- validation ---------------------------------------------------------------


@pytest.mark.parametrize(
    "expr",
    ["0 9 * * 1-5", "*/15 * * * *", "@daily", "@hourly", "0 0 L * *", "0 0 * * MON#2", "  0   9 * * *  "],
)
def test_valid_expressions_are_normalised(expr: str) -> None:
    schedule = parse_schedule(expr, BERLIN)
    assert schedule.expression == " ".join(expr.split()) and schedule.timezone == BERLIN


@pytest.mark.parametrize(
    ("expr", "tz", "paths"),
    [
        ("", BERLIN, ["/cron"]),
        ("* * * *", BERLIN, ["/cron"]),
        ("* * * * * *", BERLIN, ["/cron"]),  # seconds field: the tick runs per minute
        ("0 0 * * * 2030", BERLIN, ["/cron"]),
        ("61 * * * *", BERLIN, ["/cron"]),
        ("a b c d e", BERLIN, ["/cron"]),
        ("H 2 * * *", BERLIN, ["/cron"]),
        ("R 2 * * *", BERLIN, ["/cron"]),
        ("0 0 31 2 *", BERLIN, ["/cron"]),  # never fires
        ("0 9 * * *", "Mars/Olympus", ["/timezone"]),
        ("0 9 * * *", "../../etc/passwd", ["/timezone"]),
        ("0 9 * * *", "localtime", ["/timezone"]),
        ("0 9 * * *", "", ["/timezone"]),
        ("nope", "Nowhere/City", ["/cron", "/timezone"]),
    ],
)
def test_invalid_schedules_name_every_bad_field(expr: str, tz: str, paths: list[str]) -> None:
    with pytest.raises(InvalidSchedule) as caught:
        parse_schedule(expr, tz)
    assert caught.value.status == 422 and caught.value.code == "invalid_schedule"
    assert [d["path"] for d in caught.value.details] == paths
    assert all(d["issue"] for d in caught.value.details)


def test_error_pointer_prefix_for_nested_config() -> None:
    with pytest.raises(InvalidSchedule) as caught:
        parse_schedule("bad", BERLIN, pointer="/config")
    assert caught.value.details[0]["path"] == "/config/cron"
    with pytest.raises(InvalidSchedule):
        parse_schedule(["not", "a", "string"], BERLIN)  # type: ignore[arg-type]


# --- next fire time -------------------------------------------------------------


def test_next_fire_at_uses_the_local_wall_clock_and_returns_utc() -> None:
    assert next_fire_at("0 9 * * *", BERLIN, utc(2025, 1, 15)) == utc(2025, 1, 15, 8)  # CET
    assert next_fire_at("0 9 * * *", BERLIN, utc(2025, 7, 15)) == utc(2025, 7, 15, 7)  # CEST
    assert next_fire_at("0 9 * * *", "UTC", utc(2025, 7, 15)) == utc(2025, 7, 15, 9)


def test_next_fire_at_is_strictly_after() -> None:
    assert next_fire_at("0 * * * *", "UTC", utc(2025, 1, 1, 10)) == utc(2025, 1, 1, 11)
    assert next_fire_at("0 * * * *", "UTC", utc(2025, 1, 1, 9, 59, 59)) == utc(2025, 1, 1, 10)


def test_slots_are_whole_minutes_in_utc() -> None:
    for slot in upcoming_slots("*/7 * * * *", "Asia/Kolkata", utc(2025, 5, 5, 5, 5, 5, 5), count=20):
        assert slot.tzinfo == UTC and slot.second == 0 and slot.microsecond == 0
    with pytest.raises(ValueError):
        upcoming_slots("* * * * *", "UTC", utc(2025, 1, 1), count=0)
    with pytest.raises(ValueError):
        next_fire_at("* * * * *", "UTC", datetime(2025, 1, 1))


# --- ticks and slots ---------------------------------------------------------------


def test_overlapping_ticks_compute_the_same_slot() -> None:
    # GIVEN two ticks that both ran before either recorded the 10:00 firing
    last = utc(2025, 6, 1, 9)
    first = due_slots("0 * * * *", "UTC", last, utc(2025, 6, 1, 10, 0, 5))
    second = due_slots("0 * * * *", "UTC", last, utc(2025, 6, 1, 10, 0, 40))
    # THEN both name the same slot, so a unique (trigger, slot) starts one run
    assert first == second == (utc(2025, 6, 1, 10),)
    # AND once recorded, a later tick finds nothing new
    assert due_slots("0 * * * *", "UTC", first[0], utc(2025, 6, 1, 10, 0, 50)) == ()


def test_every_minute_ticks_fire_each_slot_exactly_once() -> None:
    fired = run_ticks("*/5 * * * *", "UTC", utc(2025, 6, 1, 9, 58), utc(2025, 6, 1, 11, 2))
    assert fired == [utc(2025, 6, 1, 10, m) for m in range(0, 60, 5)] + [utc(2025, 6, 1, 11)]


def test_a_slot_exactly_at_now_is_due() -> None:
    assert due_slots("0 * * * *", "UTC", utc(2025, 6, 1, 9), utc(2025, 6, 1, 10)) == (utc(2025, 6, 1, 10),)


# --- missed slots ---------------------------------------------------------------------


def test_fire_once_fires_only_the_latest_missed_slot() -> None:
    # GIVEN an hourly trigger last fired at 06:00 and no tick until 10:20
    last, now = utc(2025, 6, 1, 6), utc(2025, 6, 1, 10, 20)
    # THEN fire_once fires 10:00 alone (not 07, 08, 09), skip fires nothing
    assert due_slots("0 * * * *", "UTC", last, now, MissedSlotPolicy.FIRE_ONCE) == (utc(2025, 6, 1, 10),)
    assert due_slots("0 * * * *", "UTC", last, now, "skip") == ()


def test_fire_once_recovers_after_a_long_outage_quickly() -> None:
    last, now = utc(2024, 6, 1), utc(2025, 6, 1, 10, 20, 30)
    assert due_slots("* * * * *", "UTC", last, now) == (utc(2025, 6, 1, 10, 20),)
    assert due_slots("0 0 1 1 *", BERLIN, utc(2020, 1, 1), now) == (utc(2024, 12, 31, 23),)


def test_skip_window_is_now_minus_grace_exclusive_to_now_inclusive() -> None:
    last = utc(2025, 6, 1, 9)
    slot = utc(2025, 6, 1, 10)
    assert due_slots("0 * * * *", "UTC", last, slot + timedelta(seconds=59), "skip") == (slot,)
    assert due_slots("0 * * * *", "UTC", last, slot + timedelta(seconds=60), "skip") == ()
    assert due_slots("0 * * * *", "UTC", last, slot - timedelta(seconds=1), "skip") == ()
    wider = due_slots("0 * * * *", "UTC", last, slot + timedelta(seconds=100), "skip", grace=timedelta(minutes=2))
    assert wider == (slot,)


def test_never_fired_trigger_only_fires_inside_the_current_window() -> None:
    # A trigger activated at 10:20 must not fire the 10:00 slot from before it existed.
    for policy in MissedSlotPolicy:
        assert due_slots("0 * * * *", "UTC", None, utc(2025, 6, 1, 10, 20), policy) == ()
        assert due_slots("0 * * * *", "UTC", None, utc(2025, 6, 1, 10, 0, 30), policy) == (utc(2025, 6, 1, 10),)


def test_skip_after_an_outage_resumes_with_the_next_slot() -> None:
    # Ticks stop at 10:03 and resume at 13:30: skip fires nothing for 11:00-13:00, then 14:00.
    before = run_ticks("0 * * * *", "UTC", utc(2025, 6, 1, 9, 55), utc(2025, 6, 1, 10, 3), policy="skip")
    after = run_ticks("0 * * * *", "UTC", utc(2025, 6, 1, 13, 30), utc(2025, 6, 1, 14, 5), policy="skip")
    assert before == [utc(2025, 6, 1, 10)] and after == [utc(2025, 6, 1, 14)]


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        due_slots("* * * * *", "UTC", None, datetime(2025, 1, 1))
    with pytest.raises(ValueError):
        due_slots("* * * * *", "UTC", None, utc(2025, 1, 1), grace=timedelta(0))
    with pytest.raises(ValueError):
        due_slots("* * * * *", "UTC", None, utc(2025, 1, 1), "sometimes")
    with pytest.raises(InvalidSchedule):
        due_slots("bad", "UTC", None, utc(2025, 1, 1))


# --- DST in a real timezone -------------------------------------------------------------


def test_spring_forward_daily_job_in_the_gap_fires_once_after_the_gap() -> None:
    # GIVEN a daily 02:30 Berlin job; on 2025-03-30 02:30 does not exist
    start = SPRING_DAY.astimezone(UTC) - timedelta(hours=2)
    fired = run_ticks("30 2 * * *", BERLIN, start, start + timedelta(hours=8))
    # THEN the minute ticks fire it once, at 03:00 CEST (01:00 UTC)
    assert local_day(fired, SPRING_DAY) == fired == [utc(2025, 3, 30, 1)]
    # AND the days around it are ordinary 02:30s
    around = upcoming_slots("30 2 * * *", BERLIN, start - timedelta(days=1), count=3)
    assert around == [utc(2025, 3, 29, 1, 30), utc(2025, 3, 30, 1), utc(2025, 3, 31, 0, 30)]


def test_spring_forward_several_times_in_the_gap_collapse_to_one() -> None:
    start = SPRING_DAY.astimezone(UTC)
    fired = run_ticks("*/20 2 * * *", BERLIN, start, start + timedelta(hours=6))
    assert fired == [utc(2025, 3, 30, 1)]


def test_spring_forward_hourly_job_skips_the_hour_that_did_not_happen() -> None:
    start = SPRING_DAY.astimezone(UTC)
    fired = run_ticks("30 * * * *", BERLIN, start, start + timedelta(hours=23))
    local_hours = [s.astimezone(ZoneInfo(BERLIN)).hour for s in fired]
    assert len(fired) == 23 and 2 not in local_hours and local_hours[:3] == [0, 1, 3]


def test_fall_back_daily_job_fires_once_in_the_repeated_hour() -> None:
    # GIVEN a daily 02:30 Berlin job; on 2025-10-26 02:30 happens twice
    start = AUTUMN_DAY.astimezone(UTC) - timedelta(hours=2)
    fired = run_ticks("30 2 * * *", BERLIN, start, start + timedelta(hours=8))
    # THEN the minute ticks fire it at the first 02:30 (CEST, 00:30 UTC) only
    assert local_day(fired, AUTUMN_DAY) == fired == [utc(2025, 10, 26, 0, 30)]
    around = upcoming_slots("30 2 * * *", BERLIN, start - timedelta(days=1), count=3)
    assert around == [utc(2025, 10, 25, 0, 30), utc(2025, 10, 26, 0, 30), utc(2025, 10, 27, 1, 30)]


def test_fall_back_fixed_hour_interval_job_does_not_repeat() -> None:
    start = AUTUMN_DAY.astimezone(UTC)
    fired = run_ticks("*/20 2 * * *", BERLIN, start, start + timedelta(hours=6))
    assert fired == [utc(2025, 10, 26, 0, 0), utc(2025, 10, 26, 0, 20), utc(2025, 10, 26, 0, 40)]


def test_fall_back_hourly_job_fires_in_both_occurrences() -> None:
    start = AUTUMN_DAY.astimezone(UTC)
    fired = run_ticks("30 * * * *", BERLIN, start, start + timedelta(hours=25))
    assert len(fired) == 25
    assert utc(2025, 10, 26, 0, 30) in fired and utc(2025, 10, 26, 1, 30) in fired


def test_fire_once_recovery_across_fall_back_picks_the_first_occurrence() -> None:
    # Last fired the day before; next tick only after both 02:30s have passed.
    slots = due_slots("30 2 * * *", BERLIN, utc(2025, 10, 25, 0, 30), utc(2025, 10, 26, 2))
    assert slots == (utc(2025, 10, 26, 0, 30),)
    # And a tick during the second 02:30 does not fire it again.
    assert due_slots("30 2 * * *", BERLIN, utc(2025, 10, 26, 0, 30), utc(2025, 10, 26, 1, 30, 5)) == ()


EXPRESSIONS = ["30 2 * * *", "*/20 2 * * *", "0 * * * *", "*/15 * * * *", "0 9 * * 1-5", "0 3 * * *"]


@settings(max_examples=80, deadline=None)
@given(
    expr=st.sampled_from(EXPRESSIONS),
    tz=st.sampled_from([BERLIN, "America/New_York", "Australia/Lord_Howe", "UTC"]),
    day=st.sampled_from([SPRING_DAY, AUTUMN_DAY, datetime(2025, 11, 2, tzinfo=UTC), datetime(2025, 4, 6, tzinfo=UTC)]),
    minutes=st.integers(0, 48 * 60),
    seconds=st.integers(0, 59),
    outage_minutes=st.integers(1, 23 * 60),
)
def test_fire_once_matches_a_full_forward_walk(expr, tz, day, minutes, seconds, outage_minutes) -> None:
    # Property: the shortcut via croniter's backward search finds the same
    # slot as walking every slot forward from last_slot.
    now = day.astimezone(UTC) - timedelta(hours=24) + timedelta(minutes=minutes, seconds=seconds)
    last = now - timedelta(minutes=outage_minutes)
    walked = [s for s in upcoming_slots(expr, tz, last, count=100) if s <= now]
    assert len(walked) < 100  # the whole outage was walked (at most 96 slots a day here)
    expected = (walked[-1],) if walked else ()
    assert due_slots(expr, tz, last, now, "fire_once") == expected
