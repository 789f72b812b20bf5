"""The workflow engine's services: workflows, runs, the step runner, the sweeper, metrics.

``chalicelib/bootstrap.py`` wires them into the platform: the ``step`` message
kind of the step queue goes to the runner, the sweeper joins the housekeeping
tick and the demo flows join the demo data. What other areas call:

- ``start_run(tenant_id, workspace_id, workflow_id, *, mode, input, version, trigger, actor)``
  (``runs.start_run``) — the triggers start runs through it;
- the ports in ``ports`` (``CredentialResolver``, ``ActionInvoker``,
  ``ReferenceChecker``), which the connector platform implements.
"""

from __future__ import annotations
