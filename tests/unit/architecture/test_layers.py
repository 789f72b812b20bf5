"""The layer rules of docs/architecture.md, as import-graph contracts (``.importlinter``)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_the_import_graph_keeps_every_layer_contract():
    # GIVEN the contracts of .importlinter WHEN import-linter reads the code's imports THEN none is broken
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports; "
                               "sys.exit(lint_imports(no_logo=True, no_cache=True))"],
        cwd=ROOT, capture_output=True, text=True, timeout=240, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


WIRING_VERBS = ("register", "install", "override", "set_", "on_")


def _called_name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _wiring(path: Path) -> list[str]:
    """Module-level calls that wire or register (``messages.register(...)``, ``bridge.install()``), and
    module-level setters of process state (a ``set_*``/``override``/``on_*`` function rebinding a global)."""
    found = []
    for statement in ast.parse(path.read_text()).body:
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
            name = _called_name(statement.value)
            if name.startswith(WIRING_VERBS):
                found.append(f"{path.relative_to(ROOT)}:{statement.lineno}: calls {name}() at import")
        if isinstance(statement, ast.FunctionDef) and statement.name.startswith(("set_", "override", "on_")):
            if any(isinstance(node, ast.Global) for node in ast.walk(statement)):
                found.append(f"{path.relative_to(ROOT)}:{statement.lineno}: setter {statement.name}()")
    return found


def test_no_module_outside_the_composition_root_wires_or_registers():
    # GIVEN every module of the package but chalicelib/bootstrap.py (app.py only declares Chalice's functions
    # and boots the container) THEN none wires at import or offers a setter of process state
    modules = [*ROOT.joinpath("chalicelib").rglob("*.py"), *ROOT.joinpath("step_handlers").rglob("*.py")]
    offenders = [hit for path in sorted(modules) if path != ROOT / "chalicelib" / "bootstrap.py"
                 for hit in _wiring(path)]
    assert offenders == []


def test_the_wiring_check_finds_what_it_looks_for(tmp_path, monkeypatch):
    # the check itself can fail: an import-time registration and a global setter are both caught
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    module = tmp_path / "wired.py"
    module.write_text("messages.register('kind', handler)\n\ndef set_cipher(value):\n    global _c\n    _c = value\n")
    assert [hit.split(": ", 1)[1] for hit in _wiring(module)] == ["calls register() at import", "setter set_cipher()"]
