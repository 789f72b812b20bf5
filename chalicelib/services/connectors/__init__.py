"""The connector platform's services: apps, versions, actions, connections, OAuth2, and the engine hook.

- ``apps`` / ``versions`` / ``actions``: custom connectors (tenant-owned) beside the
  global built-in catalog, which is served from its files with stable ids
  (``builtin:slack``, ``builtin:slack@1``, ``builtin:slack:post_message``).
- ``connections``: credentials per workspace and app, sealed by ``secrets_box``.
- ``oauth``: the authorization-code flow (start, callback); ``live_credentials``:
  refresh before expiry and once on a 401, with the health status kept current.
- ``trials``: ``POST /api/actions/{id}/test`` and ``POST …/connections/{id}/test``.
- ``engine_bridge``: ``resolve_credentials`` and ``invoke_action`` for the workflow engine.

Every function takes the authenticated principal (or tenant id) and runs in a
unit of work scoped to that tenant; every mutation is audited in the same
transaction.
"""
