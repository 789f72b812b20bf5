"""Per-stage sizing: the one place the numbers of a deployment are chosen.

Connection budget: a Lambda container holds at most ``DB_POOL_SIZE`` +
the database engine's overflow (``2 × DB_POOL_SIZE``) connections; with ``DB_POOL_SIZE=1``
that is 3. The proxy lets at most ``proxy_max_connections_percent`` of
``max_connections`` reach PostgreSQL. Even if every client connection were
pinned (no multiplexing), the functions' concurrency limits keep the total
under that: see :meth:`Stage.worst_case_connections` (checked by a test).
"""

from __future__ import annotations

from dataclasses import dataclass

CONNECTIONS_PER_CONTAINER = 3  # DB_POOL_SIZE=1 plus max_overflow=2 (chalicelib/db/database_engine.py)


@dataclass(frozen=True)
class Stage:
    name: str
    db_instance_class: str
    db_storage_gb: int
    db_max_connections: int
    multi_az: bool
    deletion_protection: bool
    backup_retention_days: int
    proxy_max_connections_percent: int
    step_max_concurrency: int  # the SQS event source's MaximumConcurrency (and the function's reservation)
    api_reserved_concurrency: int
    log_retention_days: int
    nat_gateways: int  # 1: one shared NAT (cheaper); 2: one per zone (survives a zone outage)
    api_throttle_rate: int  # API Gateway steady requests per second for the stage
    api_5xx_rate_threshold: float  # alarm when more than this share of requests fails with 5xx

    @property
    def proxy_connection_limit(self) -> int:
        return self.db_max_connections * self.proxy_max_connections_percent // 100

    def worst_case_connections(self) -> int:
        tick = 1
        return (self.step_max_concurrency + self.api_reserved_concurrency + tick) * CONNECTIONS_PER_CONTAINER


STAGES: dict[str, Stage] = {
    "dev": Stage(
        name="dev", db_instance_class="db.t4g.small", db_storage_gb=20, db_max_connections=150,
        multi_az=False, deletion_protection=False, backup_retention_days=7, proxy_max_connections_percent=80,
        step_max_concurrency=10, api_reserved_concurrency=20, log_retention_days=14, nat_gateways=1,
        api_throttle_rate=50, api_5xx_rate_threshold=0.05,
    ),
    "prod": Stage(
        name="prod", db_instance_class="db.m7g.large", db_storage_gb=100, db_max_connections=600,
        multi_az=True, deletion_protection=True, backup_retention_days=14, proxy_max_connections_percent=80,
        step_max_concurrency=60, api_reserved_concurrency=96, log_retention_days=90, nat_gateways=2,
        api_throttle_rate=500, api_5xx_rate_threshold=0.01,
    ),
}
