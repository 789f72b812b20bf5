"""Record ids: random UUIDv4 (never sequential), and the check that a client's text is one."""

from __future__ import annotations

import re
import uuid

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def new_id() -> str:
    """Random ids (UUIDv4), never sequential."""
    return str(uuid.uuid4())


def is_uuid(value: str) -> bool:
    return bool(_UUID.match(value or ""))
