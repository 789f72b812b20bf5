"""Triggers: manual starts, signed webhooks and cron schedules, with rate limits and backpressure.

Importing this package adds the triggers' job to the housekeeping tick (cron
slots, waiting runs, retention). What other areas call:

- ``release.release(tenant_id)`` — start the tenant's waiting runs that now
  fit; the engine may call it when a run finishes (the tick calls it anyway);
- ``ports.set_run_starter`` / ``set_workflow_directory`` / ``set_run_ledger``
  — replace the engine adapters (tests, benchmarks);
- ``settings.configure(...)`` / ``settings.set_clock(...)`` — limits and the clock.

Modules: ``manage`` (CRUD, rotation, history), ``webhooks`` (ingest),
``schedules`` (cron scan), ``manual`` (fire by hand), ``firing`` (the shared
gate/admit/record/start path), ``admission`` (bucket, quota, concurrency),
``release`` (waiting and stalled runs), ``secrets`` (sealed webhook secrets),
``jobs`` (the tick), ``views`` (API shapes), ``models`` (request bodies).
"""

from __future__ import annotations

from chalicelib.services import housekeeping
from chalicelib.services.engine import ports as engine_ports
from chalicelib.services.triggers.admission import DirectRunAdmission
from chalicelib.services.triggers.jobs import housekeeping_job
from chalicelib.services.triggers.release import release_after_run

housekeeping.register("triggers", housekeeping_job)
engine_ports.on_run_finished(release_after_run)  # a finished run frees a slot for a waiting one
engine_ports.set_run_admission(DirectRunAdmission())  # runs the API starts pass the same gate
