"""JSONata expressions in node config: ``{"$jsonata": "$sum(items)"}``.

A config value that is an object with the single key ``$jsonata`` (a string)
is a JSONata expression; everything else keeps the ``{{ … }}`` template rules
of :mod:`chalicelib.expressions`, which delegates here when it meets the
marker. The marker is an object, not a string prefix, so no string a tenant
stores (a password starting with ``=``, a template) can become code by
accident, and it survives any JSON round trip unchanged.

What an expression sees:

- the input, flat (``$sum(items)``, ``order.id``), as templates do;
- ``$env``, ``$trigger`` and ``$run`` as variables (the engine puts them in the
  data under those keys; every ``$``-key becomes a binding, not a field);
- never secrets: a ``$secrets`` key is dropped before evaluation, so an
  expression that names ``$secrets`` evaluates to nothing.

Expressions are parsed once per process and text (an LRU cache: every run of
a workflow version shares the parsed form) and evaluated with a time limit, a
depth limit and an output size limit. A failure at run time is a
non-retryable step error with a stable code; a syntax error is an
:class:`~chalicelib.expressions.ExpressionError` (refused at graph save).
"""

from __future__ import annotations

import copy
import json
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jsonata
from jsonata import jexception

from chalicelib.engine.errors import NonRetryableStepError
from chalicelib.errors import ValidationFailed

MARKER = "$jsonata"
MAX_EXPRESSION_CHARS = 10_000
HIDDEN_BINDINGS = frozenset({"$secrets"})


class JsonataSyntaxError(ValidationFailed):
    """A JSONata expression does not parse."""

    code = "invalid_expression"


class ExpressionFailed(NonRetryableStepError):
    """A JSONata expression raised an error while evaluating."""

    code, default_message = "expression_failed", "A JSONata expression failed."


class ExpressionTimeout(ExpressionFailed):
    """A JSONata expression ran past its time or depth limit."""

    code, default_message = "expression_timeout", "A JSONata expression ran too long."


class ExpressionOutputTooLarge(ExpressionFailed):
    """A JSONata expression produced more than the output limit."""

    code, default_message = "expression_output_too_large", "A JSONata expression produced too much data."


@dataclass(frozen=True)
class JsonataLimits:
    """Per-evaluation bounds; validated on creation."""

    timeout_ms: int = 500
    max_depth: int = 300
    max_output_bytes: int = 1_048_576

    def __post_init__(self) -> None:
        if not (1 <= self.timeout_ms <= 60_000 and 10 <= self.max_depth <= 10_000 and self.max_output_bytes >= 1):
            raise ValueError("JSONata limits out of range")


DEFAULT_LIMITS = JsonataLimits()
_LIMITS = threading.local()


def is_jsonata(value: Any) -> bool:
    """Whether ``value`` is the JSONata marker ``{"$jsonata": "<expression>"}``."""
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get(MARKER), str)


def syntax_problem(text: str) -> str | None:
    """Why ``text`` does not compile, or ``None`` when it does."""
    try:
        compiled(text)
    except JsonataSyntaxError as exc:
        return exc.message
    return None


@lru_cache(maxsize=4096)
def compiled(text: str) -> jsonata.Jsonata:
    """The parsed expression (cached: parsing costs far more than a typical evaluation)."""
    if len(text) > MAX_EXPRESSION_CHARS:
        raise JsonataSyntaxError(f"JSONata expression longer than {MAX_EXPRESSION_CHARS} characters.")
    if not text.strip():
        raise JsonataSyntaxError("Empty JSONata expression.")
    saved = getattr(jsonata.Jsonata.CURRENT, "jsonata", None)
    try:
        parsed = jsonata.Jsonata(text)
    except jexception.JException as exc:
        raise JsonataSyntaxError(f"JSONata syntax error: {_describe(exc)}") from None
    except Exception as exc:  # the parser's own faults on odd input are syntax errors too
        raise JsonataSyntaxError(f"JSONata syntax error: {type(exc).__name__}: {str(exc)[:200]}") from None
    finally:
        # Constructing an expression makes it the thread's "current" one; restore the previous.
        if saved is not None:
            jsonata.Jsonata.CURRENT.jsonata = saved
    if parsed.errors:
        raise JsonataSyntaxError(f"JSONata syntax error: {_describe(parsed.errors[0])}")
    return parsed


