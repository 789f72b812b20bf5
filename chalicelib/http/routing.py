"""Route declarations: one mechanism for errors, correlation ids and access control.

Every route is declared with :meth:`Routes.route`, which wraps the view so that

- the view receives one :class:`Call` (request, parsed JSON, query, path
  parameters, the authenticated principal),
- any :class:`~chalicelib.errors.SteplineError` becomes the API error shape,
  anything else a logged 500 that names only the request id,
- the route's ``access`` policy runs before the view: it authenticates the
  caller and checks the role the route declares. A route cannot be declared
  without saying what access it needs (``PUBLIC`` must be said out loud).

Every declaration is kept in :data:`ROUTE_TABLE`, which the authorization tests
walk to generate their cases.
"""

from __future__ import annotations

import contextlib
import functools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import unquote

from chalice import Blueprint, Response
from chalice.app import Request
from pydantic import BaseModel

from chalicelib import observability
from chalicelib.container import current
from chalicelib.db import faults as db_faults
from chalicelib.db.request_transaction import SharedTransaction
from chalicelib.errors import RateLimited, SteplineError
from chalicelib.http import contract_check as contract
from chalicelib.http import requests as req
from chalicelib.http.responses import error_response, json_response, unexpected_error_response


class StoredAnswer(Protocol):
    @property
    def status(self) -> int: ...
    @property
    def body(self) -> Any: ...
    @property
    def headers(self) -> dict[str, str]: ...


class IdempotencyStore(Protocol):
    """Where ``Idempotency-Key`` answers are kept (``services/idempotency.py``, given by the container)."""

    def scope(self, principal: Any, route: str, key: str) -> Any | None: ...

    def begin(self, scope: Any, raw_body: bytes) -> StoredAnswer | None: ...

    def finish(self, scope: Any, status: int, body: str, headers: dict[str, str]) -> None: ...


class AccessPolicy(Protocol):
    """Decides who may call a route; returns the principal (or None for public routes)."""

    @property
    def name(self) -> str: ...

    def authorize(self, call: Call) -> Any:
        ...


@dataclass(frozen=True)
class _Public:
    name: str = "public"

    def authorize(self, call: Call) -> Any:
        return None


PUBLIC: AccessPolicy = _Public()


@dataclass
class Call:
    """What a view gets: the request and everything derived from it."""

    request: Request
    params: dict[str, str]
    request_id: str | None
    principal: Any = None
    # Whether the route spends the caller's API rate limit (``/api/*``), and the RateLimit headers of that
    # spend once the access policy made it (in its own transaction, see ``access.py``).
    rate_limited: bool = False
    rate_limit_headers: dict[str, str] | None = None
    # A route declared with ``one_transaction``: where the access check's transaction is kept open for the
    # request (``scope``), and that transaction once the check has let the call through (``transaction``).
    scope: contextlib.ExitStack | None = field(default=None, repr=False)
    transaction: SharedTransaction | None = field(default=None, repr=False)
    _json: Any = field(default=None, repr=False)
    _json_read: bool = field(default=False, repr=False)

    @property
    def headers(self) -> Any:
        return self.request.headers

    @property
    def query(self) -> dict[str, str]:
        return dict(self.request.query_params or {})

    @property
    def raw_body(self) -> bytes:
        raw = self.request.raw_body or b""
        return raw.encode("utf-8") if isinstance(raw, str) else raw

    def json(self, *, required: bool = True, max_bytes: int = req.MAX_BODY_BYTES) -> Any:
        if not self._json_read:
            self._json = req.json_body(self.raw_body, max_bytes=max_bytes, required=required)
            self._json_read = True
        return self._json

    def body[M: BaseModel](self, model: type[M]) -> M:
        """The JSON body validated against ``model`` (400/413/422 otherwise)."""
        return req.parse(model, self.json())

    def path(self, template: str) -> str:
        return template.format(**self.params)

    @property
    def client_ip(self) -> str:
        identity = (self.request.context or {}).get("identity") or {}
        return str(identity.get("sourceIp") or "unknown")


