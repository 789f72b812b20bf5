"""SQL that puts a tenant-owned table under row-level security (used by migrations).

The policy admits a row when its ``tenant_id`` equals the transaction's
``app.tenant_id``, or when the transaction runs in the ``system`` scope that
only housekeeping code paths open (see ``chalicelib.db.uow``). ``FORCE`` makes
the policy apply to the table owner too.
"""

from __future__ import annotations

import re

_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

POLICY_PREDICATE = (
    "(tenant_id::text = current_setting('app.tenant_id', true) "
    "OR current_setting('app.scope', true) = 'system')"
)


def tenant_rls_statements(table: str, column: str = "tenant_id") -> list[str]:
    """Statements enabling and forcing RLS with the tenant policy on ``table``."""
    if not _IDENT.match(table) or not _IDENT.match(column):
        raise ValueError(f"unsafe identifier: {table}.{column}")
    predicate = POLICY_PREDICATE.replace("tenant_id::text", f"{column}::text")
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS tenant_isolation ON {table}",
        f"CREATE POLICY tenant_isolation ON {table} USING {predicate} WITH CHECK {predicate}",
    ]
