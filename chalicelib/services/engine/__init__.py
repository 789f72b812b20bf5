"""The workflow engine's services: workflows, runs, the step runner, the sweeper, metrics.

Importing this package wires the engine into the platform: the ``step``
message kind of the step queue goes to the runner, and the sweeper joins the
housekeeping tick. What other areas call:

- ``start_run(tenant_id, workspace_id, workflow_id, *, mode, input, version, trigger, actor)``
  (``runs.start_run``) — the triggers start runs through it;
- the connector platform's hooks in ``ports``: ``set_credential_resolver``,
  ``set_action_invoker``, ``set_reference_checker``.
"""

from __future__ import annotations

from chalicelib.services import demo, housekeeping, messages
from chalicelib.services.engine import demo_flows
from chalicelib.services.engine.dispatch import MESSAGE_KIND
from chalicelib.services.engine.ports import (
    ActionCall,
    ActionInvoker,
    CredentialRequest,
    CredentialResolver,
    ReferenceChecker,
    ResolvedCredentials,
    set_action_invoker,
    set_credential_resolver,
    set_reference_checker,
)
from chalicelib.services.engine.retention import retention_job
from chalicelib.services.engine.runner import handle_step_message, process_step
from chalicelib.services.engine.runs import NO_INPUT, start_run
from chalicelib.services.engine.sweeper import sweep

messages.register(MESSAGE_KIND, handle_step_message)
housekeeping.register("engine_sweeper", sweep)
housekeeping.register("run_retention", retention_job)
demo.register_seeder(demo_flows.seed)

__all__ = [
    "NO_INPUT",
    "ActionCall",
    "ActionInvoker",
    "CredentialRequest",
    "CredentialResolver",
    "ReferenceChecker",
    "ResolvedCredentials",
    "handle_step_message",
    "process_step",
    "set_action_invoker",
    "set_credential_resolver",
    "set_reference_checker",
    "start_run",
    "sweep",
]
