"""The AWS stack around the Chalice functions, one module per concern.

``make package`` runs ``chalice package`` (functions, API, event sources) and
then :func:`complete` adds what a deployment needs and Chalice does not make:
network, database and proxy, secrets, the migration function, per-function
roles, queues and key, alarms, log groups and the console's hosting. Every
named resource carries the stage (``stepline-<stage>-…``), so stages coexist
in one account and region.
"""

from __future__ import annotations

from typing import Any

from devstack.cloud import console, database, functions, network, operations, queues, secrets
from devstack.cloud.stages import STAGES, Stage

__all__ = ["STAGES", "Stage", "complete"]


def complete(template: dict[str, Any], stage: Stage, *, release: str) -> dict[str, Any]:
    """Turn Chalice's SAM template into the whole stack for ``stage``; ``release`` identifies the build."""
    template.setdefault("Parameters", {})
    template.setdefault("Conditions", {})
    template.setdefault("Outputs", {})
    template["Description"] = f"Stepline ({stage.name}): API, step and tick functions, database, console"
    for part in (network, queues, secrets, database, functions, operations, console):
        part.add(template, stage, release=release)
    return template
