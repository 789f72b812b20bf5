"""docs/architecture.md names only files that exist: every ``path/to/module.py`` it quotes is in the tree."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
# Paths are written from the repository root, or from chalicelib/ (``db/uow.py``, ``services/…``).
BASES = (ROOT, ROOT / "chalicelib")


def quoted_paths(text: str) -> set[str]:
    """Every ``a/b.py`` or ``a/b/`` in backquotes (a dotted name after the file, ``x.py.y``, is cut off)."""
    paths = set()
    for quoted in re.findall(r"`([^`\s]+)`", text):
        match = re.match(r"^([\w-]+(?:/[\w.-]+)*?/[\w-]+\.(?:py|json|md))", quoted)
        if match:
            paths.add(match.group(1))
    return paths


def test_every_module_path_the_architecture_page_quotes_exists():
    text = (ROOT / "docs" / "architecture.md").read_text()
    paths = quoted_paths(text)
    assert len(paths) > 40  # the check reads the page at all
    missing = sorted(p for p in paths if not any((base / p).exists() for base in BASES))
    assert missing == []


def test_the_check_sees_a_stale_path():
    assert quoted_paths("see `db/engine.py` and `services/authn.authenticate` and `x`") == {"db/engine.py"}
    assert not (ROOT / "chalicelib" / "db" / "engine.py").exists()
