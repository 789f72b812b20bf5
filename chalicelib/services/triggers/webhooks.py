"""Webhook ingest: ``POST /webhooks/{workspace}/{path}`` (and ``…/test``), in the order that keeps it safe.

1. find the trigger by (workspace, path) — through the narrow
   ``trigger_webhook_route`` database function, so the public route never
   opens a system-scoped transaction; unknown → 404 (nothing to record on);
2. body size — before anything reads the body (413, ``too_large``);
3. signature over the raw bytes, current and (during an overlap) previous
   secret, ±tolerance (401, ``bad_signature`` | ``stale_timestamp`` | ``invalid``);
4. only then parse the body (JSON, form or text; 400, ``invalid``);
5. dedupe key (configured correlation expression, else the scheme's delivery id);
6. the shared firing path: duplicate, gating, token bucket, admission, start.

Every outcome is recorded on the trigger's delivery history, with the request
as received (headers and body, masked and bounded: ``triggers/captured_requests``)
in the same insert. The production
URL starts production runs (gated); the test URL starts test runs of the
draft whatever the workflow's state. A deactivated trigger starts nothing on
either URL: both answer 409 ``trigger_disabled`` and record ``disabled``.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import text

from chalicelib.db.uow import UnitOfWork
from chalicelib.errors import BadRequest, NotFound, PayloadTooLarge, SteplineError
from chalicelib.json_codec import check_value, decode_json
from chalicelib.services.triggers import ports, secrets
from chalicelib.services.triggers.engine_adapters import StartTarget, load_trigger_target
from chalicelib.services.triggers.firing import Admitted, FireResult, Firing, admit, follow_through, record
from chalicelib.services.triggers.kinds import webhook as webhook_kind
from chalicelib.services.triggers.settings import now as clock_now
from chalicelib.services.triggers.settings import trigger_settings
from chalicelib.triggers import captured_requests
from chalicelib.triggers.dedupe import derive_dedupe_key
from chalicelib.triggers.signatures import verify_signature

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_PATH = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")
_ROUTE = text("SELECT tenant_id::text, trigger_id::text FROM trigger_webhook_route(CAST(:ws AS uuid), :path)")
# Never copied into a run's input: credentials and the signatures themselves.
_PRIVATE_HEADERS = re.compile(r"authorization|cookie|signature|hmac|secret|token|api-key|apikey",
                              re.IGNORECASE)


@dataclass(frozen=True)
class WebhookCall:
    workspace_id: str
    path: str
    headers: Mapping[str, str]
    raw_body: bytes
    query: Mapping[str, str] = field(default_factory=dict)
    test: bool = False


@dataclass(frozen=True)
class WebhookAnswer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


class WebhookNotFound(NotFound):
    """No webhook trigger listens on this workspace and path."""

    code, default_message = "webhook_not_found", "No webhook listens here."


class MalformedWebhookBody(BadRequest):
    """The (verified) body does not parse as its content type says."""

    code = "malformed_webhook_body"


def _find(uow: UnitOfWork, call: WebhookCall) -> tuple[dict[str, Any], StartTarget]:
    """The trigger listening on (workspace, path) with what its start reads of the workflow (one statement);
    scopes ``uow`` to its tenant."""
    if not _UUID.match(call.workspace_id) or not _PATH.match(call.path):
        raise WebhookNotFound()
    route = uow.execute(_ROUTE, {"ws": call.workspace_id, "path": call.path}).first()
    if route is None:
        raise WebhookNotFound()
    uow.set_tenant(route[0])
    found = load_trigger_target(uow, route[1], draft=call.test)
    if found is None:
        raise WebhookNotFound()
    return found


def _parse(raw: bytes, content_type: str) -> Any:
    """The verified body as its content type says, under the API's one JSON policy (``http/requests``)."""
    kind = content_type.split(";", 1)[0].strip().lower()
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedWebhookBody("The body is not UTF-8 text.") from None
    try:
        if kind == "application/x-www-form-urlencoded":
            pairs = urllib.parse.parse_qs(decoded, keep_blank_values=True)
            body: Any = {k: v[0] if len(v) == 1 else v for k, v in pairs.items()}
        elif kind == "text/plain":
            body = decoded
        elif not decoded.strip():
            return None
        else:
            return decode_json(decoded)
        check_value(body)
        return body
    except BadRequest as exc:
        raise MalformedWebhookBody(exc.message) from None


