"""Fires every ``schedule`` handler at its rate with EventBridge-shaped events.

``rate(N unit)`` and ``cron(...)`` expressions are honoured. ``speedup`` lets
tests run a one-minute rate every few hundred milliseconds.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalice.local import LambdaContext
from croniter import croniter

from chalicelib.observability import logger

_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


@dataclass(frozen=True)
class ScheduleSubscription:
    name: str
    expression: str
    handler: Callable[[dict[str, Any], Any], Any]


def interval_seconds(expression: str) -> float | None:
    m = _RATE.match(expression.strip())
    if not m:
        return None
    return int(m.group(1)) * _UNIT_SECONDS[m.group(2).rstrip("s")]


def aws_cron_to_croniter(expression: str) -> str:
    """``cron(0 12 * * ? *)`` (AWS: six fields, ``?``) → ``0 12 * * *``."""
    fields = expression.strip()[len("cron("):-1].split()
    minute, hour, dom, month, dow = fields[:5]
    return " ".join(f.replace("?", "*") for f in (minute, hour, dom, month, dow))


def scheduled_event(name: str, region: str, now: dt.datetime) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "000000000000",
        "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:events:{region}:000000000000:rule/stepline-{name}"],
        "detail": {},
    }


class Scheduler:
    """One thread per schedule; each fires, then waits for the next slot."""

    def __init__(self, subscriptions: list[ScheduleSubscription], *, region: str, speedup: float = 1.0) -> None:
        self.subs = subscriptions
        self.region = region
        self.speedup = speedup
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.fired: dict[str, int] = {s.name: 0 for s in subscriptions}

    def start(self) -> Scheduler:
        for sub in self.subs:
            thread = threading.Thread(target=self._loop, args=(sub,), name=f"schedule-{sub.name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _wait_seconds(self, sub: ScheduleSubscription) -> float:
        interval = interval_seconds(sub.expression)
        if interval is None:
            now = dt.datetime.now(dt.UTC)
            nxt = croniter(aws_cron_to_croniter(sub.expression), now).get_next(dt.datetime)
            interval = (nxt - now).total_seconds()
        return max(0.05, interval / self.speedup)

    def _loop(self, sub: ScheduleSubscription) -> None:
        while not self._stop.wait(self._wait_seconds(sub)):
            self.fire(sub)

    def fire(self, sub: ScheduleSubscription) -> Any:
        event = scheduled_event(sub.name, self.region, dt.datetime.now(dt.UTC))
        context = LambdaContext(function_name=sub.name, memory_size=512, max_runtime_ms=60_000)
        self.fired[sub.name] += 1
        try:
            return sub.handler(event, context)
        except Exception:
            logger.exception("scheduled handler raised", extra={"schedule": sub.name})
            return None
