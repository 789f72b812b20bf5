"""Throughput of a webhook-driven workflow, on the stack exactly as ``make up`` runs it.

``python -m bench throughput`` (``make bench-throughput``; also part of ``make bench``).

- The stack: ``python -m devstack up`` in a process of its own, on free ports and a
  fresh data directory (``STEPLINE_LOCAL_DIR``), so PostgreSQL is durable (fsync and
  synchronous commit on, as ``make up``), the step queue is the embedded one in PostgreSQL
  and moto's server (a child process) emulates the other AWS APIs; ``STEPLINE_WORKER_PROCESSES``
  and ``STEP_QUEUE_BACKEND`` pass through to it. Only the
  trigger limits of the tenant are lifted (``TRIGGERS_*``), so that what is measured is the platform, not the quota.
- The workflow, created, published and put in production over the API as the demo
  owner: webhook → transform ``received=true`` → transform ``sum`` = JSONata
  ``$sum(items)`` → transform ``source`` → end.
- The load: a closed-loop asyncio client (keep-alive connections, no HTTP library) in a
  separate process, ``c`` concurrent senders each sending the next signed delivery
  (Standard Webhooks) as soon as the last one is answered, at c = 1, 8 and 32, for ``BENCH_SECONDS`` (30) each after
  ``BENCH_WARMUP_SECONDS`` (5) of warm-up; the queue is drained between levels.
  ``BENCH_SHORT=1`` runs 5 s per level after 2 s of warm-up.
- The figures per level (``name: value unit``):
  ``webhook_answers``, ``webhook_p50/p99`` (the 202s); ``completed_runs`` (runs that
  reached ``success`` inside the window, counted from the database) and
  ``completed_runs_with_drain`` (every run accepted in the window, until the last one
  finished); ``send_to_finished_p50/p99``; ``runs_lost`` (accepted, not ``success``
  after the drain); ``cpu_per_run`` (runtime + PostgreSQL + emulator, from /proc of
  their process trees, window and drain); ``stack_rss``/``stack_pss`` (smaps_rollup of
  every process of the stack, at the end of the window).
- The API (item 4 of the throughput issue): 32 concurrent clients, each for
  ``BENCH_API_SECONDS`` (10; 3 when short): a list (``GET …/flows``), a detail
  (``GET …/flows/{id}``), a write (``POST …/flows``) and a run start
  (``POST …/flows/{id}/runs``), from keep-alive connections of a lean asyncio client; p50/p95/p99,
  requests/s, CPU ms per request (also net of the idle stack), RSS/PSS and the load average. Alone:
  ``BENCH_PARTS=api python -m bench throughput``; with ``BENCH_PROFILE`` (and no levels part) a py-spy
  profile of the runtime during ``BENCH_PROFILE_KIND`` (``detail``; ``list``, ``create_workflow``, ``start_run``).
- Ingest under backpressure (item 5): see :func:`ingest`.
- ``BENCH_PARTS`` (``levels,api,statements,ingest``) and ``BENCH_LEVELS`` (``1,8,32``) choose what runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.harness import figure, percentile
from devstack.postgres import APP_ROLE, DATABASE, free_port

LEVELS = (1, 8, 32)
API_CLIENTS = 32
API_IDLE_SECONDS = 5.0
# BENCH_PROFILE=<file>: a py-spy profile (collapsed stacks) of the runtime at this level; BENCH_PROFILE_GIL=1:
# only the samples of the thread holding the GIL (where the runtime's CPU goes, not where its threads wait)
PROFILED_LEVEL = 8
LIFTED_LIMITS = {"TRIGGERS_MAX_CONCURRENT_RUNS": "10000", "TRIGGERS_MAX_RUNS_PER_HOUR": "10000000",
                 "TRIGGERS_BURST": "1000000", "TRIGGERS_RATE_PER_SECOND": "1000000",
                 # one principal drives the API part: its per-principal rate limit would answer 429
                 "LIMITS_API_BURST": "1000000", "LIMITS_API_PER_SECOND": "1000000",
                 "LIMITS_MAX_WORKFLOWS": "1000000"}
DRAIN_TIMEOUT = 300.0


def _durations() -> tuple[float, float, float]:
    """(seconds per level, warm-up seconds, API seconds per request kind)."""
    short = os.environ.get("BENCH_SHORT", "") not in ("", "0")
    seconds = float(os.environ.get("BENCH_SECONDS", "5" if short else "30"))
    warmup = float(os.environ.get("BENCH_WARMUP_SECONDS", "2" if short else "5"))
    api = float(os.environ.get("BENCH_API_SECONDS", "3" if short else "10"))
    return seconds, warmup, api


def graph() -> dict[str, Any]:
    """webhook → received=true → $sum(items) → source → end."""
    def transform(node_id: str, output: dict[str, Any]) -> dict[str, Any]:
        return {"id": node_id, "name": node_id, "type": "transform", "config": {"output": output, "mode": "merge"}}

    return {"nodes": [{"id": "start", "name": "start", "type": "start"},
                      transform("received", {"received": True}),
                      transform("total", {"sum": {"$jsonata": "$sum(items)"}}),
                      transform("source", {"source": "webhook"}),
                      {"id": "end", "name": "end", "type": "end"}],
            "edges": [{"from": "start", "to": "received"}, {"from": "received", "to": "total"},
                      {"from": "total", "to": "source"}, {"from": "source", "to": "end"}]}


# -- the stack ---------------------------------------------------------------------------------

@dataclass
class StackProcess:
    proc: subprocess.Popen[bytes]
    base_url: str
    local_dir: Path
    pg_port: int

    @property
    def datadir(self) -> Path:
        return self.local_dir / "postgres" / "data"

    def postmaster_pid(self) -> int:
        return int((self.datadir / "postmaster.pid").read_text().splitlines()[0])

    def roots(self) -> dict[str, int]:
        """The process trees of the stack: the runtime (with the embedded emulator) and PostgreSQL."""
        return {"runtime": self.proc.pid, "postgres": self.postmaster_pid()}

    def superuser_url(self) -> str:
        return f"postgresql+pg8000://postgres@127.0.0.1:{self.pg_port}/{DATABASE}"


@contextlib.contextmanager
def make_up(**extra_env: str) -> Iterator[StackProcess]:
    """``python -m devstack up`` (what ``make up`` runs) on free ports in a fresh directory."""
    local_dir = Path(tempfile.mkdtemp(prefix="stepline-bench-"))
    port, pg_port, moto_port = free_port(), free_port(), free_port()
    env = {**os.environ, "STEPLINE_LOCAL_DIR": str(local_dir), "LOG_LEVEL": "WARNING", **LIFTED_LIMITS, **extra_env}
    for name in ("DATABASE_URL", "MIGRATION_DATABASE_URL", "AWS_ENDPOINT_URL"):
        env.pop(name, None)
    log = open(local_dir / "up.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "-m", "devstack", "up", "--no-console", "--port", str(port),
                             "--pg-port", str(pg_port), "--moto-port", str(moto_port)],
                            stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    stack = StackProcess(proc, f"http://127.0.0.1:{port}", local_dir, pg_port)
    try:
        deadline = time.monotonic() + 300
        while b"Ready:" not in (local_dir / "up.log").read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the stack did not start:\n"
                                   + (local_dir / "up.log").read_text(errors="replace")[-3000:])
            time.sleep(0.2)
        yield stack
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()
        # make up keeps its cluster running only while it runs; make sure this one is gone
        with contextlib.suppress(Exception):
            from devstack.postgres import Cluster
            Cluster(datadir=stack.datadir, port=pg_port).stop()
        shutil.rmtree(local_dir, ignore_errors=True)


# -- /proc -------------------------------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def tree_pids(roots: list[int]) -> list[int]:
    tree, seen, todo = _children(), set(), list(roots)
    while todo:
        pid = todo.pop()
        if pid not in seen:
            seen.add(pid)
            todo.extend(tree.get(pid, []))
    return sorted(seen)


def cpu_seconds(roots: list[int]) -> float:
    """User + system time of every live process of the trees, plus what they reaped (exited backends)."""
    total = 0
    for pid in tree_pids(roots):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        parts = fields[fields.rindex(")") + 2:].split()
        total += sum(int(v) for v in parts[11:15])  # utime stime cutime cstime
    return total / _TICK


def memory_mb(roots: list[int]) -> tuple[float, float]:
    """(RSS, PSS) of the trees in MB, from smaps_rollup."""
    rss = pss = 0
    for pid in tree_pids(roots):
        try:
            text = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith("Rss:"):
                rss += int(line.split()[1])
            elif line.startswith("Pss:"):
                pss += int(line.split()[1])
    return rss / 1024, pss / 1024


# -- the load generator (its own process) ------------------------------------------------------

class _KeepAlive:
    """One keep-alive HTTP/1.1 connection written to and read from with asyncio streams.

    An answer is read by its ``Content-Length`` (every answer of the gateway has one). An HTTP client library
    costs ~2 ms of CPU per request here, as much as the stack itself on the same two cores; this ~0.1 ms.
    """

    def __init__(self, base_url: str) -> None:
        from urllib.parse import urlsplit

        url = urlsplit(base_url)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 80
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    def encode(self, method: str, path: str, payload: bytes, headers: dict[str, str]) -> bytes:
        lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        return (f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{lines}"
                f"Content-Length: {len(payload)}\r\n\r\n").encode() + payload

    async def send(self, request: bytes, timeout: float = 60) -> tuple[int | str, bytes]:
        """``(status, body)``, or ``(the error's name, b"")`` when no answer came (the connection is dropped)."""
        try:
            if self._streams is None:
                self._streams = await asyncio.open_connection(self.host, self.port)
            self._streams[1].write(request)
            return await asyncio.wait_for(self._answer(self._streams[0]), timeout)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError) as exc:
            self.close()
            return type(exc).__name__, b""

    @staticmethod
    async def _answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
        head = await reader.readuntil(b"\r\n\r\n")
        status, length = int(head[9:12]), 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return status, await reader.readexactly(length)

    def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
        self._streams = None