def evaluate(text: str, data: Any, limits: JsonataLimits | None = None) -> Any:
    """Evaluate ``text`` over ``data`` (flat input; ``$``-keys become variables, secrets dropped).

    Returns plain JSON values (``None`` for JSONata's *undefined*).
    """
    limits = limits or getattr(_LIMITS, "value", None) or DEFAULT_LIMITS
    parsed = compiled(text)
    document, bindings = _split(data)
    # The library keeps evaluation state on a per-thread "current" instance (its
    # $now() reads the timestamp from there): give each evaluation its own
    # shallow copy, sharing the parsed tree, so runs and threads never share state.
    instance = copy.copy(parsed)
    jsonata.Jsonata.CURRENT.jsonata = instance
    frame = jsonata.Jsonata.Frame(None)
    frame.set_runtime_bounds(limits.timeout_ms, limits.max_depth)  # the clock starts now
    for name, value in bindings.items():
        frame.bind(name, value)
    try:
        result = instance.evaluate(document, frame)
    except jexception.JException as exc:
        if exc.error in ("D1011", "D1012", "U1001"):
            raise ExpressionTimeout(
                f"The JSONata expression ran past its limit of {limits.timeout_ms} ms "
                f"or {limits.max_depth} nested evaluations.",
                info={"timeout_ms": limits.timeout_ms, "max_depth": limits.max_depth},
            ) from None
        raise ExpressionFailed(f"JSONata error: {_describe(exc)}", info={"jsonata_code": exc.error}) from None
    except RecursionError:
        raise ExpressionTimeout("The JSONata expression nested too deeply.") from None
    except Exception as exc:  # the library's own faults on unexpected input are the expression's failure
        raise ExpressionFailed(f"JSONata error: {type(exc).__name__}: {str(exc)[:200]}") from None
    return _plain(result, limits)


class limits_in_effect:  # noqa: N801 - used as a context manager, reads like one
    """Use other limits for evaluations on this thread (tests, benchmarks, settings)."""

    def __init__(self, limits: JsonataLimits) -> None:
        self.limits = limits
        self.previous: JsonataLimits | None = None

    def __enter__(self) -> JsonataLimits:
        self.previous = getattr(_LIMITS, "value", None)
        _LIMITS.value = self.limits
        return self.limits

    def __exit__(self, *exc: object) -> None:
        _LIMITS.value = self.previous


def _split(data: Any) -> tuple[Any, dict[str, Any]]:
    if not isinstance(data, dict):
        return data, {}
    document = {k: v for k, v in data.items() if not (isinstance(k, str) and k.startswith("$"))}
    bindings = {
        k[1:]: v for k, v in data.items() if isinstance(k, str) and k.startswith("$") and k not in HIDDEN_BINDINGS
    }
    return document, bindings


def _plain(result: Any, limits: JsonataLimits) -> Any:
    """JSON values only (sequences become lists, functions are refused), within the size limit."""
    if result is None:
        return None
    try:
        encoded = json.dumps(result, separators=(",", ":"), ensure_ascii=False, allow_nan=False,
                             default=_refuse)
    except (TypeError, ValueError) as exc:
        raise ExpressionFailed(f"The JSONata expression did not produce JSON: {exc}") from None
    if len(encoded.encode("utf-8")) > limits.max_output_bytes:
        raise ExpressionOutputTooLarge(
            f"The JSONata expression produced more than {limits.max_output_bytes} bytes.",
            info={"max_output_bytes": limits.max_output_bytes},
        )
    return json.loads(encoded, parse_float=_number)


def _number(text: str) -> int | float:
    # JSON has one number type: integral results read back as ints (6, not 6.0).
    value = float(text)
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def _refuse(value: Any) -> Any:
    raise TypeError(f"a {type(value).__name__} is not a JSON value")


def _describe(exc: Any) -> str:
    code = getattr(exc, "error", None)
    message = str(exc) or code or type(exc).__name__
    where = getattr(exc, "location", None)
    text = f"{message} ({code}" + (f", at position {where})" if isinstance(where, int) and where >= 0 else ")")
    return text if len(text) <= 300 else text[:297] + "..."
