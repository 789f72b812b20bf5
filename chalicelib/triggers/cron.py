"""Cron schedules: validation, next fire time, and which slots a tick fires.

Expressions are the classic five fields (minute hour day-of-month month
day-of-week, names and ``L``/``#`` allowed, plus ``@hourly``-style aliases),
parsed by croniter and evaluated on the wall clock of an IANA timezone. When
both day-of-month and day-of-week are restricted, either one matching fires
(classic cron semantics). Seconds and year fields are refused because the
scheduled tick runs once a minute; croniter's hashed/random ``H``/``R`` are
refused because a slot must be a pure function of the expression.

A **slot** is the UTC instant a firing belongs to (second and microsecond
zero). It identifies the firing: the database makes ``(trigger_id, slot)``
unique, so two overlapping ticks that both compute a slot start one run.

Daylight-saving time (checked against Europe/Berlin in the tests):

- Spring forward (02:00 → 03:00): a wall time inside the gap does not exist.
  An expression with a fixed hour there (``30 2 * * *``) fires **once**, at
  the first instant after the gap (03:00 local), as Vixie cron does — this is
  croniter's behaviour. Several times inside the gap (``*/20 2 * * *``)
  collapse into that one firing. An expression whose hour field is ``*``
  (``30 * * * *``) simply has no firing in the hour that did not happen.
- Fall back (03:00 → 02:00): wall times between 02:00 and 03:00 happen twice.
  An expression with a fixed hour fires **once**, at the first occurrence
  (still on summer time); croniter would return both, so the second is
  dropped here. An expression whose hour field is ``*`` fires in both
  occurrences, because it describes an interval of real time (every hour,
  every five minutes) that keeps running through the repeated hour.

Missed slots (the tick did not run, or the trigger was paused and resumed):

- ``fire_once``: fire exactly one slot, the latest one in ``(last_slot, now]``.
- ``skip``: fire only a slot inside the current tick window
  ``(now - grace, now]`` (and after ``last_slot``); older missed slots are
  dropped. ``grace`` defaults to 60 s, one tick interval: a tick that runs
  less than ``grace`` after a slot still fires it, and consecutive ticks' windows
  overlap at most by their jitter, which the slot's uniqueness absorbs.

``last_slot`` is the latest slot already fired. ``None`` means the schedule
never fired (just created or activated): both policies then fire only inside
the current window, so activating a trigger never fires a slot from before it
existed. (To make a resumed trigger ignore its paused period under
``fire_once``, pass the resume time as ``last_slot``.)
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, CroniterError, croniter

from chalicelib.triggers.errors import InvalidSchedule

DEFAULT_GRACE = timedelta(seconds=60)
_MAX_STEPS = 1000  # bound on slot iteration; real walks take a handful of steps
_HASHED = re.compile(r"(?<![A-Za-z])[HR](?![A-Za-z])")
# Names ZoneInfo resolves from the host that mean "whatever this machine says".
_HOST_ZONES = frozenset({"localtime", "posixrules", "Factory"})
_REFERENCE = datetime(2000, 1, 1, tzinfo=UTC)


class MissedSlotPolicy(StrEnum):
    """What a tick does about slots that passed without firing."""

    FIRE_ONCE = "fire_once"
    SKIP = "skip"


@dataclass(frozen=True)
class CronSchedule:
    """A validated cron expression in an IANA timezone."""

    expression: str
    timezone: str

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


_FIVE_FIELDS = "use five fields: minute hour day-of-month month day-of-week"


def _invalid(pointer: str, issues: dict[str, str]) -> InvalidSchedule:
    details = [{"path": f"{pointer}/{field}", "issue": issue} for field, issue in issues.items()]
    return InvalidSchedule("Invalid schedule.", details=details)


def _expression_issue(expression: object) -> str | None:
    if not isinstance(expression, str) or not expression.strip():
        return "required"
    text = " ".join(expression.split())
    if len(text) > 200:
        return "too long"
    if not text.startswith("@") and len(text.split(" ")) != 5:
        return _FIVE_FIELDS
    if _HASHED.search(text):
        return "hashed (H) and random (R) fields are not supported"
    try:
        expanded, _ = croniter.expand(text)
    except CroniterError as exc:
        return f"not a valid cron expression: {exc}"
    return None if len(expanded) == 5 else _FIVE_FIELDS


def _timezone_issue(name: object) -> str | None:
    if not isinstance(name, str) or not name:
        return "required"
    if name in _HOST_ZONES:
        return "use an IANA name such as 'Europe/Berlin' or 'UTC'"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return "unknown IANA timezone"
    return None


def _check(expression: object, tz: object, pointer: str) -> tuple[str, str]:
    """Every problem at once, so a form can show them all."""
    issues = {"cron": _expression_issue(expression), "timezone": _timezone_issue(tz)}
    found = {field: issue for field, issue in issues.items() if issue}
    if found:
        raise _invalid(pointer, found)
    return " ".join(str(expression).split()), str(tz)


@functools.lru_cache(maxsize=1024)
def _parsed(expression: str, tz: str) -> tuple[CronSchedule, bool]:
    """(schedule, hour field is a wildcard); raises on invalid input (not cached)."""
    text, name = _check(expression, tz, "")
    schedule = CronSchedule(text, name)
    hourly = croniter.expand(text)[0][1] == ["*"]
    try:
        croniter(text, _REFERENCE.astimezone(schedule.zone)).get_next(datetime)
    except CroniterBadDateError:
        raise _invalid("", {"cron": "never fires (no such date)"}) from None
    return schedule, hourly


def parse_schedule(expression: str, tz: str, *, pointer: str = "") -> CronSchedule:
    """Validate and normalise a schedule, or raise ``InvalidSchedule``.

    ``details`` name ``/cron`` and/or ``/timezone``, prefixed by ``pointer``
    (``pointer="/config"`` gives ``/config/cron``).
    """
    try:
        return _parsed(expression, tz)[0]
    except InvalidSchedule as exc:
        if pointer:
            exc.details = [{**d, "path": pointer + d["path"]} for d in exc.details]
        raise
    except TypeError:  # unhashable input never reaches the cache
        _check(expression, tz, pointer)
        raise


def _require_aware(moment: datetime, name: str) -> datetime:
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")
    return moment.astimezone(UTC)


def _is_repeat(local: datetime, instant: datetime) -> bool:
    """True when ``instant`` is the second occurrence of its local wall time."""
    return local.replace(fold=0).astimezone(UTC) != instant


def _slots_after(expression: str, tz: str, after: datetime) -> Iterator[datetime]:
    """Canonical slots strictly after ``after``, increasing, at most ``_MAX_STEPS``."""
    schedule, hourly = _parsed(expression, tz)
    zone = schedule.zone
    it = croniter(schedule.expression, after.astimezone(zone))
    previous = after
    for _ in range(_MAX_STEPS):
        try:
            local = it.get_next(datetime)
        except CroniterBadDateError:
            return
        instant = local.astimezone(UTC).replace(second=0, microsecond=0)
        if instant <= previous:
            continue
        if not hourly and _is_repeat(local, instant):
            continue
        previous = instant
        yield instant


def next_fire_at(expression: str, tz: str, after: datetime) -> datetime:
    """The first slot strictly after ``after``, in UTC."""
    for slot in _slots_after(expression, tz, _require_aware(after, "after")):
        return slot
    raise _invalid("", {"cron": "never fires (no such date)"})


def upcoming_slots(expression: str, tz: str, after: datetime, count: int = 5) -> list[datetime]:
    """The next ``count`` slots after ``after`` (for previews in the UI)."""
    if not 1 <= count <= 100:
        raise ValueError("count must be within 1..100")
    out: list[datetime] = []
    for slot in _slots_after(expression, tz, _require_aware(after, "after")):
        out.append(slot)
        if len(out) == count:
            break
    return out


def _slots_between(expression: str, tz: str, start: datetime, end: datetime) -> list[datetime]:
    out = []
    for slot in _slots_after(expression, tz, start):
        if slot > end:
            break
        out.append(slot)
    return out


def _latest_at_or_before(expression: str, tz: str, floor: datetime, now: datetime) -> datetime | None:
    """The latest slot in ``(floor, now]``.

    croniter's backward search only gives a starting point two slots back;
    the answer comes from the same forward walk every other path uses, so
    DST rules apply identically and the walk is a few steps, not one per
    missed slot since ``floor``.
    """
    schedule, _ = _parsed(expression, tz)
    start = floor
    try:
        back = croniter(schedule.expression, now.astimezone(schedule.zone))
        back.get_prev(datetime)
        anchor = back.get_prev(datetime).astimezone(UTC) - timedelta(seconds=1)
        start = max(floor, anchor)
    except CroniterBadDateError:
        pass
    found = _slots_between(expression, tz, start, now)
    if not found and start > floor:
        # Only if croniter's backward search overshot: walk from ``floor`` (bounded).
        found = _slots_between(expression, tz, floor, now)
    return found[-1] if found else None


def due_slots(
    expression: str,
    tz: str,
    last_slot: datetime | None,
    now: datetime,
    policy: MissedSlotPolicy | str = MissedSlotPolicy.FIRE_ONCE,
    *,
    grace: timedelta = DEFAULT_GRACE,
) -> tuple[datetime, ...]:
    """The slots this tick fires (zero or one), as UTC datetimes.

    See the module docstring for the policies and the tick window.
    """
    policy = MissedSlotPolicy(policy)
    now = _require_aware(now, "now")
    if not timedelta(0) < grace <= timedelta(hours=1):
        raise ValueError("grace must be within (0, 1 hour]")
    window_start = now - grace
    floor = window_start if last_slot is None else _require_aware(last_slot, "last_slot")
    if policy is MissedSlotPolicy.SKIP or last_slot is None:
        found = _slots_between(expression, tz, max(floor, window_start), now)
        return (found[-1],) if found else ()
    latest = _latest_at_or_before(expression, tz, floor, now)
    return (latest,) if latest is not None else ()
