"""One implementation of each mechanism: a second copy of one of them fails here, naming where it stands.

Read from the source (``ast``), so a docstring that mentions a mechanism is not a copy of it.
"""

from __future__ import annotations

import ast
import functools
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("chalicelib", "step_handlers")


@functools.cache
def _modules() -> tuple[tuple[str, ast.Module], ...]:
    return tuple((str(path.relative_to(ROOT)), ast.parse(path.read_text(encoding="utf-8")))
                 for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py")))


def _docstrings(tree: ast.Module) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _where(predicate) -> list[str]:
    places = []
    for name, tree in _modules():
        places += [f"{name}:{node.lineno}" for node in ast.walk(tree) if predicate(node, tree)]
    return places


def _calls(dotted: str):
    def match(node: ast.AST, tree: ast.Module) -> bool:
        return isinstance(node, ast.Call) and ast.unparse(node.func) == dotted
    return match


# Ordered maps that are not a cache of derived values, each with its reason.
ORDERED_MAPS = {
    "chalicelib/cache.py": "the one cache type",
    # Each connection's server-side prepared statements: one thread per connection, and an evicted
    # statement must be closed on the server in the next round trip (BoundedCache forgets silently).
    "chalicelib/db/pg8000_tuning.py": "a connection's prepared statements",
}


def test_one_cache_type():
    # A least-recently-used map is chalicelib/cache.BoundedCache (or functools.lru_cache), never hand-rolled.
    places = _where(lambda node, tree: isinstance(node, ast.Name | ast.Attribute)
                    and (node.id if isinstance(node, ast.Name) else node.attr) == "OrderedDict")
    assert {p.split(":")[0] for p in places} <= set(ORDERED_MAPS), places
    assert "chalicelib/cache.py" in {p.split(":")[0] for p in places}


def test_one_http_client_factory():
    assert [p.split(":")[0] for p in _where(_calls("httpx.Client"))] == ["chalicelib/adapters/egress.py"]


def test_one_cipher_factory():
    # The container holds the process's one cipher, built by crypto/kek.build_cipher.
    assert [p.split(":")[0] for p in _where(_calls("EnvelopeCipher"))] == ["chalicelib/crypto/kek.py"]


def test_one_mask():
    # The mask is chalicelib/masking.MASK: no other module writes it out (docstrings may show it).
    places = []
    for name, tree in _modules():
        docs = _docstrings(tree)
        places += [f"{name}:{node.lineno}" for node in ast.walk(tree) if isinstance(node, ast.Constant)
                   and isinstance(node.value, str) and "••••" in node.value and id(node) not in docs]
    assert {p.split(":")[0] for p in places} <= {"chalicelib/masking.py"}, places


def test_one_definition_each():
    # The retry policy, delay clamping, secret masking, applying credentials and the cache are defined once each.
    wanted = {"RetryPolicy", "clamp_delay", "mask_secrets", "mask_value", "apply_credentials", "BoundedCache"}
    defined = Counter(node.name for _, tree in _modules() for node in ast.walk(tree)
                      if isinstance(node, ast.ClassDef | ast.FunctionDef) and node.name in wanted)
    assert defined == Counter(wanted), defined


def test_the_two_joins_share_one_body():
    from step_handlers import merge_race, wait_all

    assert wait_all.handle is merge_race.handle and wait_all.CONFIG_SCHEMA is merge_race.CONFIG_SCHEMA
