"""``python -m devstack.security_doc``: rewrite the role matrix in docs/security.md from the route table.

The matrix lists every mutating route with the least role that may call it.
The role-matrix test reads the document back and checks each route × role
live, so the document is what the platform does.
"""

from __future__ import annotations

import re
from pathlib import Path

from chalicelib.http.routing import ROUTE_TABLE

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "security.md"
START, END = "<!-- role-matrix:start -->", "<!-- role-matrix:end -->"
MUTATING = ("POST", "PUT", "PATCH", "DELETE")
ROLES = ("viewer", "builder", "admin", "owner")


def matrix_rows() -> list[tuple[str, str, str]]:
    import app  # noqa: F401  (registers every route)

    rows = []
    for route in ROUTE_TABLE:
        for method in route.methods:
            if method in MUTATING:
                rows.append((method, route.path, route.access.name))
    return sorted(rows, key=lambda r: (r[1], r[0]))


def render(rows: list[tuple[str, str, str]]) -> str:
    lines = ["| method | path | least role | " + " | ".join(ROLES) + " |",
             "|---|---|---|" + "---|" * len(ROLES)]
    for method, path, role in rows:
        if role in ROLES:
            marks = ["✓" if ROLES.index(r) >= ROLES.index(role) else "403" for r in ROLES]
        else:
            marks = ["—"] * len(ROLES)
        lines.append(f"| {method} | `{path}` | {role} | " + " | ".join(marks) + " |")
    return "\n".join(lines)


def parse(text: str) -> dict[tuple[str, str], str]:
    section = text.split(START, 1)[1].split(END, 1)[0]
    found = {}
    for line in section.splitlines():
        m = re.match(r"^\| (POST|PUT|PATCH|DELETE) \| `([^`]+)` \| (\w+) \|", line)
        if m:
            found[(m.group(1), m.group(2))] = m.group(3)
    return found


def main() -> None:
    text = DOC.read_text()
    before, rest = text.split(START, 1)
    _, after = rest.split(END, 1)
    DOC.write_text(before + START + "\n" + render(matrix_rows()) + "\n" + END + after)
    print(f"role matrix written to {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
