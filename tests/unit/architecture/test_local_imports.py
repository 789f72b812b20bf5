"""Imports of the project's own modules sit at the top of the module: an import hidden inside a function is
how a cycle between two modules goes unseen (the layer contracts read it, but the cycle stays), so each one
left is named here with the reason it is not a cycle."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
OWN = ("chalicelib", "step_handlers")

# (file, module imported inside a function) -> why it is there. Keep it short; every entry is a debt or a choice.
ALLOWED: dict[tuple[str, str], str] = {
    # Start-up cost, not cycles: every devstack command (`make migrate`, `make up`…) imports these modules, and
    # loading the service layer or the JWT libraries at their top made each command seconds slower.
    ("devstack/__main__.py", "chalicelib.services"): "the seeding commands only (start-up cost)",
    ("devstack/__main__.py", "chalicelib.services.connectors"): "the rewrap command only (start-up cost)",
    ("devstack/stack.py", "chalicelib.identity.tokens"): "a first key set only (start-up cost)",
}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _own_module(node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.ImportFrom):
        return [node.module] if node.module and node.level == 0 and node.module.startswith(OWN) else []
    return [alias.name for alias in node.names if alias.name.startswith(OWN)]


def local_imports(path: Path, root: Path) -> list[tuple[str, str, int]]:
    """(file, module, line) of every import of our own modules made inside a function body (type-only imports
    under ``if TYPE_CHECKING:`` are not code that runs, so they do not count)."""
    found: list[tuple[str, str, int]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for other in child.orelse:
                    visit(other, in_function)
                continue
            if in_function and isinstance(child, ast.Import | ast.ImportFrom):
                found.extend((str(path.relative_to(root)), module, child.lineno) for module in _own_module(child))
            visit(child, in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda))

    visit(ast.parse(path.read_text()), False)
    return found


def _sources(root: Path) -> list[Path]:
    paths = [root / "app.py"] if (root / "app.py").exists() else []
    for package in ("chalicelib", "step_handlers", "devstack"):
        paths.extend(sorted(root.joinpath(package).rglob("*.py")))
    return paths


def test_no_function_local_import_of_our_own_modules_outside_the_allow_list():
    # GIVEN every module of the app, its step types and the local stack
    found = [hit for path in _sources(ROOT) for hit in local_imports(path, ROOT)]
    # THEN each import of our own code made inside a function is one the allow-list names with its reason
    offenders = [f"{file}:{line}: {module}" for file, module, line in found if (file, module) not in ALLOWED]
    assert offenders == [], "move the shared piece to a lower module instead of importing late:\n" + "\n".join(
        offenders)


def test_the_allow_list_holds_nothing_that_is_gone():
    # an entry whose import was removed is dropped too, so the list only shrinks to what is really left
    found = {(file, module) for path in _sources(ROOT) for file, module, _ in local_imports(path, ROOT)}
    assert sorted(set(ALLOWED) - found) == []


def test_the_check_finds_a_hidden_import_and_skips_type_only_ones(tmp_path):
    # GIVEN a module with a function-local import, one in a nested function, and a TYPE_CHECKING block
    module = tmp_path / "m.py"
    module.write_text(
        "from typing import TYPE_CHECKING\n"
        "from chalicelib import config\n"
        "if TYPE_CHECKING:\n"
        "    from chalicelib.engine import graph\n"
        "def f():\n"
        "    from chalicelib.services import audit\n"
        "    import json\n"
        "    def g():\n"
        "        import step_handlers.http_request\n"
        "class C:\n"
        "    def m(self):\n"
        "        if TYPE_CHECKING:\n"
        "            from chalicelib import ids\n"
    )
    # WHEN the check reads it THEN the two runtime imports inside functions are found, nothing else
    assert [(m, line) for _, m, line in local_imports(module, tmp_path)] == [
        ("chalicelib.services", 6), ("step_handlers.http_request", 9)]
