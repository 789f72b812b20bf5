"""``python -m devstack.openapi``: write docs/openapi.json from the route table."""

from __future__ import annotations

import json
from pathlib import Path

from chalicelib.http.openapi import document

DOC = Path(__file__).resolve().parent.parent / "docs" / "openapi.json"


def render() -> str:
    import app  # noqa: F401  (registers every route)

    return json.dumps(document(), indent=2, sort_keys=False) + "\n"


if __name__ == "__main__":
    DOC.write_text(render())
    print(f"wrote {DOC}")
