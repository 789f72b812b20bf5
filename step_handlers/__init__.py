"""Step types: one module per type, all with the same contract.

Each module meets the engine's ``StepType`` protocol
(``chalicelib/engine/step_types.py``): ``handle(msg, config, ctx, credentials)
-> dict`` and the constants ``TITLE``, ``CONFIG_SCHEMA``, ``PORTS``,
``NEEDS_CREDENTIALS`` and ``RAW_CONFIG_KEYS``, plus the optional members listed
there. A ``$secrets`` reference outside a type's ``SECRET_CONFIG_KEYS`` is
refused when the graph is saved and never rendered.

A new step type is one module here plus its entry in :data:`CATALOG`; the
composition root (``chalicelib/bootstrap.py``) hands the catalog to the engine.
"""

from __future__ import annotations

from chalicelib.engine.step_types import StepCatalog
from step_handlers import (
    action,
    code,
    condition,
    delay,
    end,
    for_each,
    http_request,
    merge_race,
    start,
    switch,
    transform,
    wait_all,
)

CATALOG = StepCatalog(
    {
        "start": start,
        "end": end,
        "transform": transform,
        "condition": condition,
        "switch": switch,
        "wait_all": wait_all,
        "merge_race": merge_race,
        "delay": delay,
        "for_each": for_each,
        "http_request": http_request,
        "action": action,
        "code": code,
    },
    joins=frozenset({"wait_all", "merge_race"}),
)

STEP_TYPES: tuple[str, ...] = CATALOG.names
JOIN_TYPES = CATALOG.joins
get_handler = CATALOG.get
ports_of = CATALOG.ports_of
check_config = CATALOG.check_config
secret_config_keys = CATALOG.secret_config_keys
describe_step_types = CATALOG.describe
is_pure = CATALOG.is_pure