def _payload(trigger: Mapping[str, Any], body: Any, headers: Mapping[str, str], query: Mapping[str, str],
             external_id: str | None, received_at: str) -> Any:
    if (trigger["config"] or {}).get("payload") == "body":
        return body
    safe = {k: v for k, v in headers.items() if not _PRIVATE_HEADERS.search(k)}
    return {"body": body, "headers": safe, "query": dict(query),
            "trigger": {"id": str(trigger["id"]), "kind": webhook_kind.KIND.name, "delivery_id": external_id,
                        "received_at": received_at}}


def _captured(call: WebhookCall, headers: Mapping[str, str], secrets_now: tuple[str | None, ...],
              parsed: Any = captured_requests.UNPARSED) -> captured_requests.CapturedRequest:
    """The request as its delivery keeps it: masked against the trigger's secrets, bounded."""
    masker = captured_requests.secret_masker(secrets_now)
    return captured_requests.capture("POST", headers, call.raw_body, masker, parsed=parsed)


def _refuse(uow: UnitOfWork, firing: Firing, outcome: str, error: SteplineError,
            reason: str) -> SteplineError:
    record(uow, firing, outcome, reason=reason, status_code=error.status)
    uow.commit()
    return error


def ingest(call: WebhookCall) -> WebhookAnswer:
    """Verify, record and (when allowed) start a run; raises the error to answer otherwise."""
    with UnitOfWork() as uow:  # no tenant yet: only the route function can answer, then it is scoped
        trigger, target = _find(uow, call)
        admitted = _verify_and_admit(uow, trigger, call, target)
    return answer(follow_through(admitted))


def _verify_and_admit(uow: UnitOfWork, trigger: dict[str, Any], call: WebhookCall,
                      target: StartTarget | None = None) -> Admitted:
    now = clock_now()
    settings = trigger_settings()
    mode = ports.TEST if call.test else ports.PRODUCTION
    headers = {str(k).lower(): str(v) for k, v in call.headers.items()}
    base = Firing(trigger=trigger, kind=webhook_kind.KIND.name, mode=mode, body_bytes=len(call.raw_body))
    limit = settings.backpressure.max_webhook_body_bytes
    current, previous = secrets.open_secrets(trigger)  # also what the recorded request is masked against
    if len(call.raw_body) > limit:
        base = replace(base, request=_captured(call, headers, (current, previous)))
        raise _refuse(uow, base, "too_large", PayloadTooLarge(f"Webhook body exceeds {limit} bytes."),
                      f"Body of {len(call.raw_body)} bytes exceeds {limit}.")
    valid = [s for s in (current,) if s]
    expires = trigger["previous_secret_expires_at"]
    if previous and expires is not None and expires > now:
        valid.append(previous)
    verified = verify_signature(trigger["signature_scheme"], headers, call.raw_body, valid, now=now,
                                tolerance_seconds=settings.tolerance_seconds)
    base = replace(base, external_id=verified.delivery_id)
    if not verified.ok:
        base = replace(base, request=_captured(call, headers, (current, previous)))
        refused = verified.error()
        if refused is None or verified.failure is None:
            raise RuntimeError("a failed signature check names no reason")
        raise _refuse(uow, base, verified.failure.value, refused, verified.detail)
    try:
        body = _parse(call.raw_body, headers.get("content-type", "application/json"))
    except MalformedWebhookBody as exc:
        base = replace(base, request=_captured(call, headers, (current, previous)))
        raise _refuse(uow, base, "invalid", exc, exc.message) from None
    base = replace(base, request=_captured(call, headers, (current, previous), parsed=body))
    dedupe = derive_dedupe_key(delivery_id=verified.delivery_id,
                               correlation_expression=(trigger["config"] or {}).get("correlation_key"),
                               body=body, headers=headers)
    received_at = now.isoformat().replace("+00:00", "Z")
    payload = _payload(trigger, body, headers, call.query, verified.delivery_id, received_at)
    try:
        check_value(payload)  # headers and query travel with the payload: the same policy
    except BadRequest as exc:
        raise _refuse(uow, base, "invalid", MalformedWebhookBody(exc.message), exc.message) from None
    firing = replace(base, dedupe=dedupe, rate_limited=True, gated=not call.test, input=payload, target=target)
    return admit(uow, firing, now)


def answer(result: FireResult) -> WebhookAnswer:
    """202 with the run (or the waiting delivery), 200 for a duplicate; the error otherwise."""
    if result.error is not None and not result.accepted:
        result.error.headers = {**result.headers, **result.error.headers}
        raise result.error
    body = {"delivery_id": result.delivery_id, "run_id": result.run_id, "status": result.outcome}
    if result.outcome == "duplicate":
        body["duplicate_of"] = result.duplicate_of
        return WebhookAnswer(200, body, result.headers)
    return WebhookAnswer(202, body, result.headers)