def _load_process(conn: Any, base_url: str, path: str, secret: str, clients: int, seconds: float) -> None:
    """Closed loop: ``clients`` senders, each on its own keep-alive connection; reports (sent_at epoch,
    latency ms, status, run_id, delivery_id) per delivery.

    A sender stops sending at the end of ``seconds`` but waits for its last answer.
    """
    from chalicelib.triggers.signing import sign_standard_webhooks

    results: list[tuple[float, float, int, str | None, str | None]] = []

    async def sender(stop_at: float) -> None:
        n, connection = 0, _KeepAlive(base_url)
        while time.monotonic() < stop_at:
            n += 1
            body = json.dumps({"items": [1, 2, 3, n % 10], "order": n}).encode()
            headers = sign_standard_webhooks(body, secret, msg_id=f"msg_{uuid.uuid4().hex}",
                                             timestamp=int(time.time()))
            request = connection.encode("POST", path, body, {"Content-Type": "application/json", **headers})
            sent_at, started = time.time(), time.perf_counter()
            status, payload = await connection.send(request)
            run_id = delivery_id = None
            if status == 202:
                answer = json.loads(payload)
                # a run admitted to wait has no id yet: it derives from the delivery's when it starts
                run_id, delivery_id = answer.get("run_id"), answer.get("delivery_id")
            elif isinstance(status, str):  # no answer: the error's name is kept to be counted
                status, run_id = 0, status
            results.append((sent_at, (time.perf_counter() - started) * 1000, int(status), run_id, delivery_id))
        connection.close()

    async def main() -> None:
        conn.send("ready")
        conn.recv()  # go
        stop_at = time.monotonic() + seconds
        await asyncio.gather(*(sender(stop_at) for _ in range(clients)))

    asyncio.run(main())
    conn.send(results)


