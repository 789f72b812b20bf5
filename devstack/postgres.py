"""A local PostgreSQL cluster from the machine's binaries (Debian's ``postgresql``).

Used by ``make up`` (a persistent cluster under ``.local/pgdata``) and by the
tests (a throwaway cluster in a temporary folder, ``fsync=off``).

PostgreSQL refuses to run as root, so when we are root every server binary runs
as the ``postgres`` system user (created by the Debian package). When the
binaries are missing and we are root, the Debian package is installed.

Two roles are created: ``stepline_owner`` owns the database and runs the
migrations; ``stepline_app`` is what the application connects as — it owns no
table and has no ``BYPASSRLS``, so row-level security applies to it.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pg8000.native

OWNER_ROLE = "stepline_owner"
APP_ROLE = "stepline_app"
DEFAULT_PASSWORDS = {OWNER_ROLE: "stepline-owner-local", APP_ROLE: "stepline-app-local"}
DATABASE = "stepline"


class PostgresSetupError(RuntimeError):
    """The local cluster could not be prepared; the message says what to do."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _find_bindir() -> Path | None:
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0,
    )
    if candidates:
        return Path(candidates[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def ensure_binaries(log: Callable[[str], object] = print) -> Path:
    """The directory of ``initdb``/``pg_ctl``; installs Debian's package when absent."""
    bindir = _find_bindir()
    if bindir:
        return bindir
    if os.geteuid() != 0:
        raise PostgresSetupError(
            "PostgreSQL server binaries not found. Install them (Debian: sudo apt-get install -y "
            "postgresql) or set DATABASE_URL to an existing server."
        )
    log("installing PostgreSQL (apt-get install postgresql) …")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "postgresql"],
                   check=True, env=env)
    bindir = _find_bindir()
    if not bindir:
        raise PostgresSetupError("apt-get installed postgresql but initdb was not found")
    return bindir