@dataclass(frozen=True)
class Header:
    """A request header a route reads (documented in the OpenAPI document)."""

    name: str
    description: str
    schema: dict[str, Any] = field(default_factory=lambda: {"type": "string"})


@dataclass(frozen=True)
class Answer:
    """A documented answer besides the route's success: its status, when it happens, its body model."""

    description: str
    model: type | None = None
    media_type: str = "application/json"
    headers: tuple[str, ...] = ()


@dataclass(frozen=True)
class RouteInfo:
    """One declared route, as the authorization tests and the OpenAPI document see it."""

    path: str
    methods: tuple[str, ...]
    access: AccessPolicy
    view: Callable[..., Any]
    blueprint: str
    status: int = 200
    body: type | None = None
    response: type | None = None
    answers: dict[int, Answer] = field(default_factory=dict)
    query: type | None = None
    headers: tuple[Header, ...] = ()
    content_types: tuple[str, ...] = ("application/json",)
    body_required: bool = True
    media_type: str = "application/json"
    one_transaction: bool = False


ROUTE_TABLE: list[RouteInfo] = []


class Routes:
    """A Chalice blueprint whose views follow the mechanism above."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.blueprint = Blueprint(name)

    def route(
        self,
        path: str,
        *,
        access: AccessPolicy,
        methods: tuple[str, ...] = ("GET",),
        status: int = 200,
        content_types: tuple[str, ...] = ("application/json",),
        body: type | None = None,
        body_required: bool = True,
        response: type | None = None,
        answers: dict[int, Answer] | None = None,
        query: type | None = None,
        headers: tuple[Header, ...] = (),
        media_type: str = "application/json",
        one_transaction: bool = False,
    ) -> Callable[[Callable[[Call], Any]], Callable[..., Any]]:
        """Declare a route and its contract.

        ``body``: the request model (``body_required=False``: an empty body means its defaults);
        ``response``: the model of the success answer (``status``); ``answers``: other statuses the
        route gives on purpose (the common error statuses are documented for every route);
        ``query``: the model of the query parameters, validated here (400 ``invalid_filter``,
        ``invalid_limit`` or ``invalid_cursor``); ``headers``: request headers the view reads.
        ``one_transaction``: the view's services join the access check's transaction
        (``db/request_transaction.tenant_transaction``), which commits once the view has answered.
        """
        if status != 204 and response is None:
            raise TypeError(f"{path}: declare the response model of {methods}")

        def decorate(view: Callable[[Call], Any]) -> Callable[..., Any]:
            info = RouteInfo(path, tuple(methods), access, view, self.name, status, body, response,
                             dict(answers or {}), query, tuple(headers), tuple(content_types), body_required,
                             media_type, one_transaction)
            @functools.wraps(view)
            def handler(**params: str) -> Response:
                request = self.blueprint.current_request
                request_id = (request.context or {}).get("requestId")
                observability.clear()
                observability.bind(request_id=request_id)
                started = time.perf_counter()
                # Path parameters as sent: API Gateway and Chalice leave them percent-encoded
                # (a client encoding `builtin:slack` sends `builtin%3Aslack`).
                call = Call(request=request, params={k: unquote(v) for k, v in params.items()}, request_id=request_id,
                            rate_limited=path.startswith("/api/"))
                with contextlib.ExitStack() as scope:  # the request's transaction (``one_transaction``) ends here
                    call.scope = scope if one_transaction else None
                    try:
                        call.principal = access.authorize(call)
                        if call.transaction is None:
                            _rate_limit(call)
                        if query is not None:
                            req.parse_query(query, call.query)
                        response = _idempotent(call, path,
                                               lambda: _committed(call, _to_response(view(call), status,
                                                                                     call.path(path))))
                    except SteplineError as exc:
                        _spend_after_failure(call, exc)
                        response = error_response(exc, request_id)
                    except Exception as exc:  # a database outage answers 503; anything else is our fault (500)
                        unavailable = db_faults.as_unavailable(exc)
                        if unavailable is not None:
                            observability.logger.warning("database unavailable",
                                                         extra={"error_type": type(exc).__name__})
                            response = error_response(unavailable, request_id)
                        else:
                            _spend_after_failure(call, exc)
                            response = unexpected_error_response(exc, request_id)
                response = contract.checked(info, response, request_id)
                for name, value in (call.rate_limit_headers or {}).items():
                    response.headers.setdefault(name, value)
                observability.logger.info(
                    "request",
                    extra={
                        "method": request.method,
                        "route": path,
                        "status": response.status_code,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    },
                )
                if request_id:
                    response.headers.setdefault("X-Request-Id", request_id)
                return response

            self.blueprint.route(path, methods=list(methods), content_types=list(content_types))(handler)
            ROUTE_TABLE.append(info)
            return view

        return decorate


def _rate_limit(call: Call) -> None:
    """The caller's API rate limit (``/api/*``, authenticated): its RateLimit headers on ``call``.

    The access policy spends in its own transaction (``access.Access``); a policy that did not is
    charged here. Raises 429 ``rate_limited`` (with ``Retry-After`` and the headers) when the bucket is empty.
    """
    if call.principal is None or not call.rate_limited:
        return
    if call.rate_limit_headers is None:
        call.rate_limit_headers = current().api_rate_limit(call.principal, None)


def _committed(call: Call, response: Response) -> Response:
    """The view's answer once the request's transaction (if it shares one) has spent and committed: a refused
    spend (429) rolls the view's work back, and an ``Idempotency-Key`` keeps only what was committed."""
    if call.transaction is not None:
        call.transaction.commit()
    return response