def _api_process(conn: Any, base_url: str, token: str, requests: list[tuple[str, str, Any]], clients: int,
                 seconds: float) -> None:
    """Closed loop over (method, path, body) in turn, each client on its own keep-alive connection
    (:class:`_KeepAlive`); reports (latency ms, status) per request."""
    probe = _KeepAlive(base_url)
    encoded = [probe.encode(method, path, json.dumps(body).encode() if body is not None else b"",
                            {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
               for method, path, body in requests]
    results: list[tuple[float, int | str]] = []

    async def worker(stop_at: float, offset: int) -> None:
        n, connection = offset, _KeepAlive(base_url)
        while time.monotonic() < stop_at:
            request = encoded[n % len(encoded)]
            n += 1
            started = time.perf_counter()
            status, _ = await connection.send(request)
            results.append(((time.perf_counter() - started) * 1000, status))
        connection.close()

    async def main() -> None:
        conn.send("ready")
        conn.recv()
        stop_at = time.monotonic() + seconds
        await asyncio.gather(*(worker(stop_at, i) for i in range(clients)))

    asyncio.run(main())
    conn.send(results)


def _in_process(target: Any, *args: Any, on_go: Any = None) -> Any:
    """Run ``target`` in a spawned process; ``on_go`` is called just before it starts its clock."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=target, args=(child, *args))
    proc.start()
    assert parent.recv() == "ready"
    started = on_go() if on_go else None
    parent.send("go")
    results = parent.recv()
    proc.join(timeout=30)
    return started, results


# -- the database ------------------------------------------------------------------------------

class Runs:
    """Counts from PostgreSQL (as its superuser: no tenant scope needed to count)."""

    def __init__(self, url: str, flow_id: str) -> None:
        from sqlalchemy import create_engine

        self.engine = create_engine(url, pool_size=1)
        self.flow_id = flow_id

    def _all(self, sql: str, **params: Any) -> list[Any]:
        from sqlalchemy import text

        with self.engine.connect() as conn:
            return list(conn.execute(text(sql), {"f": self.flow_id, **params}).all())

    def unfinished(self) -> int:
        return int(self._all("SELECT count(*) FROM runs WHERE workflow_id = CAST(:f AS uuid) "
                             "AND status NOT IN ('success', 'failed', 'cancelled')")[0][0])

    def succeeded_between(self, t0: float, t1: float) -> int:
        return int(self._all("SELECT count(*) FROM runs WHERE workflow_id = CAST(:f AS uuid) "
                             "AND status = 'success' AND finished_at >= to_timestamp(:t0) "
                             "AND finished_at < to_timestamp(:t1)", t0=t0, t1=t1)[0][0])

    def finished(self, run_ids: list[str]) -> dict[str, tuple[str, float | None]]:
        rows = self._all("SELECT id::text, status, extract(epoch FROM finished_at) FROM runs "
                         "WHERE id = ANY(CAST(:ids AS uuid[]))", ids=run_ids)
        return {run_id: (status, float(at) if at is not None else None) for run_id, status, at in rows}

    def drain(self, run_ids: list[str], timeout: float = DRAIN_TIMEOUT) -> dict[str, tuple[str, float | None]]:
        """Until every run of the list (and of the workflow) has finished, or the timeout."""
        deadline = time.monotonic() + timeout
        while True:
            state = self.finished(run_ids) if run_ids else {}
            done = sum(1 for status, at in state.values() if at is not None and status != "running")
            if (done == len(run_ids) and not self.unfinished()) or time.monotonic() > deadline:
                return state
            time.sleep(0.25)


# -- the scenario ------------------------------------------------------------------------------

@dataclass
class Setup:
    token: str
    ws: str
    flow_id: str
    path: str
    secret: str


def setup(base_url: str, flow_graph: dict[str, Any] | None = None) -> Setup:
    """As the seeded demo owner, over the API: the workflow, published, in production, with its webhook."""
    from chalicelib.services import demo

    with httpx.Client(base_url=base_url, timeout=30) as client:
        login = client.post("/auth/login", json={"email": demo.demo_email("owner", "acme"),
                                                 "password": demo.DEMO_PASSWORD})
        login.raise_for_status()
        token = login.json()["access_token"]
        client.headers["authorization"] = f"Bearer {token}"
        workspaces = client.get("/api/workspaces").raise_for_status().json()
        ws = (workspaces["items"] if isinstance(workspaces, dict) else workspaces)[0]["id"]
        flows = f"/api/workspaces/{ws}/flows"
        title = f"throughput bench {uuid.uuid4().hex[:6]}"
        flow = client.post(flows, json={"title": title, "graph": flow_graph or graph()}).raise_for_status().json()
        client.post(f"{flows}/{flow['id']}/publish", json={}).raise_for_status()
        client.patch(f"{flows}/{flow['id']}", json={"status": "production", "enabled": True}).raise_for_status()
        trigger = client.post(f"{flows}/{flow['id']}/triggers",
                              json={"kind": "webhook", "name": "bench"}).raise_for_status().json()
    url = trigger["webhook"]["url"]
    return Setup(token, ws, flow["id"], url[url.index("/webhooks/"):], trigger["webhook"]["new_secret"])


def level(stack: StackProcess, scenario: Setup, runs: Runs, clients: int, seconds: float, warmup: float) -> None:
    roots = list(stack.roots().values())
    # warm-up, then an empty queue
    _, warm = _in_process(_load_process, stack.base_url, scenario.path, scenario.secret, clients, warmup)
    runs.drain([r[3] for r in warm if r[2] == 202 and r[3]])

    marks: dict[str, float] = {}

    profile = os.environ.get("BENCH_PROFILE") if clients == PROFILED_LEVEL else None
    spy: list[subprocess.Popen[bytes]] = []

    def go() -> None:
        if profile:  # py-spy samples the runtime's threads during the window
            spy.append(_py_spy(stack, seconds, profile))
        marks["cpu0"], marks["t0"] = cpu_seconds(roots), time.time()
        for name, pid in stack.roots().items():
            marks[f"cpu0_{name}"] = cpu_seconds([pid])

    _, results = _in_process(_load_process, stack.base_url, scenario.path, scenario.secret, clients, seconds,
                             on_go=go)
    for proc in spy:
        proc.wait(timeout=seconds + 60)
    t1 = marks["t0"] + seconds  # the window; answers still in flight after it are not counted as answered in it
    rss, pss = memory_mb(roots)
    within = runs.succeeded_between(marks["t0"], t1)
    accepted = {r[3]: r[0] for r in results if r[2] == 202 and r[3]}
    refused = Counter(str(r[2] or r[3]) for r in results if r[2] != 202)
    state = runs.drain(list(accepted))
    cpu = cpu_seconds(roots) - marks["cpu0"]
    cpu_by_root = {name: cpu_seconds([pid]) - marks[f"cpu0_{name}"] for name, pid in stack.roots().items()}
    ends = [at for status, at in state.values() if status == "success" and at is not None]
    succeeded = len(ends)
    last = max(ends) if ends else t1
    answers = [r[1] for r in results if r[2] == 202]
    answered_in_window = sum(1 for r in results if r[2] == 202 and r[0] + r[1] / 1000 <= t1)
    to_finished = [(state[run_id][1] - sent_at) * 1000 for run_id, sent_at in accepted.items()
                   if run_id in state and state[run_id][0] == "success" and state[run_id][1] is not None]
    p = f"throughput_c{clients}"
    figure(f"{p}_webhook_answers", answered_in_window / seconds, "req/s")
    figure(f"{p}_webhook_p50", percentile(answers, 50), "ms")
    figure(f"{p}_webhook_p99", percentile(answers, 99), "ms")
    for status, count in sorted(refused.items()):
        figure(f"{p}_webhook_not_accepted_{status}", count, "requests")
    figure(f"{p}_completed_runs", within / seconds, "runs/s")
    figure(f"{p}_completed_runs_with_drain", succeeded / max(last - marks["t0"], seconds), "runs/s")
    figure(f"{p}_send_to_finished_p50", percentile(to_finished, 50), "ms")
    figure(f"{p}_send_to_finished_p99", percentile(to_finished, 99), "ms")
    figure(f"{p}_runs_lost", len(accepted) - succeeded, "runs")
    figure(f"{p}_cpu_per_run", cpu * 1000 / succeeded if succeeded else float("nan"), "ms")
    for name, seconds_used in cpu_by_root.items():
        figure(f"{p}_cpu_per_run_{name}", seconds_used * 1000 / succeeded if succeeded else float("nan"), "ms")
    figure(f"{p}_stack_rss", rss, "MB")
    figure(f"{p}_stack_pss", pss, "MB")


def api(stack: StackProcess, scenario: Setup, seconds: float) -> None:
    """Item 4: reads (a list, a detail) and writes (create a workflow, start a run) at 32 clients.

    Per kind: p50/p95/p99 of the 2xx answers, requests/s, CPU milliseconds per answered request
    (runtime, which includes its API processes, step workers and emulator, + PostgreSQL, from /proc; also net
    of what the stack spends idle, measured for ``API_IDLE_SECONDS`` first; a started run's CPU includes
    executing the run),
    RSS/PSS of the whole stack at the end of the window, and the load average (the machine may be shared:
    CPU per request is the figure least affected by other work).
    """
    flows = f"/api/workspaces/{scenario.ws}/flows"
    kinds = {
        "list": [("GET", flows, None)],
        "detail": [("GET", f"{flows}/{scenario.flow_id}", None)],
        "create_workflow": [("POST", flows, {"title": f"bench {i}", "graph": graph()}) for i in range(64)],
        "start_run": [("POST", f"{flows}/{scenario.flow_id}/runs",
                       {"mode": "production", "input": {"items": [1, 2, 3]}})],
    }
    roots = stack.roots()
    marks: dict[str, float] = {}

    def go() -> float:
        for root, pid in roots.items():
            marks[root] = cpu_seconds([pid])
        return time.monotonic()

    # What the stack spends with no request (pollers, heartbeats, the scheduler), subtracted from the window's
    # CPU for the net figure: on a machine shared with other work the request rate, hence the idle share, varies.
    idle_started, idle_cpu = time.monotonic(), cpu_seconds(list(roots.values()))
    time.sleep(API_IDLE_SECONDS)
    idle_rate = (cpu_seconds(list(roots.values())) - idle_cpu) / (time.monotonic() - idle_started)
    figure(f"api_c{API_CLIENTS}_idle_cpu", idle_rate * 1000, "ms/s")
    profile, profiled_kind = _api_profile()
    for name, requests in kinds.items():
        spy = _py_spy(stack, seconds, profile) if name == profiled_kind and profile else None
        started, results = _in_process(_api_process, stack.base_url, scenario.token, requests, API_CLIENTS,
                                       seconds, on_go=go)
        elapsed = time.monotonic() - started
        if spy is not None:
            spy.wait(timeout=seconds + 60)
        cpu = {root: cpu_seconds([pid]) - marks[root] for root, pid in roots.items()}
        rss, pss = memory_mb(list(roots.values()))
        ok = [ms for ms, status in results if isinstance(status, int) and 200 <= status < 300]
        p = f"api_{name}_c{API_CLIENTS}"
        figure(f"{p}_p50", percentile(ok, 50), "ms")
        figure(f"{p}_p95", percentile(ok, 95), "ms")
        figure(f"{p}_p99", percentile(ok, 99), "ms")
        figure(f"{p}_rate", len(ok) / elapsed, "req/s")
        figure(f"{p}_cpu_per_request", sum(cpu.values()) * 1000 / len(ok) if ok else float("nan"), "ms")
        net = (sum(cpu.values()) - idle_rate * elapsed) * 1000 / len(ok) if ok else float("nan")
        figure(f"{p}_cpu_per_request_net_of_idle", net, "ms")
        for root, used in cpu.items():
            figure(f"{p}_cpu_per_request_{root}", used * 1000 / len(ok) if ok else float("nan"), "ms")
        figure(f"{p}_stack_rss", rss, "MB")
        figure(f"{p}_stack_pss", pss, "MB")
        figure(f"{p}_load_average", os.getloadavg()[0], "")
        failed = Counter(str(st) for _, st in results if not (isinstance(st, int) and 200 <= st < 300))
        for status, count in sorted(failed.items()):
            figure(f"{p}_failed_{status}", count, "requests")


def _api_profile() -> tuple[str | None, str]:
    """Where the API part's profile goes and of which kind (``BENCH_PROFILE_KIND``, default ``detail``): the file
    ``BENCH_PROFILE`` names when the levels part does not run, else that name with ``.api`` before its suffix."""
    profile = os.environ.get("BENCH_PROFILE")
    kind = os.environ.get("BENCH_PROFILE_KIND", "detail")
    if profile and "levels" in _parts()[0]:
        path = Path(profile)
        profile = str(path.with_name(f"{path.stem}.api{path.suffix}"))
    return profile, kind


def _py_spy(stack: StackProcess, seconds: float, output: str) -> subprocess.Popen[bytes]:
    """py-spy (dev requirement) sampling the runtime's processes for ``seconds`` (collapsed stacks in ``output``;
    ``BENCH_PROFILE_GIL=1``: only the thread holding the GIL)."""
    return subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(stack.proc.pid),
                             "--duration", str(int(seconds)), "--rate", "100", "--nonblocking", "--subprocesses",
                             "--format", "raw", "--output", output,
                             *(["--gil"] if os.environ.get("BENCH_PROFILE_GIL") else [])],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# -- ingest under backpressure (item 5) -------------------------------------------------------

INGEST_CLIENTS = 32
INGEST_CONCURRENT_RUNS = 2  # the tenant's concurrency limit: beyond it, accepted runs wait


def ingest(seconds: float) -> None:
    """Accepted webhooks per second at 32 clients when the tenant's runs are admitted to wait.

    A stack of its own whose tenant may run only ``INGEST_CONCURRENT_RUNS`` runs at once, so
    most deliveries are accepted (recorded durably, 202 ``queued``) with their run waiting;
    after the window, the backlog drains (waiting runs start as slots free up) and every
    accepted delivery must have become a successful run.
    """
    from chalicelib.services.triggers.engine_adapters import run_id_of

    with make_up(TRIGGERS_MAX_CONCURRENT_RUNS=str(INGEST_CONCURRENT_RUNS)) as stack:
        scenario = setup(stack.base_url)
        runs = Runs(stack.superuser_url(), scenario.flow_id)
        roots = list(stack.roots().values())
        marks: dict[str, float] = {}

        def go() -> None:
            marks["cpu0"], marks["t0"] = cpu_seconds(roots), time.time()

        _, results = _in_process(_load_process, stack.base_url, scenario.path, scenario.secret, INGEST_CLIENTS,
                                 seconds, on_go=go)
        t1 = marks["t0"] + seconds
        answered = [r for r in results if r[2] == 202]
        outcomes = Counter("started" if r[3] else "queued" for r in answered)
        run_ids = [r[3] or run_id_of(r[4]) for r in answered]
        refused = Counter(str(r[2] or r[3]) for r in results if r[2] != 202)
        drain_began = time.time()
        backlog = len(run_ids) - sum(1 for status, at in runs.finished(run_ids).values()
                                     if status == "success" and at is not None)
        state = runs.drain(run_ids)
        ends = [at for status, at in state.values() if status == "success" and at is not None]
        after_window = [at for at in ends if at >= drain_began]
        last = max([drain_began, *ends])
        cpu = cpu_seconds(roots) - marks["cpu0"]
        runs.engine.dispose()
    p = f"ingest_c{INGEST_CLIENTS}"
    figure(f"{p}_accepted", sum(1 for r in answered if r[0] + r[1] / 1000 <= t1) / seconds, "req/s")
    figure(f"{p}_accepted_p50", percentile([r[1] for r in answered], 50), "ms")
    figure(f"{p}_accepted_p99", percentile([r[1] for r in answered], 99), "ms")
    figure(f"{p}_accepted_waiting", outcomes["queued"], "deliveries")
    figure(f"{p}_accepted_started_at_once", outcomes["started"], "deliveries")
    for status, count in sorted(refused.items()):
        figure(f"{p}_not_accepted_{status}", count, "requests")
    figure(f"{p}_backlog_at_window_end", backlog, "runs")
    figure(f"{p}_drain_rate", len(after_window) / (last - drain_began) if after_window else float("nan"), "runs/s")
    figure(f"{p}_drain_seconds", last - drain_began, "s")
    figure(f"{p}_runs_lost", len(answered) - len(ends), "runs")
    figure(f"{p}_cpu_per_run", cpu * 1000 / len(ends) if ends else float("nan"), "ms")


# -- statements and transactions ---------------------------------------------------------------

_LOGGED = re.compile(r"^\S+ \S+ \S+ \[\d+\] (\S*) LOG:  (?:statement|execute [^:]*): (.*)$")


def _logged(logfile: Path, start: int) -> list[str]:
    """The application role's statements logged since byte ``start`` (a statement's further lines joined)."""
    with logfile.open("rb") as f:
        f.seek(start)
        lines = f.read().decode(errors="replace").splitlines()
    found: list[str] = []
    ours = False
    for line in lines:
        match = _LOGGED.match(line)
        if match:
            ours = match.group(1) == APP_ROLE
            if ours:
                found.append(match.group(2).strip())
        elif ours and line[:1] in ("\t", " ") and found:
            found[-1] = (found[-1] + " " + line.strip()).strip()
        else:
            ours = False
    return found


def statements(stack: StackProcess, count: int = 20) -> None:
    """SQL statements and transactions per webhook-started run and per step, from PostgreSQL's statement log.

    ``count`` sequential deliveries to the 5-node workflow, then to a 2-node one (start → end);
    the difference gives the cost of a step, the rest the cost of accepting a delivery and
    creating and closing its run. Background statements (scheduler, pollers) are measured
    idle for as long and subtracted.
    """
    from sqlalchemy import create_engine, text

    engine = create_engine(stack.superuser_url(), isolation_level="AUTOCOMMIT", pool_size=1)
    logfile = stack.local_dir / "postgres" / "postgres.log"

    def set_logging(on: bool) -> None:
        with engine.connect() as conn:
            if on:
                conn.execute(text("ALTER SYSTEM SET log_statement = 'all'"))
                conn.execute(text("ALTER SYSTEM SET log_line_prefix = '%m [%p] %u '"))
            else:
                conn.execute(text("ALTER SYSTEM RESET log_statement"))
                conn.execute(text("ALTER SYSTEM RESET log_line_prefix"))
            conn.execute(text("SELECT pg_reload_conf()"))
        time.sleep(0.5)

    def measured(action: Any) -> tuple[list[str], float]:
        start, began = logfile.stat().st_size, time.monotonic()
        action()
        time.sleep(0.5)  # the last commits reach the log
        return _logged(logfile, start), time.monotonic() - began

    five_nodes, two_nodes = setup(stack.base_url, graph()), setup(stack.base_url, short_graph())
    set_logging(True)
    try:
        idle, idle_seconds = measured(lambda: time.sleep(5))
        five, five_seconds = measured(lambda: _send_one_at_a_time(stack, five_nodes, count))
        two, two_seconds = measured(lambda: _send_one_at_a_time(stack, two_nodes, count))
    finally:
        set_logging(False)
        engine.dispose()

    if os.environ.get("BENCH_STATEMENT_LOG"):  # the statements counted, to read (one a line, per phase)
        with open(os.environ["BENCH_STATEMENT_LOG"], "w") as out:
            for name, logged in (("idle", idle), ("5 nodes", five), ("2 nodes", two)):
                out.write(f"-- {name}: {len(logged)} statements\n" + "\n".join(logged) + "\n")

    def per_run(logged: list[str], seconds: float) -> tuple[float, float]:
        idle_rate = len(idle) / idle_seconds
        idle_tx = sum(1 for s in idle if s.upper().startswith(("COMMIT", "ROLLBACK"))) / idle_seconds
        tx = sum(1 for s in logged if s.upper().startswith(("COMMIT", "ROLLBACK")))
        return (len(logged) - idle_rate * seconds) / count, (tx - idle_tx * seconds) / count

    five_stmts, five_tx = per_run(five, five_seconds)
    two_stmts, two_tx = per_run(two, two_seconds)
    step_stmts, step_tx = (five_stmts - two_stmts) / 3, (five_tx - two_tx) / 3
    figure("sql_statements_per_run_5_nodes", five_stmts, "statements")
    figure("sql_transactions_per_run_5_nodes", five_tx, "transactions")
    figure("sql_statements_per_run_2_nodes", two_stmts, "statements")
    figure("sql_transactions_per_run_2_nodes", two_tx, "transactions")
    # What each of the 3 more pure steps adds. Pure steps travel in their segment's one write, so this is ~0 and
    # reads slightly negative or positive with the background's noise; not a per-step cost to subtract.
    figure("sql_statements_per_step", step_stmts, "statements")
    figure("sql_transactions_per_step", step_tx, "transactions")
    figure("sql_background_statements", len(idle) / idle_seconds, "statements/s")


def short_graph() -> dict[str, Any]:
    return {"nodes": [{"id": "start", "name": "start", "type": "start"}, {"id": "end", "name": "end", "type": "end"}],
            "edges": [{"from": "start", "to": "end"}]}


def _send_one_at_a_time(stack: StackProcess, scenario: Setup, count: int) -> None:
    """``count`` deliveries, each waited for (as the superuser, whose statements are not counted) until its
    run has finished."""
    from chalicelib.triggers.signing import sign_standard_webhooks

    runs = Runs(stack.superuser_url(), scenario.flow_id)
    with httpx.Client(base_url=stack.base_url, timeout=30) as client:
        for n in range(count):
            body = json.dumps({"items": [1, 2, n]}).encode()
            headers = sign_standard_webhooks(body, scenario.secret, msg_id=f"msg_{uuid.uuid4().hex}",
                                             timestamp=int(time.time()))
            reply = client.post(scenario.path, content=body, headers={"content-type": "application/json", **headers})
            runs.drain([reply.raise_for_status().json()["run_id"]], timeout=30)
    runs.engine.dispose()


PARTS = ("levels", "api", "statements", "ingest")


def _parts() -> tuple[set[str], tuple[int, ...]]:
    """``BENCH_PARTS`` (comma-separated, default all of ``PARTS``) and ``BENCH_LEVELS`` (default 1,8,32)."""
    parts = {p.strip() for p in os.environ.get("BENCH_PARTS", ",".join(PARTS)).split(",") if p.strip()}
    unknown = parts - set(PARTS)
    if unknown:
        raise SystemExit(f"BENCH_PARTS: unknown {sorted(unknown)}; known: {', '.join(PARTS)}")
    levels = tuple(int(v) for v in os.environ.get("BENCH_LEVELS", ",".join(map(str, LEVELS))).split(",") if v)
    return parts, levels


def main() -> None:
    seconds, warmup, api_seconds = _durations()
    parts, levels = _parts()
    figure("load_average_at_start", os.getloadavg()[0], "")
    with make_up() as stack:
        scenario = setup(stack.base_url)
        if "levels" in parts:
            runs = Runs(stack.superuser_url(), scenario.flow_id)
            figure("throughput_seconds_per_level", seconds, "s")
            for clients in levels:
                level(stack, scenario, runs, clients, seconds, warmup)
            runs.engine.dispose()
        if "api" in parts:
            api(stack, scenario, api_seconds)
        if "statements" in parts:
            statements(stack)
    if "ingest" in parts:
        ingest(float(os.environ.get("BENCH_INGEST_SECONDS", "5" if seconds < 30 else "15")))
    figure("load_average_at_end", os.getloadavg()[0], "")


if __name__ == "__main__":
    main()
