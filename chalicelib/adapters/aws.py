"""boto3 clients, created lazily once per container.

``AWS_ENDPOINT_URL`` points every client at LocalStack or the embedded
emulator; unset, boto3 talks to AWS. This is the only place that reads it.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

import boto3
from botocore.config import Config

from chalicelib.config import get_settings

_LOCK = threading.Lock()


@functools.cache
def _client(service: str, region: str, endpoint_url: str | None) -> Any:
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


def client(service: str) -> Any:
    """The shared boto3 client for ``service`` with this process's settings."""
    settings = get_settings()
    return _client(service, settings.aws_region, settings.aws_endpoint_url)


def client_for(service: str, region: str, endpoint_url: str | None) -> Any:
    """A shared client before the settings exist (the configuration reading its own secrets)."""
    return _client(service, region, endpoint_url)


def reset_clients() -> None:
    """Forget cached clients (tests that switch endpoints)."""
    _client.cache_clear()
