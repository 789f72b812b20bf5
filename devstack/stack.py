"""Bringing the local platform's dependencies up: PostgreSQL, the AWS emulator, schema.

One code path for ``make up`` (persistent, fixed ports) and the tests
(throwaway, free ports): each returns the environment the app reads.

What wraps stored secrets must outlive a restart. The embedded emulator
lives inside the ``make up`` process and forgets its KMS keys when it stops,
so the persistent embedded stack does not use its KMS: data keys are wrapped
by the local master key kept in ``.local/secrets.json``. With LocalStack or
AWS (``AWS_ENDPOINT_URL`` set) the KMS key is used, and the local key still
decrypts what it sealed before (re-wrapped at the next start, see
``secrets_box.rewrap_all``). The tests' throwaway stacks keep using the
emulator's KMS, which lives as long as they do.

``make seed``, ``make reset`` and ``make migrate`` act beside a running
``make up`` (:func:`attach`): they use its database and key settings, need no
emulator, and never stop a server they did not start.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack import aws, postgres

ROOT = Path(__file__).resolve().parent.parent
STATE_FILE = "stack.json"


def local_dir() -> Path:
    """Where the persistent stack keeps its data (``.local``; ``STEPLINE_LOCAL_DIR`` moves it)."""
    return Path(os.environ.get("STEPLINE_LOCAL_DIR") or ROOT / ".local")


def run_migrations(owner_url: str) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["url"] = owner_url
    command.upgrade(config, "heads")


def local_secrets(path: Path | None) -> dict[str, str]:
    """Development secrets, generated once and kept in ``.local/secrets.json`` (ignored by git)."""
    stored: dict[str, str] = {}
    if path and path.exists():
        stored = json.loads(path.read_text())
    changed = False
    for name, make in _SECRET_MAKERS.items():
        if not stored.get(name):
            stored[name] = make()
            changed = True
    if path and changed:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(stored, indent=2))
        os.chmod(path, 0o600)
    return stored


def _jwt_keys() -> str:
    # Loaded only when a key set is first made: every devstack command imports this module.
    from chalicelib.identity.tokens import generate_keyset_json

    return generate_keyset_json("local-1")


_SECRET_MAKERS: dict[str, Callable[[], str]] = {
    "JWT_KEYS": _jwt_keys,
    "LOCAL_MASTER_KEY": lambda: secrets.token_urlsafe(32),
    "STATE_SIGNING_KEY": lambda: secrets.token_urlsafe(32),
    "OPERATOR_TOKEN": lambda: "op_" + secrets.token_urlsafe(24),
}


@dataclass
class Stack:
    """What was started, and the environment that points the app at it."""

    env: dict[str, str]
    cluster: postgres.Cluster | None = None
    moto: Any = None
    started: list[str] = field(default_factory=list)

    def apply(self) -> None:
        os.environ.update(self.env)

    def stop(self, *, destroy_database: bool = False) -> None:
        if self.moto is not None:
            self.moto.stop()
        if self.cluster is not None:
            if destroy_database:
                self.cluster.destroy()
            else:
                self.cluster.stop()


def bring_up(
    *,
    throwaway: bool,
    pg_port: int | None = None,
    moto_port: int | None = None,
    log: Callable[[str], None] = print,
) -> Stack:
    """Start (or reuse) PostgreSQL and, when an AWS service is used, the AWS emulator; provision, migrate."""
    env: dict[str, str] = {}
    stack = Stack(env=env)
    env["STEP_QUEUE_NAME"] = os.environ.get("STEP_QUEUE_NAME", "stepline-steps")
    env["STEP_DLQ_NAME"] = os.environ.get("STEP_DLQ_NAME", "stepline-steps-dlq")
    env["KMS_KEY_ALIAS"] = os.environ.get("KMS_KEY_ALIAS", "alias/stepline-connections")
    region = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
    env["AWS_DEFAULT_REGION"] = region

    if os.environ.get("DATABASE_URL"):
        env["DATABASE_URL"] = os.environ["DATABASE_URL"]
        env["MIGRATION_DATABASE_URL"] = os.environ.get("MIGRATION_DATABASE_URL", os.environ["DATABASE_URL"])
        stack.started.append("PostgreSQL      using DATABASE_URL")
    else:
        if throwaway:
            cluster = postgres.throwaway()
        else:
            cluster = postgres.persistent(local_dir(), pg_port or 54320)
        stack.cluster = cluster
        env["DATABASE_URL"] = cluster.url(postgres.APP_ROLE)
        env["MIGRATION_DATABASE_URL"] = cluster.url(postgres.OWNER_ROLE)
        where = "throwaway" if throwaway else _shown(cluster.datadir)
        stack.started.append(f"PostgreSQL      127.0.0.1:{cluster.port} ({where}, binaries {cluster.bindir})")

    embedded = not os.environ.get("AWS_ENDPOINT_URL")
    if embedded and not throwaway and os.environ.get("STEP_QUEUE_BACKEND") == "postgres":
        # `make up`: the step queue is a table and the persisted local master key wraps secrets, so no
        # AWS service is used and no emulator runs (one process and ~60 MB fewer). The throwaway stacks
        # of the browser tests keep the emulator for its KMS.
        env.update({"AWS_ENDPOINT_URL": "", "KMS_KEY_ALIAS": ""})
        stack.started.append(f"Step queue      embedded: PostgreSQL table step_queue_messages "
                             f"({env['STEP_QUEUE_NAME']}, DLQ {env['STEP_DLQ_NAME']}); no AWS emulation needed")
        stack.started.append(f"Key wrapping    local master key ({_shown(local_dir() / 'secrets.json')}), "
                             "kept across restarts")
    else:
        _bring_up_aws(stack, env, region=region, embedded=embedded, throwaway=throwaway, moto_port=moto_port)
    _add_local_secrets(env, None if throwaway else local_dir() / "secrets.json")
    run_migrations(env["MIGRATION_DATABASE_URL"])
    stack.started.append("Migrations      at head")
    return stack


def _bring_up_aws(stack: Stack, env: dict[str, str], *, region: str, embedded: bool, throwaway: bool,
                  moto_port: int | None) -> None:
    """The AWS side: the given endpoint (LocalStack, AWS) or the embedded emulator; queues and key provisioned."""
    if not embedded:
        env["AWS_ENDPOINT_URL"] = os.environ["AWS_ENDPOINT_URL"]
        stack.started.append(f"AWS emulation   {env['AWS_ENDPOINT_URL']} (AWS_ENDPOINT_URL)")
    else:
        port = moto_port or postgres.free_port()
        stack.moto = aws.MotoProcess(port)
        env["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{port}"
        stack.started.append(f"AWS emulation   {env['AWS_ENDPOINT_URL']} (embedded moto server, "
                             f"process {stack.moto.pid})")
    env.setdefault("AWS_ACCESS_KEY_ID", os.environ.get("AWS_ACCESS_KEY_ID", "testing"))
    env.setdefault("AWS_SECRET_ACCESS_KEY", os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"))
    os.environ.update({k: v for k, v in env.items() if k.startswith("AWS_")})

    if embedded and not throwaway:
        env["KMS_KEY_ALIAS"] = ""  # the emulator's keys die with it: the persisted local master key wraps
    provisioned = aws.provision(
        endpoint_url=env["AWS_ENDPOINT_URL"], region=region, step_queue=env["STEP_QUEUE_NAME"],
        dlq=env["STEP_DLQ_NAME"], kms_alias=env["KMS_KEY_ALIAS"] or None,
    )
    stack.started.append(f"Step queue      {provisioned.step_queue_url} (DLQ {env['STEP_DLQ_NAME']})")
    if provisioned.kms_key_id:
        stack.started.append(f"KMS key         {env['KMS_KEY_ALIAS']} → {provisioned.kms_key_id}")
    else:
        stack.started.append(f"Key wrapping    local master key ({_shown(local_dir() / 'secrets.json')}), "
                             "kept across restarts")


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def _add_local_secrets(env: dict[str, str], path: Path | None) -> None:
    for name, value in local_secrets(path).items():
        if value and not os.environ.get(name):
            env[name] = value
        elif os.environ.get(name):
            env[name] = os.environ[name]


# -- beside a running `make up` ----------------------------------------------------------------

def write_state(*, port: int, env: dict[str, str]) -> Path:
    """Record the running stack (its pid, ports and key settings) for the other commands."""
    path = local_dir() / STATE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {"pid": os.getpid(), "port": port, "aws_endpoint_url": env.get("AWS_ENDPOINT_URL", ""),
             "embedded_aws": env.get("KMS_KEY_ALIAS", "x") == "", "kms_key_alias": env.get("KMS_KEY_ALIAS", ""),
             "region": env.get("AWS_DEFAULT_REGION", "")}
    path.write_text(json.dumps(state, indent=2))
    return path


def clear_state() -> None:
    path = local_dir() / STATE_FILE
    try:
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass


def running_state() -> dict[str, Any] | None:
    """The state of a ``make up`` whose process is alive, else ``None``."""
    try:
        state = json.loads((local_dir() / STATE_FILE).read_text())
        os.kill(int(state["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return state if state["pid"] != os.getpid() else None


def attach(*, pg_port: int, log: Callable[[str], None] = print) -> Stack:
    """The database and key settings for ``seed``/``reset``/``migrate``; no AWS emulator is started.

    The local cluster is reused when it runs (beside ``make up``, on whatever port it
    listens) and started otherwise; only a cluster started here is stopped by
    :meth:`Stack.stop`. Secrets are sealed the way the running stack reads them: the
    persisted local master key, or the KMS key of the LocalStack it was started with.
    """
    env: dict[str, str] = {}
    stack = Stack(env=env)
    running = running_state()
    if os.environ.get("DATABASE_URL"):
        env["DATABASE_URL"] = os.environ["DATABASE_URL"]
        env["MIGRATION_DATABASE_URL"] = os.environ.get("MIGRATION_DATABASE_URL", os.environ["DATABASE_URL"])
    else:
        cluster = postgres.Cluster(datadir=local_dir() / "postgres" / "data", port=pg_port)
        port = cluster.running_port()
        if port is not None:
            cluster.port = port
            log(f"Using the running PostgreSQL on 127.0.0.1:{port}"
                + (f" (make up, pid {running['pid']})" if running else ""))
        else:
            cluster.init()
            cluster.start()
            stack.cluster = cluster  # started here: stopped when done
        cluster.ensure_database()
        env["DATABASE_URL"] = cluster.url(postgres.APP_ROLE)
        env["MIGRATION_DATABASE_URL"] = cluster.url(postgres.OWNER_ROLE)
    aws_url = os.environ.get("AWS_ENDPOINT_URL") or ((running or {}).get("aws_endpoint_url")
                                                     if running and not running.get("embedded_aws") else "")
    if aws_url:
        env["AWS_ENDPOINT_URL"] = aws_url
        env["KMS_KEY_ALIAS"] = os.environ.get("KMS_KEY_ALIAS") or (running or {}).get("kms_key_alias") \
            or "alias/stepline-connections"
        env.setdefault("AWS_ACCESS_KEY_ID", os.environ.get("AWS_ACCESS_KEY_ID", "testing"))
        env.setdefault("AWS_SECRET_ACCESS_KEY", os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"))
    else:
        env["KMS_KEY_ALIAS"] = ""
        env["AWS_ENDPOINT_URL"] = ""
    env["AWS_DEFAULT_REGION"] = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
    _add_local_secrets(env, local_dir() / "secrets.json")
    run_migrations(env["MIGRATION_DATABASE_URL"])
    return stack
