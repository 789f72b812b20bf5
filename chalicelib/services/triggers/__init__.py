"""Triggers: manual starts, signed webhooks and cron schedules, with rate limits and backpressure.

``chalicelib/bootstrap.py`` adds the triggers' job to the housekeeping tick
(cron slots, waiting runs, retention) and ``release.release_after_run`` to the
engine's run-finished listeners, and wires the engine adapters of
``engine_adapters`` (the ports of ``ports``) and the clock into the container.
``settings.configure(...)`` changes limits (tests, benchmarks).

Modules: ``manage`` (CRUD, rotation, history), ``webhooks`` (ingest),
``schedules`` (cron scan), ``manual`` (fire by hand), ``firing`` (the shared
gate/admit/record/start path), ``admission`` (bucket, quota, concurrency),
``release`` (waiting and stalled runs), ``secrets`` (sealed webhook secrets),
``jobs`` (the tick), ``views`` (API shapes), ``models`` (request bodies).
"""

from __future__ import annotations
