"""Test helpers for the engine: graphs, a loopback HTTP server that counts calls, and a run driver.

The driver runs a run's queued steps by calling the runner directly (no
queue), so integration tests control delivery; the end-to-end tests go through
the real queue and the local runtime's poller instead.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import event, text

from chalicelib.db.uow import tenant_uow
from chalicelib.services.workflows import runner

TERMINAL = ("success", "failed", "canceled")


# -- graphs -------------------------------------------------------------------------------------


def node(node_id: str, type_: str, name: str | None = None, **config: Any) -> dict[str, Any]:
    return {"id": node_id, "name": name or node_id, "type": type_, "config": config}


def edge(source: str, target: str, port: str = "out") -> dict[str, Any]:
    return {"from": source, "to": target, "port": port}


def chain_graph(steps: int) -> dict[str, Any]:
    """start → t1 → … → tN → end, each transform adding nothing (a no-op step)."""
    nodes = [node("start", "start")]
    nodes += [node(f"t{i}", "transform", output={"n": i}, mode="merge") for i in range(1, steps + 1)]
    nodes.append(node("end", "end"))
    ids = [n["id"] for n in nodes]
    return {"nodes": nodes, "edges": [edge(a, b) for a, b in zip(ids, ids[1:], strict=False)]}


def branching_graph(base_url: str) -> dict[str, Any]:
    """A condition (one branch skipped), a wait_all and a merge_race, with HTTP calls on two branches.

    start → check(amount > 100)
      true  → big (transform) ─┐
      false → small (transform)┴→ join (wait_all) → race (merge_race) ← fast (http POST /echo)
    start → fast ───────────────────────────────────────────────────┘
    race → done (end)
    """
    return {
        "nodes": [
            node("start", "start"),
            node("check", "condition", all=[{"left": "{{ amount }}", "op": "gt", "right": 100}]),
            node("big", "transform", output={"size": "big", "amount": "{{ amount }}"}),
            node("small", "transform", output={"size": "small"}),
            node("join", "wait_all"),
            node("fast", "http_request", method="POST", url=base_url + "/echo", json={"order": "{{ order }}"}),
            node("race", "merge_race"),
            node("done", "end"),
        ],
        "edges": [
            edge("start", "check"), edge("check", "big", "true"), edge("check", "small", "false"),
            edge("big", "join"), edge("small", "join"), edge("join", "race"),
            edge("start", "fast"), edge("fast", "race"), edge("race", "done"),
        ],
    }


# -- the loopback HTTP server -----------------------------------------------------------------


class Loopback:
    """127.0.0.1 server: ``/echo``, ``/status/<code>``, ``/flaky/<name>/<n>``, ``/sleep/<ms>``, ``/block/<name>``.

    Counts every call by its ``Idempotency-Key``; ``/block`` holds the request
    until :meth:`release` (bounded by 30 s).
    """

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.by_key: Counter[str] = Counter()
        self.flaky: Counter[str] = Counter()
        self.released = threading.Event()
        self.blocked = threading.Event()
        self._lock = threading.Lock()
        loopback = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                return None

            def do_GET(self) -> None:
                loopback._serve(self)

            def do_POST(self) -> None:
                loopback._serve(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def release(self) -> None:
        self.released.set()

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.by_key.clear()
            self.flaky.clear()
        self.released.clear()
        self.blocked.clear()

    def stop(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()

    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("content-length") or 0)
        raw = request.rfile.read(length) if length else b""
        parts = urlsplit(request.path)
        key = request.headers.get("idempotency-key")
        call = {"method": request.command, "path": parts.path, "key": key,
                "body": json.loads(raw) if raw else None, "at": time.monotonic()}
        with self._lock:
            self.calls.append(call)
            if key:
                self.by_key[key] += 1
        segments = parts.path.strip("/").split("/")
        status, body = 200, {"path": parts.path, "query": parse_qs(parts.query), "json": call["body"], "key": key}
        if segments[0] == "status":
            status = int(segments[1])
        elif segments[0] == "flaky":
            name, failures = segments[1], int(segments[2])
            with self._lock:
                self.flaky[name] += 1
                seen = self.flaky[name]
            if seen <= failures:
                status = 503
        elif segments[0] == "sleep":
            time.sleep(int(segments[1]) / 1000)
        elif segments[0] == "block":
            self.blocked.set()
            self.released.wait(30)
        payload = json.dumps(body).encode()
        try:
            request.send_response(status)
            request.send_header("content-type", "application/json")
            request.send_header("content-length", str(len(payload)))
            request.end_headers()
            request.wfile.write(payload)
        except OSError:
            pass  # the caller went away (a killed worker)


# -- driving runs without the queue ---------------------------------------------------------------


def queued_steps(tenant_id: str, run_id: str) -> list[tuple[str, float]]:
    """``(step_id, seconds until due)`` of the run's queued steps."""
    with tenant_uow(tenant_id) as uow:
        rows = uow.execute(text(
            "SELECT id::text, COALESCE(EXTRACT(EPOCH FROM (not_before - now())), 0) FROM step_runs "
            "WHERE run_id = CAST(:r AS uuid) AND status = 'queued' ORDER BY created_at"), {"r": run_id}).all()
    return [(r[0], float(r[1])) for r in rows]


