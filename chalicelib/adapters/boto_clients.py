"""boto3 clients, created lazily once per (service, region, endpoint) and shared by the process.

It knows nothing of the settings, so the configuration can use it to read its own secrets before the
settings exist; ``adapters/aws`` hands out the clients for this process's settings.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

import boto3
from botocore.config import Config

_LOCK = threading.Lock()


@functools.cache
def shared_client(service: str, region: str, endpoint_url: str | None) -> Any:
    """The one client of ``service`` at ``region``/``endpoint_url`` (``None``: AWS itself)."""
    with _LOCK:  # boto3's default session is not thread-safe while creating clients
        return boto3.session.Session().client(
            service,
            region_name=region,
            endpoint_url=endpoint_url,
            config=Config(
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=2,
                read_timeout=25,
                max_pool_connections=32,
            ),
        )


def reset_clients() -> None:
    """Forget cached clients (tests that switch endpoints)."""
    shared_client.cache_clear()
