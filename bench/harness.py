"""Shared pieces of the benchmarks: the stack, percentiles, printing."""

from __future__ import annotations

import contextlib
import os
import statistics
from collections.abc import Iterator

from devstack.postgres import free_port
from devstack.runtime import LocalRuntime
from devstack.stack import Stack, bring_up


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * pct / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def figure(name: str, value: float, unit: str) -> None:
    print(f"{name}: {value:.2f} {unit}", flush=True)


def summary(prefix: str, values_ms: list[float]) -> None:
    figure(f"{prefix}_p50", percentile(values_ms, 50), "ms")
    figure(f"{prefix}_p95", percentile(values_ms, 95), "ms")
    figure(f"{prefix}_mean", statistics.fmean(values_ms) if values_ms else float("nan"), "ms")


@contextlib.contextmanager
def local_stack(*, workers: int = 4, serve_http: bool = True) -> Iterator[tuple[Stack, LocalRuntime]]:
    """A throwaway stack (or the one DATABASE_URL/AWS_ENDPOINT_URL name) with the runtime running."""
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    stack = bring_up(throwaway=True, log=lambda _m: None)
    stack.apply()
    runtime = LocalRuntime(endpoint_url=stack.env["AWS_ENDPOINT_URL"], region=stack.env["AWS_DEFAULT_REGION"],
                           port=free_port(), workers=workers, serve_http=serve_http).start()
    try:
        yield stack, runtime
    finally:
        runtime.stop()
        stack.stop(destroy_database=True)
