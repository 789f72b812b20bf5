"""/health answers within its own deadline when a dependency hangs, naming it and why."""

from __future__ import annotations

import threading
import time

from chalicelib import bootstrap
from chalicelib.services import health


class _Hanging:
    def __init__(self) -> None:
        self.release = threading.Event()

    def connect(self):
        self.release.wait(30)
        raise RuntimeError("released")

    def ping(self) -> None:
        return None


def test_a_hanging_database_is_reported_within_the_deadline(monkeypatch):
    monkeypatch.setattr(health, "CHECK_SECONDS", 0.3)
    hanging = _Hanging()
    container = bootstrap.build(database=hanging, step_queue=hanging)
    started = time.monotonic()
    try:
        healthy, report = health.check(container)
    finally:
        hanging.release.set()
    assert time.monotonic() - started < 2.0
    assert not healthy and report["failing"] == ["database"]
    assert report["checks"]["database"]["error"] == "timeout" and report["checks"]["queue"]["status"] == "ok"


def test_a_refused_database_says_database_unavailable():
    from sqlalchemy import exc as sa_exc

    class Refusing:
        def connect(self):
            raise sa_exc.TimeoutError("QueuePool limit reached")

        def ping(self) -> None:
            return None

    healthy, report = health.check(bootstrap.build(database=Refusing(), step_queue=Refusing()))
    assert not healthy and report["checks"]["database"] == {"status": "error", "error": "database_unavailable"}
