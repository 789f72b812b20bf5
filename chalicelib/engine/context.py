"""What a step handler sees besides its input: identity, time, ports, outcome.

``StepContext`` does no I/O of its own. The runner builds one per attempt,
injects the ports (an HTTP client, the action invoker, a clock), calls the
handler, then reads the outcome controls back with :meth:`StepContext.outcome`:
which ports were chosen, whether successors wait, which items fan out.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from chalicelib.engine.code import CodeRunner
from chalicelib.engine.errors import StepTimeout
from chalicelib.masking import is_secret_key, mask_value

ActionInvoker = Callable[[str, dict[str, Any], "dict[str, Any] | None", str], dict[str, Any]]
"""``invoke_action(template, input, credentials, idempotency_key) -> output``."""

LOG_LEVELS = ("debug", "info", "warning", "error")
MODES = ("test", "production")

# Field names whose values are masked in step logs, whatever a handler passes.


class Clock(abc.ABC):
    """Source of the current time, injectable so tests control it."""

    @abc.abstractmethod
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""


class SystemClock(Clock):
    """The real wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class HttpClient(Protocol):
    """The part of ``httpx.Client`` the HTTP step uses (streamed responses)."""

    def stream(self, method: str, url: str, *, params: Any = ..., json: Any = ..., data: Any = ...,
               headers: Any = ..., timeout: Any = ..., follow_redirects: Any = ...) -> AbstractContextManager[Any]: ...


@dataclass(frozen=True)
class StepOutcome:
    """The controls a handler set, read by the runner after the handler returned.

    ``chosen_ports`` is ``None`` when the handler did not choose (all ports are
    taken); ``successor_delay`` is seconds successors must wait (stored as
    ``not_before``); ``fan_out_items`` is set by ``for_each``; ``run_output`` by
    ``end``.
    """

    chosen_ports: frozenset[str] | None
    successor_delay: float | None
    fan_out_items: tuple[Any, ...] | None
    run_output: dict[str, Any] | None
    logs: tuple[dict[str, Any], ...]


class StepContext:
    """Identity of one step attempt, its ports, and the outcome controls."""

    def __init__(
        self,
        *,
        run_id: str,
        node_id: str,
        tenant_id: str,
        workspace_id: str,
        attempt: int = 1,
        mode: str = "production",
        instance_key: str = "",
        node_name: str | None = None,
        template: str | None = None,
        credentials_required: bool = True,
        idempotency_key: str | None = None,
        deadline: float | None = None,
        clock: Clock | None = None,
        http: HttpClient | None = None,
        invoke_action: ActionInvoker | None = None,
        code_runner: CodeRunner | None = None,
    ) -> None:
        if attempt < 1:
            raise ValueError("attempt starts at 1")
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        self.run_id = run_id
        self.node_id = node_id
        self.tenant_id = tenant_id
        self.workspace_id = workspace_id
        self.attempt = attempt
        self.mode = mode
        # "" on the main line, "3" for item 3 of a for_each, "3/1" nested (see planner).
        self.instance_key = instance_key
        self.node_name = node_name
        # The node's template reference (the action a node of type "action" calls).
        self.template = template
        # Whether the node's template needs a connection; set by the runner from the template.
        self.credentials_required = credentials_required
        self.idempotency_key = idempotency_key or default_idempotency_key(run_id, node_id, attempt, instance_key)
        # Epoch seconds by which the attempt must be done (step or run timeout, whichever is first).
        self.deadline = deadline
        self.clock: Clock = clock or SystemClock()
        self.http = http
        self.invoke_action = invoke_action
        # Runs tenant JavaScript in isolation (the code step); injected by the runner.
        self.code_runner = code_runner
        self._chosen_ports: frozenset[str] | None = None
        self._successor_delay: float | None = None
        self._fan_out_items: tuple[Any, ...] | None = None
        self._run_output: dict[str, Any] | None = None
        self._logs: list[dict[str, Any]] = []

    # -- time -----------------------------------------------------------------

    def remaining_seconds(self) -> float | None:
        """Seconds left before the deadline, ``None`` without one."""
        if self.deadline is None:
            return None
        return self.deadline - self.clock.now().timestamp()

    def check_deadline(self) -> None:
        """Raise ``StepTimeout`` once the deadline has passed."""
        remaining = self.remaining_seconds()
        if remaining is not None and remaining <= 0:
            raise StepTimeout("The step ran out of time before finishing.")

    # -- logging --------------------------------------------------------------

    def log(self, level: str, message: str, **fields: Any) -> None:
        """Collect a step log line; fields named like secrets are masked."""
        if level not in LOG_LEVELS:
            raise ValueError(f"level must be one of {LOG_LEVELS}")
        safe = {k: (mask_value(v) if is_secret_key(k) else v) for k, v in fields.items()}
        self._logs.append({"at": self.clock.now().isoformat(), "level": level, "message": message, "fields": safe})

    @property
    def logs(self) -> list[dict[str, Any]]:
        return list(self._logs)

    # -- outcome controls -----------------------------------------------------

    def choose_ports(self, *ports: str) -> None:
        """Take only these outgoing ports (condition, switch); the rest are skipped."""
        self._chosen_ports = frozenset(ports)

    def delay_successors(self, seconds: float) -> None:
        """Successors may start no sooner than ``seconds`` from now (never sleep)."""
        if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or not math.isfinite(seconds):
            raise ValueError("seconds must be a finite number")
        if seconds < 0:
            raise ValueError("seconds must not be negative")
        self._successor_delay = float(seconds)

    def fan_out(self, items: list[Any]) -> None:
        """Run the ``item`` branch once per item (for_each)."""
        self._fan_out_items = tuple(items)

    def mark_run_output(self, output: dict[str, Any]) -> None:
        """Record the run's output (end)."""
        self._run_output = output

    def outcome(self) -> StepOutcome:
        return StepOutcome(
            chosen_ports=self._chosen_ports,
            successor_delay=self._successor_delay,
            fan_out_items=self._fan_out_items,
            run_output=self._run_output,
            logs=tuple(self._logs),
        )


def default_idempotency_key(run_id: str, node_id: str, attempt: int, instance_key: str = "") -> str:
    """``run:node:attempt``; fan-out instances add ``@instance`` so items never share a key."""
    node_part = f"{node_id}@{instance_key}" if instance_key else node_id
    return f"{run_id}:{node_part}:{attempt}"
