"""Shared pieces of the benchmarks: the stack, percentiles, printing."""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import time
import urllib.request
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
def _emulator_process() -> Iterator[None]:
    """moto's server in a process of its own, unless AWS_ENDPOINT_URL names one.

    In AWS, SQS is not in the function's process; an emulator sharing the
    benchmark's interpreter would charge its Python work (and GIL time) to
    every figure. ``BENCH_EMBEDDED_EMULATOR=1`` measures the embedded default.
    """
    if os.environ.get("AWS_ENDPOINT_URL") or os.environ.get("BENCH_EMBEDDED_EMULATOR"):
        yield
        return
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(url + "/moto-api/", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        os.environ["AWS_ENDPOINT_URL"] = url
        yield
    finally:
        os.environ.pop("AWS_ENDPOINT_URL", None)
        proc.terminate()
        proc.wait(timeout=10)


@contextlib.contextmanager
def local_stack(*, workers: int = 4, serve_http: bool = True) -> Iterator[tuple[Stack, LocalRuntime]]:
    """A throwaway stack (or the one DATABASE_URL/AWS_ENDPOINT_URL name) with the runtime running."""
    with _emulator_process():
        with _local_stack(workers=workers, serve_http=serve_http) as pair:
            yield pair


@contextlib.contextmanager
def _local_stack(*, workers: int, serve_http: bool) -> Iterator[tuple[Stack, LocalRuntime]]:
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
