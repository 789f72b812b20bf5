"""The application's database role and the schema migrations, run as the owner role."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import create_engine, pool, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from chalicelib.db.database_engine import connect_args

# The package root: /var/task on Lambda, the checkout locally (alembic.ini and migrations/ sit there).
PACKAGE_ROOT = Path(__file__).resolve().parent.parent.parent
_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class RoleSetupFailed(Exception):
    """The application role could not be created or updated (the statement is never echoed: it holds a password)."""


def ensure_app_role(owner_url: str, app_url: str, *, tls: bool) -> str:
    """Create or update the login role of ``app_url`` with its password, and give it DML on the schema."""
    app = make_url(app_url)
    role, password = app.username or "", app.password or ""
    if not _ROLE_NAME.match(role):
        raise RoleSetupFailed("The application role's name must be a lower-case SQL identifier.")
    db_engine = create_engine(owner_url, poolclass=pool.NullPool, connect_args=connect_args(tls=tls))
    literal = "'" + str(password).replace("'", "''") + "'"  # PostgreSQL cannot bind a password
    try:
        with db_engine.begin() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first()
            if exists:  # naming SUPERUSER-class attributes at all would need a superuser (RDS has none)
                conn.exec_driver_sql(f'ALTER ROLE "{role}" LOGIN PASSWORD {literal}')
            else:
                conn.exec_driver_sql(
                    f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD {literal}'
                )
            database = conn.execute(text("SELECT current_database()")).scalar_one()
            conn.exec_driver_sql(f'GRANT CONNECT ON DATABASE "{database}" TO "{role}"')
            conn.exec_driver_sql(f'GRANT USAGE ON SCHEMA public TO "{role}"')
            conn.exec_driver_sql(f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{role}"')
            conn.exec_driver_sql(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{role}"')
    except DBAPIError as exc:
        code = _sqlstate(exc)
        raise RoleSetupFailed(f"Could not create or update role {role!r} (SQLSTATE {code}).") from None
    finally:
        db_engine.dispose()
    return role


def _sqlstate(exc: DBAPIError) -> str:
    detail = exc.orig.args[0] if exc.orig is not None and exc.orig.args else None
    return str(detail.get("C", "?")) if isinstance(detail, dict) else "?"


def _alembic_config(owner_url: str, *, tls: bool):
    from alembic.config import Config

    config = Config(str(PACKAGE_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PACKAGE_ROOT / "migrations"))
    config.attributes["url"] = owner_url
    config.attributes["tls"] = tls
    return config


def upgrade(owner_url: str, *, tls: bool, revision: str = "heads") -> str | None:
    """Bring the schema to ``revision`` (idempotent: at head it does nothing); the revision reached.

    A database already at a revision this package does not know is *ahead*: a
    previous release is being redeployed (rollback). Migrations are written
    expand-then-contract, so the older code runs on the newer schema; nothing
    is changed and the deployment goes on. Stepping the schema back is an
    explicit operator action (``downgrade``, run by the newer release).
    """
    from alembic import command

    if is_ahead(owner_url, tls=tls):
        return current(owner_url, tls=tls)
    command.upgrade(_alembic_config(owner_url, tls=tls), revision)
    return current(owner_url, tls=tls)


def is_ahead(owner_url: str, *, tls: bool) -> bool:
    """Whether the database is at a revision missing from this package's migrations."""
    from alembic.script import ScriptDirectory

    at = current(owner_url, tls=tls)
    if at is None:
        return False
    known = {script.revision for script in ScriptDirectory(str(PACKAGE_ROOT / "migrations")).walk_revisions()}
    return not set(at.split(",")) <= known


def downgrade(owner_url: str, *, tls: bool, revision: str) -> str | None:
    """Step the schema back to ``revision`` (the documented rollback path; data in dropped columns is lost)."""
    from alembic import command

    command.downgrade(_alembic_config(owner_url, tls=tls), revision)
    return current(owner_url, tls=tls)


def current(owner_url: str, *, tls: bool) -> str | None:
    """The revision the database is at (``None`` before the first migration)."""
    from alembic.runtime.migration import MigrationContext

    db_engine = create_engine(owner_url, poolclass=pool.NullPool, connect_args=connect_args(tls=tls))
    try:
        with db_engine.connect() as conn:
            heads = MigrationContext.configure(conn).get_current_heads()
    finally:
        db_engine.dispose()
    return ",".join(sorted(heads)) or None


def head() -> str:
    """The newest revision shipped in this package."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory(str(PACKAGE_ROOT / "migrations"))
    return ",".join(sorted(scripts.get_heads()))
