"""Wires the Chalice app's functions to local event sources.

Reads the app's own declarations (``app.event_sources``), so a new
``on_sqs_message`` queue or ``schedule`` is picked up with no change here.
"""

from __future__ import annotations

import contextlib
import importlib
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import boto3
from chalice.app import ScheduledEventConfig, ScheduleExpression, SQSEventConfig

from chalicelib.adapters.pg_queue import PostgresQueueReceiver, PostgresStepQueue
from chalicelib.config import get_settings
from chalicelib.container import current
from chalicelib.db.database_engine import get_db_engine
from chalicelib.observability import logger
from chalicelib.services.workflows import sweeper
from chalicelib.services.workflows import workers as worker_registry
from devstack.aws import MAX_RECEIVE_COUNT, VISIBILITY_TIMEOUT_S, die_with_parent
from devstack.console_files import ConsoleFiles
from devstack.gateway import GatewayProcesses, GatewayServer
from devstack.poller import QueuePoller, SqsSubscription
from devstack.scheduler import Scheduler, ScheduleSubscription

HEARTBEAT_SECONDS = 2.0


def subscriptions(app_module: ModuleType) -> tuple[list[SqsSubscription], list[ScheduleSubscription]]:
    sqs_subs: list[SqsSubscription] = []
    schedule_subs: list[ScheduleSubscription] = []
    for source in app_module.app.event_sources:
        handler = getattr(app_module, source.handler_string.split(".", 1)[1])
        if isinstance(source, SQSEventConfig):
            sqs_subs.append(SqsSubscription(source.name, str(source.queue), source.batch_size, handler))
        elif isinstance(source, ScheduledEventConfig):
            expr = source.schedule_expression
            text = expr.to_string() if isinstance(expr, ScheduleExpression) else str(expr)
            schedule_subs.append(ScheduleSubscription(source.name, text, handler))
    return sqs_subs, schedule_subs


