"""Wait for all (join): runs once every incoming branch has arrived or been skipped.

The runner hands it the aggregate built by
``chalicelib.engine.planner.aggregate_wait_all`` —
``{"branches": {"<from node name>": payload, …}, "skipped": ["<name>", …]}`` —
or, when it closes a for_each, ``{"items": [result per item, in item order]}``.
It returns that payload, or the optional ``output`` template rendered over it.
"""

from __future__ import annotations

# A join's step only forwards what the runner hands it; the two joins differ in when the runner
# calls them (``chalicelib.engine.planner``), not in what they do, so they share one contract
# (pure too: the runner may execute it inside its run's transaction).
from step_handlers.merge_race import CONFIG_SCHEMA, NEEDS_CREDENTIALS, PORTS, PURE, RAW_CONFIG_KEYS, handle

__all__ = ["CONFIG_SCHEMA", "NEEDS_CREDENTIALS", "PORTS", "PURE", "RAW_CONFIG_KEYS", "TITLE", "handle"]

TITLE = "Wait for all"
