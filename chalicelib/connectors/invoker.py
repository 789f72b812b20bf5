"""Invoke one connector action: validate, build, send with retries, check, and trace.

Inputs are checked before the call and outputs after. Retries cover only
transport-level faults — connection errors, 408/429 and 5xx — with bounded
attempts and total time, honouring ``Retry-After``; a 5xx or broken exchange
of a non-idempotent method is retried only when an ``Idempotency-Key`` makes
that safe. A 401 calls ``on_unauthorized()`` once for fresh credentials (the
OAuth2 refresh) and repeats the call once. Every trace, log line and error
message is masked: no credential leaves this module in clear.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from tenacity import (
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
)

from chalicelib.connectors.auth import AuthAdapter, adapter_for
from chalicelib.connectors.definition import ActionDefinition, ConnectorDefinition
from chalicelib.connectors.errors import (
    UpstreamConnectionFailed,
    UpstreamRateLimited,
    UpstreamTimeout,
    UpstreamUnauthorized,
    UpstreamUnavailable,
)
from chalicelib.connectors.http_transport import (
    DEFAULT_MAX_RESPONSE_BYTES,
    HttpTransport,
    RawResponse,
    Timeouts,
    default_transport,
)
from chalicelib.connectors.request_builder import BuiltRequest, build_request, check_call, effective_settings
from chalicelib.connectors.response_mapping import DecodedResponse, decode, error_for, output_for
from chalicelib.connectors.trace import (
    AttemptRecord,
    InvocationResult,
    InvocationTrace,
    TracedRequest,
    TracedResponse,
    trace_body,
)
from chalicelib.errors import SteplineError
from chalicelib.masking import SecretMasker, is_secret_key

logger = logging.getLogger(__name__)
Credentials = Mapping[str, Any]


class _Call:
    """The mutable state of one invocation (credentials may be refreshed mid-call)."""

    def __init__(self, credentials: Credentials, masker: SecretMasker) -> None:
        self.credentials = credentials
        self.masker = masker
        self.reauthorized = False
        self.attempts: list[AttemptRecord] = []
        self.pending_wait_ms = 0
        self.last_built: BuiltRequest | None = None
        self.last_raw: RawResponse | None = None
        self.last_decoded: DecodedResponse | None = None


def _masker_for(
    connector: ConnectorDefinition, adapter: AuthAdapter, credentials: Credentials
) -> SecretMasker:
    """Mask every credential that is secret, undeclared, or sensitive by name, plus what auth sends."""
    secrets: list[str] = []
    for name, value in credentials.items():
        if not isinstance(value, str):
            continue
        if (
            name in connector.secret_fields
            or name not in connector.declared_credential_fields
            or is_secret_key(name)
        ):
            secrets.append(value)
    try:
        material = adapter.material(credentials)
    except SteplineError:
        material = None
    if material is not None:
        secrets.extend(material.secret_values())
    return SecretMasker(
        [s for s in secrets if s],
        header_names=adapter.sensitive_headers,
        query_names=adapter.sensitive_query,
    )


class ActionInvoker:
    """Runs connector actions over an injectable (shared, pooled) HTTP transport."""

    def __init__(
        self,
        transport: HttpTransport | None = None,
        *,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._transport = transport
        self._max_response_bytes = max_response_bytes
        self._sleep = sleep

    @property
    def transport(self) -> HttpTransport:
        return self._transport or default_transport()

    def test_connection(
        self,
        connector: ConnectorDefinition,
        *,
        settings: Mapping[str, Any] | None,
        credentials: Credentials | None,
        on_unauthorized: Callable[[], Credentials | None] | None = None,
    ) -> InvocationResult:
        """Run the connector's test action with its sample input."""
        action = connector.action(connector.test_action)
        return self.invoke(
            connector,
            action.key,
            input=action.sample_input,
            settings=settings,
            credentials=credentials,
            on_unauthorized=on_unauthorized,
        )

    def invoke(
        self,
        connector: ConnectorDefinition,
        action_key: str,
        *,
        input: Mapping[str, Any] | None,
        settings: Mapping[str, Any] | None,
        credentials: Credentials | None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        on_unauthorized: Callable[[], Credentials | None] | None = None,
        single_attempt: bool = False,
    ) -> InvocationResult:
        """Call ``action_key``; failures raise a ``SteplineError`` carrying the masked ``trace``.

        ``single_attempt``: one send, no retry here — the caller (the workflow engine, whose step
        attempt is the unit that is recorded, backed off and keyed) owns the retries. One retry owner
        per call: an action with three attempts against a failing server makes three requests, not nine.
        """
        started = time.monotonic()
        action = connector.action(action_key)
        input = dict(input or {})
        settings = effective_settings(connector, settings)
        adapter = adapter_for(connector.auth)
        call = _Call(dict(credentials or {}), SecretMasker())
        call.masker = _masker_for(connector, adapter, call.credentials)
        check_call(connector, action, input=input, settings=settings, credentials=call.credentials)
        budget = (
            timeout if timeout is not None else max(action.timeout_seconds, action.max_total_seconds)
        )
        deadline = started + budget

        def attempt() -> DecodedResponse:
            return self._attempt(
                connector, action, adapter, call, input, settings, idempotency_key, deadline, on_unauthorized
            )

        retrying = Retrying(
            stop=stop_after_attempt(1 if single_attempt else action.retry.max_attempts) | stop_before_delay(budget),
            wait=self._wait_strategy(action),
            retry=retry_if_exception(lambda exc: self._may_retry(action, idempotency_key, exc)),
            before_sleep=lambda state: setattr(call, "pending_wait_ms", int(state.upcoming_sleep * 1000)),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            decoded = retrying(attempt)
            # A vendor echoing a credential must not plant it in step outputs (stored in plaintext).
            output = call.masker.values(output_for(action, decoded))
        except SteplineError as exc:
            self._fail(exc, connector, action, call, started)
            raise
        duration_ms = int((time.monotonic() - started) * 1000)
        trace = self._trace(call)
        logger.info(
            "connector action succeeded",
            extra={
                "connector": connector.slug,
                "action": action.key,
                "status": decoded.status,
                "duration_ms": duration_ms,
                "attempts": len(call.attempts),
                "url": trace.request.url if trace.request else None,
            },
        )
        return InvocationResult(status=decoded.status, output=output, duration_ms=duration_ms, trace=trace)

    # --- one attempt ---------------------------------------------------------------------------------

    def _attempt(
        self,
        connector: ConnectorDefinition,
        action: ActionDefinition,
        adapter: AuthAdapter,
        call: _Call,
        input: Mapping[str, Any],
        settings: Mapping[str, Any],
        idempotency_key: str | None,
        deadline: float,
        on_unauthorized: Callable[[], Credentials | None] | None,
    ) -> DecodedResponse:
        while True:  # runs at most twice: the second pass follows the single reauthorization
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise UpstreamTimeout("The action's time budget is exhausted.", phase="budget")
            per_attempt = min(action.timeout_seconds, remaining)
            call.last_built = build_request(
                connector,
                action,
                adapter,
                input=input,
                settings=settings,
                credentials=call.credentials,
                idempotency_key=idempotency_key,
            )
            sent_at = time.monotonic()
            waited, call.pending_wait_ms = call.pending_wait_ms, 0
            try:
                raw = self.transport.send(
                    call.last_built.request,
                    timeouts=Timeouts.for_budget(per_attempt),
                    max_response_bytes=action.max_response_bytes or self._max_response_bytes,
                )
            except SteplineError as exc:
                call.last_raw = call.last_decoded = None
                self._record(call, None, exc.code, sent_at, waited)
                raise
            call.last_raw, call.last_decoded = raw, decode(raw)
            error = error_for(action, call.last_decoded)
            self._record(call, raw.status, error.code if error else None, sent_at, waited)
            if (
                isinstance(error, UpstreamUnauthorized)
                and on_unauthorized is not None
                and not call.reauthorized
            ):
                call.reauthorized = True
                fresh = on_unauthorized()
                if fresh:
                    call.credentials = dict(fresh)
                    call.masker = call.masker.merged(_masker_for(connector, adapter, call.credentials))
                    continue
            if error is not None:
                raise error
            return call.last_decoded

    @staticmethod
    def _record(call: _Call, status: int | None, code: str | None, sent_at: float, waited_ms: int) -> None:
        call.attempts.append(
            AttemptRecord(
                number=len(call.attempts) + 1,
                status=status,
                error_code=code,
                duration_ms=int((time.monotonic() - sent_at) * 1000),
                waited_ms=waited_ms,
                after_reauthorization=call.reauthorized,
            )
        )

    # --- retry rules ---------------------------------------------------------------------------------

    @staticmethod
    def _may_retry(action: ActionDefinition, idempotency_key: str | None, exc: BaseException) -> bool:
        if isinstance(exc, UpstreamRateLimited):
            return True  # a 429 was not processed
        if isinstance(exc, UpstreamConnectionFailed) and not exc.request_sent:
            return True
        if isinstance(exc, UpstreamTimeout) and exc.phase in ("connect", "response"):
            return True  # never connected, or the server itself gave up (408) before processing
        if isinstance(exc, (UpstreamUnavailable, UpstreamTimeout, UpstreamConnectionFailed)):
            if isinstance(exc, UpstreamTimeout) and exc.phase == "budget":
                return False
            # The request may have been applied: repeat only what is safe to repeat.
            return action.is_idempotent or bool(idempotency_key)
        return False

    @staticmethod
    def _wait_strategy(action: ActionDefinition) -> Callable[[Any], float]:
        def wait(state: Any) -> float:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, UpstreamRateLimited) and exc.retry_after_seconds is not None:
                return exc.retry_after_seconds
            return action.retry.backoff(state.attempt_number)

        return wait

    # --- traces and failures -------------------------------------------------------------------------

    def _trace(self, call: _Call) -> InvocationTrace:
        masker = call.masker
        request = None
        if call.last_built is not None:
            built = call.last_built
            request = TracedRequest(
                method=built.request.method,
                url=masker.url(built.request.url),
                headers=masker.headers(built.request.headers),
                body=trace_body(masker, built.body_for_trace),
            )
        response = None
        if call.last_raw is not None and call.last_decoded is not None:
            response = TracedResponse(
                status=call.last_raw.status,
                headers=masker.headers(call.last_raw.headers),
                body=trace_body(masker, call.last_decoded.body),
            )
        return InvocationTrace(request=request, response=response, attempts=tuple(call.attempts))

    def _fail(
        self,
        exc: SteplineError,
        connector: ConnectorDefinition,
        action: ActionDefinition,
        call: _Call,
        started: float,
    ) -> None:
        exc.message = call.masker.text(exc.message)
        exc.args = (exc.message,)
        vendor_code = getattr(exc, "vendor_code", None)
        if vendor_code:
            exc.vendor_code = call.masker.text(vendor_code)  # type: ignore[attr-defined]
        exc.trace = self._trace(call)  # type: ignore[attr-defined]
        logger.warning(
            "connector action failed",
            extra={
                "connector": connector.slug,
                "action": action.key,
                "code": exc.code,
                "retryable": exc.retryable,
                "duration_ms": int((time.monotonic() - started) * 1000),
                "attempts": len(call.attempts),
                "error": exc.message,
                "url": exc.trace.request.url if exc.trace.request else None,  # type: ignore[attr-defined]
            },
        )


def invoke(
    connector: ConnectorDefinition,
    action_key: str,
    *,
    input: Mapping[str, Any] | None,
    settings: Mapping[str, Any] | None,
    credentials: Credentials | None,
    idempotency_key: str | None = None,
    timeout: float | None = None,
    on_unauthorized: Callable[[], Credentials | None] | None = None,
    transport: HttpTransport | None = None,
) -> InvocationResult:
    """Convenience wrapper over ``ActionInvoker`` (the process-wide pooled transport unless one is given)."""
    return ActionInvoker(transport).invoke(
        connector,
        action_key,
        input=input,
        settings=settings,
        credentials=credentials,
        idempotency_key=idempotency_key,
        timeout=timeout,
        on_unauthorized=on_unauthorized,
    )
