"""How many processes serve the local API: configured, else one per core from three cores up."""

from __future__ import annotations

import os

from devstack import gateway


def test_the_configured_size_wins(monkeypatch):
    monkeypatch.setenv("STEPLINE_API_PROCESSES", "3")
    assert gateway.default_processes() == 3
    monkeypatch.setenv("STEPLINE_API_PROCESSES", "0")
    assert gateway.default_processes() == 0


def test_one_process_per_core_from_three_cores_up_else_threads(monkeypatch):
    monkeypatch.delenv("STEPLINE_API_PROCESSES", raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1, 2, 3})
    assert gateway.default_processes() == 4
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1})
    assert gateway.default_processes() == 0
