"""Stepline: the serverless functions, as a table of contents.

- HTTP API (API Gateway → Lambda): blueprints from ``chalicelib/api``.
- ``step``: the SQS-triggered function that runs workflow steps.
- ``tick``: the scheduled housekeeping function (every minute).

Everything they use is wired in ``chalicelib/bootstrap.py``.
"""

from __future__ import annotations

import os

from chalice import Chalice, Rate

from chalicelib import bootstrap, observability
from chalicelib.api import auth, connectors, flows, operator, runs, system, tenancy, triggers, webhooks
from chalicelib.config import DEFAULT_STEP_QUEUE
from chalicelib.http import edge
from chalicelib.services import housekeeping, messages

bootstrap.boot()  # the process's collaborators and its message kinds, tick jobs and listeners

app = Chalice(app_name="stepline", configure_logs=False)  # Powertools owns the "stepline" logger
app.register_middleware(edge.middleware, "http")  # request ids and one error shape for every answer

for area in (system, auth, tenancy, operator, connectors, flows, runs, triggers, webhooks):
    app.register_blueprint(area.routes.blueprint)

STEP_QUEUE = os.environ.get("STEP_QUEUE_NAME", DEFAULT_STEP_QUEUE)


@app.on_sqs_message(queue=STEP_QUEUE, batch_size=10)
def step(event):
    """Run the steps whose doorbells arrived; report only infrastructure failures."""
    with observability.invocation():
        failed = messages.handle_batch([(r.to_dict()["messageId"], r.body) for r in event])
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}


@app.schedule(Rate(1, unit=Rate.MINUTES))
def tick(event):
    """Housekeeping: sweeper, cron triggers, retention."""
    with observability.invocation():
        return housekeeping.tick()