def _run_as_user() -> str | None:
    """The user to run server binaries as (``postgres`` when we are root)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        subprocess.run(["useradd", "--system", "--home-dir", "/var/lib/postgresql", "--shell", "/bin/false",
                        "postgres"], check=True)
    return "postgres"


def _ensure_traversable(path: Path, user: str | None) -> None:
    """Let the server user reach ``path``: add search (x) permission to ancestors lacking it."""
    if user is None:
        return
    for parent in list(path.resolve().parents)[::-1]:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            os.chmod(parent, mode | stat.S_IXOTH)


@dataclass
class Cluster:
    """One PostgreSQL cluster on 127.0.0.1."""

    datadir: Path
    port: int
    throwaway: bool = False
    passwords: dict[str, str] | None = None

    def __post_init__(self) -> None:
        self.bindir = ensure_binaries()
        self.user = _run_as_user()
        self.sockdir = self.datadir.parent / "run"
        self.logfile = self.datadir.parent / "postgres.log"
        self.passwords = self.passwords or dict(DEFAULT_PASSWORDS)

    # -- process control -------------------------------------------------
    def _cmd(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        argv = [str(self.bindir / args[0]), *args[1:]]
        if self.user:
            argv = ["runuser", "-u", self.user, "--", *argv]
        return subprocess.run(argv, check=check, capture_output=True, text=True, cwd="/")

    def _chown(self, path: Path) -> None:
        if self.user:
            info = pwd.getpwnam(self.user)
            os.chown(path, info.pw_uid, info.pw_gid)

    def initialized(self) -> bool:
        return (self.datadir / "PG_VERSION").exists()

    def init(self) -> None:
        base = self.datadir.parent
        base.mkdir(parents=True, exist_ok=True)
        _ensure_traversable(base, self.user)
        for path in (base, self.sockdir):
            path.mkdir(parents=True, exist_ok=True)
            self._chown(path)
        if not self.initialized():
            self.datadir.mkdir(exist_ok=True)
            os.chmod(self.datadir, 0o700)
            self._chown(self.datadir)
            args = ["initdb", "-D", str(self.datadir), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                    "--locale=C.UTF-8"]
            if self.throwaway:
                args.append("--no-sync")
            result = self._cmd(*args, check=False)
            if result.returncode != 0:
                raise PostgresSetupError(f"initdb failed: {result.stderr.strip()[-500:]}")

    def running(self) -> bool:
        return self._cmd("pg_ctl", "-D", str(self.datadir), "status", check=False).returncode == 0

    def running_port(self) -> int | None:
        """The port of the server running on this data directory (``postmaster.pid``), if any."""
        try:
            lines = (self.datadir / "postmaster.pid").read_text().splitlines()
            return int(lines[3]) if self.running() else None
        except (OSError, IndexError, ValueError):
            return None

    def start(self) -> None:
        if self.running():
            return
        options = f"-p {self.port} -k {self.sockdir} -c listen_addresses=127.0.0.1 -c max_connections=200"
        if self.throwaway:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        if not self.logfile.exists():
            self.logfile.touch()
        self._chown(self.logfile)
        result = self._cmd("pg_ctl", "-D", str(self.datadir), "-l", str(self.logfile), "-w", "-t", "60",
                           "-o", options, "start", check=False)
        if result.returncode != 0:
            tail = self.logfile.read_text(errors="replace")[-800:] if self.logfile.exists() else ""
            raise PostgresSetupError(f"PostgreSQL did not start: {result.stderr.strip()} {tail}")

    def stop(self) -> None:
        if self.datadir.exists() and self.running():
            self._cmd("pg_ctl", "-D", str(self.datadir), "-m", "fast", "-w", "stop", check=False)

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.datadir.parent, ignore_errors=True)

    # -- roles and database ---------------------------------------------
    def _superuser(self, database: str = "postgres") -> pg8000.native.Connection:
        deadline = time.monotonic() + 20
        while True:
            try:
                return pg8000.native.Connection("postgres", host="127.0.0.1", port=self.port, database=database)
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def ensure_database(self) -> None:
        """Create the two roles and the database (idempotent)."""
        assert self.passwords is not None
        conn = self._superuser()
        try:
            for role, attrs in ((OWNER_ROLE, "LOGIN"), (APP_ROLE, "LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB")):
                exists = conn.run("SELECT 1 FROM pg_roles WHERE rolname = :r", r=role)
                verb = "ALTER" if exists else "CREATE"
                # Role names are constants; the password is a literal PostgreSQL cannot bind.
                password = self.passwords[role].replace("'", "''")
                conn.run(f"{verb} ROLE {role} {attrs} PASSWORD '{password}'")
            if not conn.run("SELECT 1 FROM pg_database WHERE datname = :d", d=DATABASE):
                conn.run(f"CREATE DATABASE {DATABASE} OWNER {OWNER_ROLE}")
        finally:
            conn.close()
        conn = self._superuser(DATABASE)
        try:
            conn.run(f"ALTER SCHEMA public OWNER TO {OWNER_ROLE}")
            conn.run("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
            conn.run(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}")
        finally:
            conn.close()

    def url(self, role: str = APP_ROLE) -> str:
        assert self.passwords is not None
        return f"postgresql+pg8000://{role}:{self.passwords[role]}@127.0.0.1:{self.port}/{DATABASE}"

    def superuser_url(self) -> str:
        return f"postgresql+pg8000://postgres@127.0.0.1:{self.port}/{DATABASE}"


def persistent(local_dir: Path, port: int) -> Cluster:
    """The ``make up`` cluster: data kept under ``.local/postgres`` across restarts.

    When it is already running (a running ``make up``, or one killed without
    stopping it) it is reused on the port it runs on.
    """
    cluster = Cluster(datadir=local_dir / "postgres" / "data", port=port)
    cluster.init()
    cluster.port = cluster.running_port() or port
    cluster.start()
    cluster.ensure_database()
    return cluster


def throwaway() -> Cluster:
    """A fresh cluster for one test session; call :meth:`Cluster.destroy` afterwards."""
    base = Path(tempfile.mkdtemp(prefix="stepline-pg-"))
    cluster = Cluster(datadir=base / "data", port=free_port(), throwaway=True)
    cluster.init()
    cluster.start()
    cluster.ensure_database()
    return cluster
