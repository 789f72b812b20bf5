"""Platform routes: health."""

from __future__ import annotations

from chalicelib.api.system_models import Health, OpenApiDocument
from chalicelib.container import current
from chalicelib.errors import SteplineError
from chalicelib.http.openapi import document
from chalicelib.http.responses import json_response
from chalicelib.http.routing import PUBLIC, Answer, Call, Routes
from chalicelib.services import health
from chalicelib.version import VERSION

routes = Routes("system")


@routes.route("/openapi.json", access=PUBLIC, response=OpenApiDocument)
def get_openapi(call: Call):
    """The OpenAPI 3.1 description of this API."""
    return document()


@routes.route("/health", access=PUBLIC, response=Health,
              answers={503: Answer("A dependency is failing; `failing` names it.", Health)})
def get_health(call: Call):
    """Database and queue reachability; 503 naming the failing part."""
    try:
        container = current()
        container.settings()
    except SteplineError as exc:
        return json_response({"status": "degraded", "version": VERSION, "failing": ["configuration"],
                              "checks": {"configuration": {"status": "error", "error": exc.code}}}, 503)
    healthy, report = health.check(container)
    return json_response(report, 200 if healthy else 503)
