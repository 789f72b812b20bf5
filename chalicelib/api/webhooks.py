"""``/webhooks/{ws}/{path}``: public, signed webhook deliveries (``…/test`` starts test runs).

Public on purpose: the sender proves itself with the signature, verified over
the raw body before anything parses it (see ``services/triggers/webhooks``).
"""

from __future__ import annotations

from chalicelib.api.trigger_models import DuplicateDelivery, Fired
from chalicelib.http.responses import json_response
from chalicelib.http.routing import PUBLIC, Answer, Call, Routes
from chalicelib.services.triggers.webhooks import WebhookCall, ingest

routes = Routes("webhooks")

DUPLICATE = {200: Answer("A repeat of a delivery already recorded: nothing new starts.", DuplicateDelivery)}
CONTENT_TYPES = ("application/json", "application/x-www-form-urlencoded", "text/plain")


def _deliver(call: Call, *, test: bool):
    answer = ingest(WebhookCall(workspace_id=call.params["ws"], path=call.params["path"],
                                headers=call.headers, raw_body=call.raw_body, query=call.query, test=test))
    return json_response(answer.body, answer.status, answer.headers)


@routes.route("/webhooks/{ws}/{path}", methods=("POST",), access=PUBLIC, status=202,
              content_types=CONTENT_TYPES, response=Fired, answers=DUPLICATE)
def receive_webhook(call: Call):
    """Receive a signed delivery: 202 with the run id (200 for a duplicate)."""
    return _deliver(call, test=False)


@routes.route("/webhooks/{ws}/{path}/test", methods=("POST",), access=PUBLIC, status=202,
              content_types=CONTENT_TYPES, response=Fired, answers=DUPLICATE)
def receive_test_webhook(call: Call):
    """Receive a signed delivery and start a test-mode run of the draft (409 when the trigger is deactivated)."""
    return _deliver(call, test=True)