@contextlib.contextmanager
def counted_commits() -> Iterator[list[int]]:
    """The commits made on the app's engine inside the block (one entry each)."""
    from chalicelib.db.database_engine import get_db_engine

    commits: list[int] = []
    listener = lambda _conn: commits.append(1)  # noqa: E731
    event.listen(get_db_engine(), "commit", listener)
    try:
        yield commits
    finally:
        event.remove(get_db_engine(), "commit", listener)


@contextlib.contextmanager
def counted_statements() -> Iterator[list[str]]:
    """The statements executed on the app's engine inside the block, in order."""
    from chalicelib.db.database_engine import get_db_engine

    seen: list[str] = []
    listener = lambda _conn, _cursor, statement, *_args: seen.append(" ".join(statement.split()))  # noqa: E731
    event.listen(get_db_engine(), "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(get_db_engine(), "before_cursor_execute", listener)


@contextlib.contextmanager
def counted_transactions() -> Iterator[list[int]]:
    """The transactions begun on the app's engine inside the block (one entry each)."""
    from chalicelib.db.database_engine import get_db_engine

    begun: list[int] = []
    listener = lambda _conn: begun.append(1)  # noqa: E731
    event.listen(get_db_engine(), "begin", listener)
    try:
        yield begun
    finally:
        event.remove(get_db_engine(), "begin", listener)


def run_status(tenant_id: str, run_id: str) -> str:
    with tenant_uow(tenant_id) as uow:
        return uow.execute(text("SELECT status FROM runs WHERE id = CAST(:r AS uuid)"), {"r": run_id}).scalar()


def drive(tenant_id: str, run_id: str, *, timeout: float = 20.0) -> str:
    """Run the run's due steps in process until it ends (or nothing is left); returns its status."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = run_status(tenant_id, run_id)
        pending = queued_steps(tenant_id, run_id)
        if status in TERMINAL and not pending:
            return status
        due = [s for s, wait in pending if wait <= 0]
        if due:
            for step_id in due:
                runner.process_step(tenant_id, step_id)
            continue
        if not pending:
            return status
        time.sleep(min(0.05, max(0.005, min(w for _, w in pending))))
    raise AssertionError(f"run {run_id} did not finish within {timeout} s")


def steps_by_node(tenant_id: str, run_id: str) -> dict[str, list[dict[str, Any]]]:
    """Every attempt per node (attempt order)."""
    with tenant_uow(tenant_id) as uow:
        rows = uow.execute(text(
            "SELECT id::text AS id, node_id, instance_key, attempt, status, input, output, error, not_before, "
            "created_at, reclaims FROM step_runs WHERE run_id = CAST(:r AS uuid) "
            "ORDER BY node_id, instance_key, attempt"), {"r": run_id}).mappings().all()
    found: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        found.setdefault(row["node_id"], []).append(dict(row))
    return found


def events(tenant_id: str, run_id: str) -> list[dict[str, Any]]:
    with tenant_uow(tenant_id) as uow:
        rows = uow.execute(text("SELECT seq, type, node_id, data FROM run_events WHERE run_id = CAST(:r AS uuid) "
                                "ORDER BY seq"), {"r": run_id}).mappings().all()
    return [dict(r) for r in rows]


def wait_for(predicate: Any, timeout: float = 20.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


# -- objects for the route-table cross-tenant test ------------------------------------------------


def _tenant_flow(ctx: Any, tenant: str, graph: dict[str, Any]) -> tuple[str, str]:
    ws = ctx.workspace(tenant)
    flow = ctx.api.post(f"/api/workspaces/{ws}/flows", {"title": "probe run", "graph": graph},
                        token=ctx.owner(tenant))
    assert flow.status == 201, flow.body
    return ws, flow.body["id"]


def run_factory(ctx: Any, tenant: str) -> str:
    ws, flow_id = _tenant_flow(ctx, tenant, chain_graph(1))
    run = ctx.api.post(f"/api/workspaces/{ws}/flows/{flow_id}/runs", {}, token=ctx.owner(tenant))
    assert run.status == 202, run.body
    return run.body["id"]


def quarantine_factory(ctx: Any, tenant: str) -> str:
    """A run whose HTTP step cannot connect (a closed loopback port) and has one attempt: quarantined."""
    graph = {"nodes": [node("start", "start"),
                       node("call", "http_request", url="http://127.0.0.1:9/", retry={"max_attempts": 1}),
                       node("end", "end")],
             "edges": [edge("start", "call"), edge("call", "end")]}
    ws, flow_id = _tenant_flow(ctx, tenant, graph)
    run = ctx.api.post(f"/api/workspaces/{ws}/flows/{flow_id}/runs", {}, token=ctx.owner(tenant))
    assert run.status == 202, run.body
    tenant_id = ctx.tokens.ids(tenant)["tenant_id"]
    drive(tenant_id, run.body["id"])
    items = ctx.api.get(f"/api/workspaces/{ws}/quarantine?run_id={run.body['id']}", token=ctx.owner(tenant))
    assert items.status == 200 and items.body["items"], items.body
    return items.body["items"][0]["id"]
