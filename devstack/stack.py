"""Bringing the local platform's dependencies up: PostgreSQL, the AWS emulator, schema.

One code path for ``make up`` (persistent, fixed ports) and the tests
(throwaway, free ports): each returns the environment the app reads.
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
LOCAL_DIR = ROOT / ".local"


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
    try:
        from chalicelib.identity.tokens import generate_keyset_json
    except ImportError:  # identity not built yet: no key set
        return ""
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
    """Start (or reuse) PostgreSQL and the AWS emulator, provision, migrate."""
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
            cluster = postgres.persistent(ROOT, pg_port or 54320)
        stack.cluster = cluster
        env["DATABASE_URL"] = cluster.url(postgres.APP_ROLE)
        env["MIGRATION_DATABASE_URL"] = cluster.url(postgres.OWNER_ROLE)
        where = "throwaway" if throwaway else str(cluster.datadir.relative_to(ROOT))
        stack.started.append(f"PostgreSQL      127.0.0.1:{cluster.port} ({where}, binaries {cluster.bindir})")

    if os.environ.get("AWS_ENDPOINT_URL"):
        env["AWS_ENDPOINT_URL"] = os.environ["AWS_ENDPOINT_URL"]
        stack.started.append(f"AWS emulation   {env['AWS_ENDPOINT_URL']} (AWS_ENDPOINT_URL)")
    else:
        port = moto_port or postgres.free_port()
        stack.moto = aws.start_moto(port)
        env["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{port}"
        stack.started.append(f"AWS emulation   {env['AWS_ENDPOINT_URL']} (embedded moto server)")
    env.setdefault("AWS_ACCESS_KEY_ID", os.environ.get("AWS_ACCESS_KEY_ID", "testing"))
    env.setdefault("AWS_SECRET_ACCESS_KEY", os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"))
    os.environ.update({k: v for k, v in env.items() if k.startswith("AWS_")})

    provisioned = aws.provision(
        endpoint_url=env["AWS_ENDPOINT_URL"], region=region, step_queue=env["STEP_QUEUE_NAME"],
        dlq=env["STEP_DLQ_NAME"], kms_alias=env["KMS_KEY_ALIAS"],
    )
    stack.started.append(f"Step queue      {provisioned.step_queue_url} (DLQ {env['STEP_DLQ_NAME']})")
    stack.started.append(f"KMS key         {env['KMS_KEY_ALIAS']} → {provisioned.kms_key_id}")

    for name, value in local_secrets(None if throwaway else LOCAL_DIR / "secrets.json").items():
        if value and not os.environ.get(name):
            env[name] = value
        elif os.environ.get(name):
            env[name] = os.environ[name]

    run_migrations(env["MIGRATION_DATABASE_URL"])
    stack.started.append("Migrations      at head")
    return stack