@dataclass
class LocalRuntime:
    """The HTTP gateway, one poller per queue and the scheduler, started and stopped together."""

    endpoint_url: str | None
    region: str
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 4
    schedule_speedup: float = 1.0
    serve_http: bool = True
    app_module_name: str = "app"
    console: ConsoleFiles | None = None
    # > 0: the HTTP API is served by this many processes of its own (``devstack/gateway.py``) instead of threads of
    # this one.
    api_processes: int = 0
    gateway: GatewayServer | GatewayProcesses | None = None
    pollers: list[QueuePoller] = field(default_factory=list)
    scheduler: Scheduler | None = None
    # At start: register as a worker that beats, take over the steps of dead workers (a previous run
    # of this stack killed mid-step) and ring every due queued step (services/workflows/sweeper.recover).
    recover: bool = True
    # Only register and beat (a worker process whose parent runtime did the taking over).
    take_over: bool = True
    schedules: bool = True
    # > 0: the queue pollers run in this many child processes (``python -m devstack.worker``), each with
    # ``workers`` pollers, instead of in this process: the step function scales apart from the API, as the
    # two Lambda functions do on AWS, and neither waits on the other's interpreter lock.
    worker_processes: int = 0
    # Long polling: an idle poller asks the queue this often (a receive returns as soon as a message is there).
    poll_wait_seconds: int = 1
    children: list[subprocess.Popen[bytes]] = field(default_factory=list)
    recovery: dict[str, int] = field(default_factory=dict)
    _beating: threading.Event = field(default_factory=threading.Event)
    _beat_thread: threading.Thread | None = None
    _queue: Any = None

    def start(self) -> LocalRuntime:
        module = importlib.import_module(self.app_module_name)
        sqs_subs, schedule_subs = subscriptions(module)
        sqs = self._queue = self._queue_client()
        # Worker processes start (import the app) while this one recovers; the API serves once they poll.
        self.children = [self._spawn_worker() for _ in range(self.worker_processes)]
        if self.recover:
            if self.take_over:
                self.recovery = sweeper.recover()
            else:
                worker_registry.register()
            self._beat_thread = threading.Thread(target=self._beat, name="runtime-heartbeat", daemon=True)
            self._beat_thread.start()
        for child in self.children:
            self._wait_ready(child)
        if self.serve_http and self.api_processes > 0:
            self.gateway = GatewayProcesses(self.api_processes, app_module_name=self.app_module_name, host=self.host,
                                            port=self.port, console=self.console).start()
        elif self.serve_http:
            self.gateway = GatewayServer(module.app, self.host, self.port, console=self.console).start()
        if not self.children:
            for sub in sqs_subs:
                self.pollers.append(QueuePoller(sqs, sub, region=self.region, workers=self.workers,
                                                wait_seconds=self.poll_wait_seconds).start())
        if self.schedules:
            self.scheduler = Scheduler(schedule_subs, region=self.region, speedup=self.schedule_speedup).start()
        return self

    def _queue_client(self) -> Any:
        """What the pollers receive from: SQS (the emulator, LocalStack), or the embedded PostgreSQL queue."""
        settings = get_settings()
        if settings.step_queue_backend != "postgres":
            return boto3.session.Session().client("sqs", region_name=self.region, endpoint_url=self.endpoint_url)
        sender = current().step_queue()
        return PostgresQueueReceiver(settings.step_queue_name, get_db_engine, visibility_timeout=VISIBILITY_TIMEOUT_S,
                                     max_receive_count=MAX_RECEIVE_COUNT, dead_letter_queue=settings.step_dlq_name,
                                     region=self.region,
                                     woken_by=sender.sent if isinstance(sender, PostgresStepQueue) else None)

    def _spawn_worker(self) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "devstack.worker", "--region", self.region, "--workers", str(self.workers),
                   "--app", self.app_module_name]
        if self.endpoint_url:
            command += ["--endpoint-url", self.endpoint_url]
        return subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, preexec_fn=die_with_parent)

    @staticmethod
    def _wait_ready(child: subprocess.Popen[bytes]) -> None:
        """Until the child prints ``ready`` (what it printed before is passed on to this process's output)."""
        assert child.stdout is not None
        for line in iter(child.stdout.readline, b""):
            if line.startswith(b"ready"):
                return
            sys.stdout.buffer.write(line)
            sys.stdout.flush()
        child.kill()
        raise RuntimeError(f"a step worker process did not start (exit status {child.wait()})")

    def describe(self) -> list[str]:
        lines = []
        if self.gateway:
            where = f", {len(self.gateway.pids)} processes" if isinstance(self.gateway, GatewayProcesses) else ""
            lines.append(f"HTTP API        {self.gateway.url}  (routes of app.py{where})")
            if self.console is not None:
                state = "" if self.console.built else "  (not built: make console)"
                lines.append(f"Web console     {self.gateway.url}/{state}")
        for poller in self.pollers:
            lines.append(f"Queue poller    {poller.sub.queue_name} → {poller.sub.name}() "
                         f"× {poller.workers} workers, batch {poller.sub.batch_size}")
        if self.children:
            lines.append(f"Step workers    {len(self.children)} processes "
                         f"({', '.join(str(c.pid) for c in self.children)}) × {self.workers} pollers each")
        if self.scheduler:
            for sub in self.scheduler.subs:
                lines.append(f"Schedule        {sub.expression} → {sub.name}()")
        if self.recover:
            lines.append(f"Recovery        {self.recovery.get('requeued', 0)} interrupted step(s) taken over, "
                         f"{self.recovery.get('rung', 0)} queued step(s) rung again")
        return lines

    def _beat(self) -> None:
        """Beat; the runtime that takes over (the API process) also takes over dead workers' steps at once.

        At start-up the step workers of a killed stack may still be dying (``PR_SET_PDEATHSIG`` is
        delivered asynchronously): the start's recovery then sees them alive. Looking again with every
        beat takes their steps over within seconds of their end, as it does for a worker process that
        dies on its own while the stack runs — not a lease or a sweep later.
        """
        while not self._beating.wait(HEARTBEAT_SECONDS):
            try:
                worker_registry.beat()
                if self.take_over:
                    sweeper.reclaim_abandoned()
            except Exception as exc:  # the database may be away for a while; keep beating
                logger.warning("runtime heartbeat failed", extra={"error_type": type(exc).__name__})

    def stop(self) -> None:
        if self.scheduler:
            self.scheduler.stop()
        for poller in self.pollers:
            poller._stop.set()
        for poller in self.pollers:
            poller.stop()
        if isinstance(self._queue, PostgresQueueReceiver):
            self._queue.close()  # the deletes still pending
        for child in self.children:  # each stops its pollers (finishing the batch in hand) when stdin closes
            with contextlib.suppress(OSError):
                child.stdin.close()  # type: ignore[union-attr]
        for child in self.children:
            try:
                child.wait(timeout=60)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        self.children = []
        if self.gateway:
            self.gateway.stop()
        if self._beat_thread is not None:
            self._beating.set()
            self._beat_thread.join(timeout=5)
            self._beat_thread = None
            try:
                worker_registry.unregister()
            except Exception:  # noqa: BLE001  (best effort: a silent worker is found dead anyway)
                pass

    def stats(self) -> dict[str, Any]:
        return {
            "sqs_invocations": {p.sub.name: p.invocations for p in self.pollers},
            "schedules_fired": dict(self.scheduler.fired) if self.scheduler else {},
        }
