"""A base for kinds whose settings need no column of their own: plain fields in ``config``, secrets sealed.

A kind with settings of its own subclasses :class:`ConfiguredKind` and declares its ``name``, ``section``
(the key of its settings in the request and the answer) and its three models (``settings``, ``changes``,
``view``); storing, changing and showing the settings are here:

- plain fields are stored under ``config[section]`` (``config`` is never secret);
- the fields typed :class:`pydantic.SecretStr` are sealed together in the trigger's ``secret`` column
  (the envelope encryption of webhook secrets, bound to the tenant and the trigger), so a key rotation
  re-wraps them with every other trigger secret (``secrets_box.rewrap_triggers``); ``config`` keeps only
  a hint of each (its last characters, ``config["secret_hints"]``);
- the API shows a secret field masked (``••••abcd``); :meth:`ConfiguredKind.settings_of` opens it for
  the kind's own use (a tick that calls a vendor), never for a view, a log or a run's input;
- a change replaces the fields it sends (``null`` or absent: kept).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, SecretStr

from chalicelib.services.triggers import secrets
from chalicelib.services.triggers.kinds.base import NoSecretToRotate, invalid

HINTS = "secret_hints"  # config key: secret field → the hint shown masked


class ConfiguredKind:
    """A kind fired by hand or by its own :meth:`tick`, its settings in ``config[section]`` and ``secret``."""

    name: str
    section: str | None
    section_title: str
    settings: type[BaseModel] | None
    changes: type[BaseModel] | None
    view: type[BaseModel] | None

    def _store(self, tenant_id: str, trigger_id: str, given: BaseModel, fields: set[str],
               row: Mapping[str, Any] | None) -> dict[str, Any]:
        """The column values holding ``fields`` of ``given`` over what ``row`` holds (None: a new trigger)."""
        config = dict(row["config"] or {}) if row else {}
        plain = dict(config.get(self.section) or {}) if self.section else {}
        hints = dict(config.get(HINTS) or {})
        opened: dict[str, str] | None = None
        for field in fields:
            value = getattr(given, field)
            if value is None and row is not None:
                continue  # a change that does not set the field keeps it
            if isinstance(value, SecretStr):
                if opened is None:
                    opened = self._open(row) if row is not None else {}
                opened[field] = value.get_secret_value()
                hints[field] = secrets.hint(opened[field])
            else:
                plain[field] = value
        values: dict[str, Any] = {"config": {**config, self.section: plain, HINTS: hints}}
        if opened is not None:
            values["secret"] = secrets.seal_values(tenant_id, trigger_id, opened)
            values["secret_version"] = (row["secret_version"] if row else 0) + 1
        return values

    @staticmethod
    def _open(row: Mapping[str, Any]) -> dict[str, str]:
        if row["secret"] is None:
            return {}
        return secrets.unseal_values(str(row["tenant_id"]), str(row["id"]), row["secret"])

    def create(self, tenant_id: str, trigger_id: str, settings: Any, *, enabled: bool,
               now: dt.datetime) -> tuple[dict[str, Any], str | None]:
        if settings is None:
            raise invalid(f"/{self.section}", f"required for {self.name} triggers")
        return self._store(tenant_id, trigger_id, settings, set(type(settings).model_fields), None), None

    def change(self, row: Mapping[str, Any], settings: Any, *, enabled: bool,
               now: dt.datetime) -> tuple[dict[str, Any], str | None]:
        if settings is None:
            return {}, None
        return self._store(str(row["tenant_id"]), str(row["id"]), settings, set(settings.model_fields_set), row), None

    def activation(self, row: Mapping[str, Any], *, enabled: bool, now: dt.datetime) -> dict[str, Any]:
        return {"enabled": enabled}

    def present(self, row: Mapping[str, Any], *, now: dt.datetime | None, upcoming: int,
                new_secret: str | None) -> dict[str, Any] | None:
        config = row["config"] or {}
        hints = config.get(HINTS) or {}
        return {**(config.get(self.section) or {}), **{field: secrets.masked(hint) for field, hint in hints.items()}}

    def settings_of(self, row: Mapping[str, Any]) -> BaseModel:
        """The trigger's settings with its secrets opened (for the kind's own calls; never show them)."""
        assert self.settings is not None
        return self.settings.model_validate({**((row["config"] or {}).get(self.section) or {}), **self._open(row)})

    def rotate_secret(self, row: Mapping[str, Any], secret: str | None, *,
                      keep_previous_until: dt.datetime | None) -> tuple[dict[str, Any], str | None]:
        raise NoSecretToRotate(self.name)

    def tick(self, now: dt.datetime) -> int:
        return 0
