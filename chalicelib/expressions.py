"""Safe templated expressions: ``{{ order.items[0].sku | default("x") }}``.

Used by connector templates (path, headers, query, body) and by workflow node
config. An expression is a dotted path into the input object, seen flat
(``{{ order.id }}``, not ``{{ input.order.id }}``), optionally followed by
filters. Nothing is ever evaluated as code: the grammar is paths, literals and
a fixed list of filters.

- A string that is exactly one ``{{ … }}`` renders to the raw value, keeping
  its type (a number stays a number, an object stays an object).
- A string with text around ``{{ … }}`` interpolates each value as text
  (objects and lists as compact JSON, ``None`` as the empty string).
- Dicts and lists are rendered recursively; other values pass through.
- An object ``{"$jsonata": "…"}`` is a JSONata expression, evaluated by
  :mod:`chalicelib.jsonata_expressions` over the same data (the input flat,
  ``$``-keys as variables) and replaced by its result.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

from chalicelib import jsonata_expressions
from chalicelib.errors import ValidationFailed

_EXPR = re.compile(r"\{\{\s*(.*?)\s*\}\}", re.DOTALL)
_PATH_TOKEN = re.compile(r"""([A-Za-z_$][A-Za-z0-9_\-$]*)|\[(\d+)\]|\[["']([^"'\]]+)["']\]|(\.)""")
_FILTER = re.compile(r"^([a-z_]+)(?:\((.*)\))?$", re.DOTALL)


class ExpressionError(ValidationFailed):
    """An expression is malformed or uses an unknown filter."""

    code = "invalid_expression"


class _Missing:
    """Marks a path that does not resolve."""

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return "MISSING"


MISSING: Any = _Missing()


def _to_text(value: Any) -> str:
    if value is None or value is MISSING:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    return str(value)


def _parse_literal(text: str) -> Any:
    text = text.strip()
    if text.startswith("'") and text.endswith("'") and len(text) >= 2:
        return text[1:-1]
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ExpressionError(f"Invalid literal {text!r} in expression.") from exc


_FILTERS: dict[str, Callable[..., Any]] = {
    "default": lambda v, d=None: d if v is MISSING or v is None or v == "" else v,
    "json": lambda v: json.dumps(None if v is MISSING else v, separators=(",", ":"), sort_keys=True),
    "string": lambda v: _to_text(v),
    "upper": lambda v: _to_text(v).upper(),
    "lower": lambda v: _to_text(v).lower(),
    "trim": lambda v: _to_text(v).strip(),
    "urlencode": lambda v: urllib.parse.quote(_to_text(v), safe=""),
    "int": lambda v: int(v) if v is not MISSING and v is not None else v,
    "float": lambda v: float(v) if v is not MISSING and v is not None else v,
    "length": lambda v: len(v) if isinstance(v, (str, list, dict)) else 0,
    "first": lambda v: v[0] if isinstance(v, list) and v else MISSING,
    "last": lambda v: v[-1] if isinstance(v, list) and v else MISSING,
    "keys": lambda v: list(v.keys()) if isinstance(v, dict) else [],
}


def parse_path(path: str) -> list[str | int]:
    """Split ``a.b[0]["c d"]`` into ``["a", "b", 0, "c d"]``."""
    parts: list[str | int] = []
    pos = 0
    expect_name = True
    while pos < len(path):
        m = _PATH_TOKEN.match(path, pos)
        if not m:
            raise ExpressionError(f"Invalid path {path!r} at position {pos}.")
        name, index, quoted, dot = m.groups()
        if dot:
            if expect_name:
                raise ExpressionError(f"Invalid path {path!r}: unexpected '.'.")
            expect_name = True
        elif name is not None:
            if not expect_name:
                raise ExpressionError(f"Invalid path {path!r}: missing '.' before {name!r}.")
            parts.append(name)
            expect_name = False
        elif index is not None:
            parts.append(int(index))
            expect_name = False
        else:
            parts.append(quoted)
            expect_name = False
        pos = m.end()
    if not parts or expect_name:
        raise ExpressionError(f"Invalid path {path!r}.")
    return parts


def lookup(data: Any, path: str) -> Any:
    """Resolve a dotted path in ``data``; ``MISSING`` when it does not resolve."""
    current = data
    for part in parse_path(path):
        if isinstance(part, int):
            if isinstance(current, list) and -len(current) <= part < len(current):
                current = current[part]
                continue
            return MISSING
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        else:
            return MISSING
    return current


def evaluate(expression: str, data: Any) -> Any:
    """Evaluate the inside of one ``{{ … }}``: a path or literal, then filters."""
    segments = _split_filters(expression)
    head = segments[0].strip()
    if not head:
        raise ExpressionError("Empty expression.")
    if _is_literal(head):
        value = _parse_literal(head)
    else:
        value = lookup(data, head)
    for segment in segments[1:]:
        m = _FILTER.match(segment.strip())
        if not m or m.group(1) not in _FILTERS:
            raise ExpressionError(f"Unknown filter {segment.strip()!r}.")
        args = [_parse_literal(a) for a in _split_args(m.group(2))] if m.group(2) else []
        try:
            value = _FILTERS[m.group(1)](value, *args)
        except (TypeError, ValueError) as exc:
            raise ExpressionError(f"Filter {m.group(1)!r} failed: {exc}") from exc
    return value


def _is_literal(head: str) -> bool:
    return head[0] in "\"'-0123456789[{" or head in ("true", "false", "null")


def _split_filters(expression: str) -> list[str]:
    """Split on ``|`` outside quotes."""
    out, buf, quote = [], [], ""
    for ch in expression:
        if quote:
            buf.append(ch)
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
            buf.append(ch)
        elif ch == "|":
            out.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    out.append("".join(buf))
    return out


def _split_args(text: str) -> list[str]:
    out, buf, quote, depth = [], [], "", 0
    for ch in text:
        if quote:
            buf.append(ch)
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
            buf.append(ch)
        elif ch in "[{":
            depth += 1
            buf.append(ch)
        elif ch in "]}":
            depth -= 1
            buf.append(ch)
        elif ch == "," and depth == 0:
            out.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    if "".join(buf).strip():
        out.append("".join(buf))
    return out


def render(template: Any, data: Any) -> Any:
    """Render every ``{{ … }}`` in ``template`` (recursively) against ``data``.

    A whole-string expression that does not resolve renders to ``None``.
    """
    if isinstance(template, str):
        whole = _EXPR.fullmatch(template.strip()) if template.strip().startswith("{{") else None
        if whole and template.strip().count("{{") == 1:
            value = evaluate(whole.group(1), data)
            return None if value is MISSING else value
        return _EXPR.sub(lambda m: _to_text(evaluate(m.group(1), data)), template)
    if isinstance(template, dict):
        if jsonata_expressions.is_jsonata(template):
            try:
                return jsonata_expressions.evaluate(template[jsonata_expressions.MARKER], data)
            except jsonata_expressions.JsonataSyntaxError as exc:  # saved before validation knew JSONata
                raise ExpressionError(exc.message) from None
        return {k: render(v, data) for k, v in template.items()}
    if isinstance(template, list):
        return [render(v, data) for v in template]
    return template


def references(template: Any) -> list[str]:
    """The raw expressions a template uses (for validation and diagnostics)."""
    found: list[str] = []
    if isinstance(template, str):
        found.extend(m.group(1) for m in _EXPR.finditer(template))
    elif isinstance(template, dict) and not jsonata_expressions.is_jsonata(template):
        for v in template.values():
            found.extend(references(v))
    elif isinstance(template, list):
        for v in template:
            found.extend(references(v))
    return found


def validate(template: Any) -> None:
    """Raise ``ExpressionError`` if any expression in ``template`` is malformed (JSONata ones compiled)."""
    for expression in references(template):
        evaluate(expression, {})
    for text in jsonata_references(template):
        problem = jsonata_expressions.syntax_problem(text)
        if problem:
            raise ExpressionError(problem)


def jsonata_references(template: Any) -> list[str]:
    """The JSONata expressions a template holds."""
    if isinstance(template, dict):
        if jsonata_expressions.is_jsonata(template):
            return [template[jsonata_expressions.MARKER]]
        return [t for v in template.values() for t in jsonata_references(v)]
    if isinstance(template, list):
        return [t for v in template for t in jsonata_references(v)]
    return []


SECRETS_ROOT = "$secrets"


def reads_secrets(expression: str) -> bool:
    """Whether one ``{{ … }}`` expression reads a ``$secrets`` value (in any spelling of the path)."""
    head = _split_filters(expression)[0].strip()
    if not head or _is_literal(head):
        return False
    try:
        return parse_path(head)[0] == SECRETS_ROOT
    except ExpressionError:
        return False


def uses_secrets(template: Any) -> bool:
    """Whether any expression in ``template`` reads ``$secrets``."""
    return any(reads_secrets(e) for e in references(template))


def secret_values(template: Any, data: Any) -> list[Any]:
    """The value of every ``$secrets`` expression in ``template``, after its filters.

    What a template sends is what must be masked in what a run records: the
    transformed forms (``| upper``, ``| urlencode``…) as well as the raw value.
    """
    return [evaluate(e, data) for e in references(template) if reads_secrets(e)]
