"""Stable ids of the built-in catalog, and how references to apps, actions and templates read.

Built-in apps are not rows, so their ids derive from the catalog itself and
never change between deployments: ``builtin:slack`` (app), ``builtin:slack@1``
(its one, published version), ``builtin:slack:post_message`` (an action).
Custom apps, versions and actions have random UUIDs. A workflow node's
template reference is one of those action ids, or ``tpl:<name>`` for a
tenant's node template.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

BUILTIN_PREFIX = "builtin:"
TEMPLATE_PREFIX = "tpl:"
BUILTIN_VERSION = 1
_BUILTIN = re.compile(
    r"^builtin:(?P<slug>[a-z][a-z0-9_-]{1,62})(?:@(?P<version>[0-9]+)|:(?P<key>[a-z][a-z0-9_]{0,62}))?$"
)
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


@dataclass(frozen=True)
class BuiltinRef:
    """A parsed built-in id: ``kind`` is ``app``, ``version`` or ``action``."""

    kind: str
    slug: str
    key: str | None = None


def builtin_app_id(slug: str) -> str:
    return f"{BUILTIN_PREFIX}{slug}"


def builtin_version_id(slug: str) -> str:
    return f"{BUILTIN_PREFIX}{slug}@{BUILTIN_VERSION}"


def builtin_action_id(slug: str, key: str) -> str:
    return f"{BUILTIN_PREFIX}{slug}:{key}"


def is_builtin(value: str | None) -> bool:
    return isinstance(value, str) and value.startswith(BUILTIN_PREFIX)


def is_uuid(value: str | None) -> bool:
    return isinstance(value, str) and bool(_UUID.match(value))


def parse_builtin(value: str | None) -> BuiltinRef | None:
    """The parts of a built-in id, or ``None`` when ``value`` is not one (nothing is looked up)."""
    match = _BUILTIN.match(value or "")
    if match is None:
        return None
    if match["key"]:
        return BuiltinRef("action", match["slug"], match["key"])
    if match["version"]:
        return BuiltinRef("version", match["slug"]) if int(match["version"]) == BUILTIN_VERSION else None
    return BuiltinRef("app", match["slug"])


def template_name(ref: str | None) -> str | None:
    """The node-template name in a ``tpl:<name>`` reference."""
    if isinstance(ref, str) and ref.startswith(TEMPLATE_PREFIX):
        return ref[len(TEMPLATE_PREFIX) :]
    return None
