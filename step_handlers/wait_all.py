"""Wait for all (join): runs once every incoming branch has arrived or been skipped.

The runner hands it the aggregate built by
``chalicelib.engine.planner.aggregate_wait_all`` —
``{"branches": {"<from node name>": payload, …}, "skipped": ["<name>", …]}`` —
or, when it closes a for_each, ``{"items": [result per item, in item order]}``.
It returns that payload, or the optional ``output`` template rendered over it.
"""

from __future__ import annotations

from typing import Any

from chalicelib.engine.context import StepContext
from chalicelib.engine.payloads import PASS_THROUGH_SCHEMA, pass_through

TITLE = "Wait for all"
CONFIG_SCHEMA: dict[str, Any] = PASS_THROUGH_SCHEMA
PORTS = ["out"]
NEEDS_CREDENTIALS = False
RAW_CONFIG_KEYS: frozenset[str] = frozenset()


def handle(msg: dict[str, Any], config: dict[str, Any], ctx: StepContext, credentials: dict | None) -> dict:
    return pass_through(msg, config)
