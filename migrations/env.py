"""Alembic environment: migrations run as the owner role, never as the app role."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

import chalicelib.tables.connectors  # noqa: F401
import chalicelib.tables.identity  # noqa: F401  (registers the tables on metadata)
import chalicelib.tables.platform  # noqa: F401
import chalicelib.tables.system  # noqa: F401
import chalicelib.tables.triggers  # noqa: F401
import chalicelib.tables.workflows  # noqa: F401
from chalicelib.config import get_settings
from chalicelib.db.database_engine import connect_args
from chalicelib.tables import metadata

target_metadata = metadata


def run_migrations_online() -> None:
    url = context.config.attributes.get("url")
    tls = bool(context.config.attributes.get("tls", False))
    if not url:
        settings = get_settings()
        url, tls = settings.owner_database_url, settings.database_tls
    engine = create_engine(url, poolclass=pool.NullPool, connect_args=connect_args(tls=tls))
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run against a database")
run_migrations_online()
