"""boto3 clients for this process's settings, created lazily once per container.

``AWS_ENDPOINT_URL`` points every client at LocalStack or the embedded
emulator; unset, boto3 talks to AWS. This is the only place that reads it
(the configuration reads its own secrets through ``boto_clients`` directly).
"""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.boto_clients import shared_client
from chalicelib.config import get_settings


def client(service: str) -> Any:
    """The shared boto3 client for ``service`` with this process's settings."""
    settings = get_settings()
    return shared_client(service, settings.aws_region, settings.aws_endpoint_url)
