"""``python -m devstack up`` as a real process, as a developer runs it, for restart and fault tests.

Each harness has its own data directory (``STEPLINE_LOCAL_DIR``) and free
ports, so it never touches the developer's ``.local`` nor another test run.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from devstack import postgres
from devstack.postgres import free_port

ROOT = Path(__file__).resolve().parents[3]
# What the test session put into os.environ for its own throwaway stack; the child decides its own.
_SESSION_ONLY = {"DATABASE_URL", "MIGRATION_DATABASE_URL", "AWS_ENDPOINT_URL", "KMS_KEY_ALIAS", "STEP_QUEUE_NAME",
                 "STEP_DLQ_NAME", "LOCAL_MASTER_KEY", "JWT_KEYS", "STATE_SIGNING_KEY", "OPERATOR_TOKEN", "STAGE",
                 "PORT", "STEPLINE_PG_PORT", "STEPLINE_MOTO_PORT", "DB_POOL_SIZE",
                 "STEP_BATCH_CONCURRENCY"}


class StackProcess:
    def __init__(self, **env: str) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="stepline-stack-"))
        os.chmod(self.dir, 0o755)
        self.port, self.pg_port, self.moto_port = free_port(), free_port(), free_port()
        self.extra_env = env
        self.process: subprocess.Popen | None = None
        self.log = self.dir / "stack.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _SESSION_ONLY}
        env.update({"STEPLINE_LOCAL_DIR": str(self.dir / "local"), "PASSWORD_PROFILE": "fast",
                    "LOG_LEVEL": "WARNING", "LOG_FORMAT": "json", "PORT": str(self.port),
                    "STEPLINE_PG_PORT": str(self.pg_port), "STEPLINE_MOTO_PORT": str(self.moto_port),
                    **self.extra_env})
        return env

    def start(self, timeout: float = 180.0) -> float:
        """Start ``devstack up``; returns the seconds until ``/health`` answered 200."""
        started = time.monotonic()
        with self.log.open("ab") as out:
            self.process = subprocess.Popen([sys.executable, "-m", "devstack", "up"], cwd=ROOT,
                                            env=self.env(), stdout=out, stderr=subprocess.STDOUT)
        deadline = started + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"devstack up exited {self.process.returncode}: {self.tail()}")
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return time.monotonic() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"devstack up did not become healthy: {self.tail()}")

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def kill(self) -> None:
        """``kill -9`` of the stack's process (PostgreSQL, a separate server, keeps running)."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(30)
        self.process = None

    def stop(self) -> None:
        """A graceful stop (what Ctrl-C does)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(90)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(30)
        self.process = None

    def cluster(self) -> postgres.Cluster:
        return postgres.Cluster(datadir=self.dir / "local" / "postgres" / "data", port=self.pg_port)

    def postgres_pids(self) -> list[int]:
        """The postmaster and its children (backends, background workers)."""
        pid_file = self.dir / "local" / "postgres" / "data" / "postmaster.pid"
        master = int(pid_file.read_text().splitlines()[0])
        pids = [master]
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                if int(stat[stat.rindex(")") + 2:].split()[1]) == master:
                    pids.append(int(entry.name))
        return pids

    def devstack(self, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
        """Another ``python -m devstack …`` command beside the running stack (same checkout and data)."""
        return subprocess.run([sys.executable, "-m", "devstack", *args], cwd=ROOT, env=self.env(),
                              capture_output=True, text=True, timeout=timeout)

    def destroy(self) -> None:
        self.stop()
        keep = os.environ.get("STEPLINE_STACK_LOG")  # where to keep the stack's log (debugging a failure)
        if keep and self.log.exists():
            shutil.copy(self.log, keep)
        try:
            self.cluster().stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


class Client:
    """A logged-in demo user of the stack, over HTTP."""

    def __init__(self, stack: StackProcess, role: str = "builder", tenant: str = "acme") -> None:
        from chalicelib.services import demo

        self.stack = stack
        self.http = httpx.Client(base_url=stack.url, timeout=30, trust_env=False)
        reply = self.http.post("/auth/login", json={"email": demo.demo_email(role, tenant),
                                                    "password": demo.DEMO_PASSWORD})
        assert reply.status_code == 200, reply.text
        self.http.headers["authorization"] = f"Bearer {reply.json()['access_token']}"
        me = self.http.get("/api/me").json()
        self.ws = {w["name"]: w["id"] for w in me["workspaces"]}["Operations"]

    def call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return self.http.request(method, path, **kw)

    def close(self) -> None:
        self.http.close()
