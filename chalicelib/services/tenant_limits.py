"""Per-tenant limits of the API: the request rate of each user and API token, and workflows per tenant.

Read once from the environment (``LIMITS_*``) and overridable in tests:

=====================================  =========  ===============================================
``LIMITS_API_BURST``                   300        requests a user or API token may send at once
``LIMITS_API_PER_SECOND``              5          refill of that bucket (300 a minute sustained)
``LIMITS_MAX_WORKFLOWS``               1 000      workflows per tenant
=====================================  =========  ===============================================

**API rate limit.** Every authenticated ``/api/*`` request spends one token of
its principal's bucket (``user:<id>`` or ``api:<token id>``, per tenant). The
bucket lives in ``api_rate_buckets`` and is refilled and spent in one
statement, so every process and container shares it. The table is
``UNLOGGED``: a bucket is not business data, so its changes are not written to
the WAL and a request whose only write is its spend commits without waiting
for a flush to disk (reads cost no durable commit). After a crash of the
database server (or a failover) PostgreSQL empties the table, which only
refills every bucket: a principal may then send one more burst. A refused request
answers 429 ``rate_limited`` with ``Retry-After``; every answer of a limited
route carries ``RateLimit-Policy: "api";q=<burst>;w=<seconds to fill>`` and
``RateLimit: "api";r=<remaining>;t=<seconds until full>``.

**Workflows per tenant.** Creating (or duplicating) a workflow past the quota
answers 409 ``workflow_quota_exceeded``; the count is taken under a per-tenant
advisory lock, so two concurrent creations cannot both take the last place.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import text

from chalicelib.container import current
from chalicelib.errors import Conflict, RateLimited
from chalicelib.services.overridable import Overridable
from chalicelib.services.triggers import admission
from chalicelib.services.triggers.settings import now as clock_now
from chalicelib.services.triggers.settings import trigger_settings
from chalicelib.services.unit_of_work import UnitOfWork
from chalicelib.services.workflows.settings import engine_settings
from chalicelib.triggers.ratelimit import BucketState, RateLimitPolicy


class _LimitsEnv(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LIMITS_", case_sensitive=False, extra="ignore")

    api_burst: int = Field(300, ge=1, le=1_000_000)
    api_per_second: float = Field(5.0, gt=0, le=1_000_000)
    max_workflows: int = Field(1000, ge=1, le=1_000_000)


@dataclass(frozen=True)
class TenantLimits:
    api_rate_limit: RateLimitPolicy
    max_workflows: int

    @classmethod
    def from_env(cls) -> TenantLimits:
        env = _LimitsEnv()
        return cls(RateLimitPolicy(capacity=env.api_burst, refill_per_second=env.api_per_second, name="api"),
                   env.max_workflows)


_SETTINGS: Overridable[TenantLimits] = Overridable("limits", TenantLimits.from_env)


def limits() -> TenantLimits:
    return _SETTINGS.get()


def configure(*, api_burst: int | None = None, api_per_second: float | None = None,
              max_workflows: int | None = None) -> TenantLimits:
    """Replace some limits (tests, benchmarks)."""
    configured = limits()
    changes: dict[str, Any] = {}
    if api_burst is not None or api_per_second is not None:
        changes["api_rate_limit"] = RateLimitPolicy(
            capacity=api_burst if api_burst is not None else configured.api_rate_limit.capacity,
            refill_per_second=api_per_second if api_per_second is not None
            else configured.api_rate_limit.refill_per_second, name="api")
    if max_workflows is not None:
        changes["max_workflows"] = max_workflows
    return _SETTINGS.override(**changes)


def reset() -> None:
    _SETTINGS.reset()


# -- the API rate limit ----------------------------------------------------------------------------

# Refill and spend in one statement; ``allowed`` says whether a whole token was there. A refusal
# stores only the refill (harmless), as the webhook bucket does.
_REFILLED = ("least(CAST(:cap AS float8), b.tokens + greatest(0, extract(epoch FROM CAST(:now AS timestamptz)"
             " - b.updated_at)) * CAST(:rate AS float8))")
_TAKE = text(
    "INSERT INTO api_rate_buckets AS b (tenant_id, principal, tokens, updated_at, allowed) "
    "VALUES (CAST(:t AS uuid), :p, CAST(:cap AS float8) - 1, CAST(:now AS timestamptz), true) "
    "ON CONFLICT (tenant_id, principal) DO UPDATE SET "
    f"tokens = CASE WHEN {_REFILLED} >= 1 THEN {_REFILLED} - 1 ELSE {_REFILLED} END, "
    f"allowed = {_REFILLED} >= 1, "
    "updated_at = greatest(CAST(:now AS timestamptz), b.updated_at) "
    "RETURNING tokens, allowed, updated_at"
)


def principal_key(principal: Any) -> str | None:
    kind, actor = getattr(principal, "kind", None), getattr(principal, "actor_id", None)
    return f"{kind}:{actor}"[:120] if kind and actor else None


def take_api_token(principal: Any, uow: UnitOfWork | None = None, now: dt.datetime | None = None) -> dict[str, str]:
    """Spend one token of the principal's bucket; the RateLimit headers, or 429 ``rate_limited``.

    In ``uow`` when given (the request's access transaction, which commits it with the rest of the
    access check), else in a transaction of its own. Principals without a tenant (the operator) are
    not limited here. The bucket table is ``UNLOGGED`` (see the module doc): a transaction that
    writes nothing else commits without waiting for a WAL flush.
    """
    tenant_id, key = getattr(principal, "tenant_id", None), principal_key(principal)
    if tenant_id is None or key is None:
        return {}
    policy = limits().api_rate_limit
    now = now or dt.datetime.now(dt.UTC)
    params = {"t": str(tenant_id), "p": key, "cap": float(policy.capacity),
              "rate": float(policy.refill_per_second), "now": now}
    if uow is not None:
        tokens, allowed, updated_at = uow.execute(_TAKE, params).one()
    else:
        with current().units_of_work.tenant(str(tenant_id)) as own:
            tokens, allowed, updated_at = own.execute(_TAKE, params).one()
            own.commit()
    state = BucketState(float(tokens), updated_at)
    headers = policy.headers(state, now)
    if not allowed:
        wait = max(1, math.ceil((1 - float(tokens)) / policy.refill_per_second))
        raise RateLimited("Too many requests for this user or API token; retry later.", retry_after=wait,
                          headers=headers)
    return headers


# -- workflows per tenant --------------------------------------------------------------------------


class WorkflowQuotaExceeded(Conflict):
    """The tenant has as many workflows as its quota allows."""

    code, default_message = "workflow_quota_exceeded", "The tenant's workflow quota is reached."


# A transaction-scoped advisory lock per tenant: creations of one tenant are serialised, others never wait.
_LOCK_TENANT = text("SELECT pg_advisory_xact_lock(hashtextextended('workflow_quota:' || :t, 0))")
_COUNT_WORKFLOWS = text("SELECT count(*) FROM workflows WHERE tenant_id = CAST(:t AS uuid)")


def check_workflow_quota(uow: UnitOfWork, tenant_id: str) -> None:
    """In the creating transaction: 409 ``workflow_quota_exceeded`` when one more would pass the quota."""
    quota = limits().max_workflows
    uow.execute(_LOCK_TENANT, {"t": tenant_id})
    count = int(uow.execute(_COUNT_WORKFLOWS, {"t": tenant_id}).scalar() or 0)
    if count >= quota:
        raise WorkflowQuotaExceeded(
            f"The tenant has {count} workflows; its quota is {quota}. Delete one to create another.",
            details=[{"path": "", "issue": f"at most {quota} workflows per tenant"}])


# -- what an admin sees ----------------------------------------------------------------------------


def view(tenant_id: str) -> dict[str, Any]:
    """The tenant's limits and current usage (``GET /api/limits``)."""
    triggers = trigger_settings()
    policy, configured = triggers.backpressure, limits()
    with current().units_of_work.tenant(tenant_id) as uow:
        workflows = int(uow.execute(_COUNT_WORKFLOWS, {"t": tenant_id}).scalar() or 0)
        counts = admission.read_counts(uow, tenant_id, clock_now())
    return {
        "workflows": {"limit": configured.max_workflows, "used": workflows},
        "concurrent_runs": {"limit": policy.max_concurrent_runs, "used": counts.running + counts.starting},
        "runs_per_hour": {"limit": policy.max_runs_per_hour, "used": counts.last_hour},
        "api_rate_limit": {"burst": configured.api_rate_limit.capacity,
                           "per_second": configured.api_rate_limit.refill_per_second},
        "webhook_rate_limit": {"burst": policy.webhook_rate_limit.capacity,
                               "per_second": policy.webhook_rate_limit.refill_per_second},
        "run_retention_days": engine_settings().run_retention_days,
        "delivery_retention_days": triggers.retention_days,
    }