def _spend_after_failure(call: Call, exc: BaseException) -> None:
    """A call let through whose route then failed in the request's transaction: that transaction rolls back
    (its spend with it), so the spend is made in a transaction of its own, as it is for every other route."""
    shared = call.transaction
    if shared is None or shared.before_commit_ran:
        return
    shared.rollback()
    try:
        call.rate_limit_headers = current().api_rate_limit(call.principal, None)
    except RateLimited as refused:  # the failure answers; the headers say the bucket is empty
        call.rate_limit_headers = {k: v for k, v in refused.headers.items() if k.lower().startswith("ratelimit")}
    except Exception as fault:  # noqa: BLE001 - the failure answers; a spend that fails is only logged
        observability.logger.warning("rate limit not spent", extra={"error_type": type(fault).__name__})


def _idempotent(call: Call, path: str, respond: Callable[[], Response]) -> Response:
    """Honour ``Idempotency-Key`` on authenticated POSTs (see services/idempotency)."""
    key = call.headers.get("idempotency-key")
    if call.request.method != "POST" or key is None:
        return respond()
    idempotency: IdempotencyStore = current().idempotency
    route = f"POST {path}:{json.dumps(call.params, sort_keys=True)}"
    scope = idempotency.scope(call.principal, route, key)
    if scope is None:
        return respond()
    stored = idempotency.begin(scope, call.raw_body)
    if stored is not None:
        return json_response(stored.body, status=stored.status, headers={**stored.headers, "Idempotent-Replay": "true"})
    try:
        response = respond()
    except BaseException as exc:
        if not db_faults.is_unavailable(exc):  # with the database away, releasing the key would only wait again
            idempotency.finish(scope, 500, "", {})
        raise
    body = response.body if isinstance(response.body, str) else ""
    headers = {name: value for name, value in response.headers.items() if isinstance(value, str)}
    idempotency.finish(scope, response.status_code, body, headers)
    return response


def _to_response(result: Any, status: int, path: str) -> Response:
    if isinstance(result, Response):
        return result
    if status == 204:
        return Response(body="", status_code=204, headers={})
    headers = {}
    if status == 201 and isinstance(result, dict) and result.get("id"):
        headers["Location"] = f"{path.rstrip('/')}/{result['id']}"
    return json_response(result, status=status, headers=headers)
