"""A base for kinds whose settings are kept in the trigger's ``config`` (JSON), secrets sealed.

A kind with settings of its own that needs no column of its own subclasses :class:`ConfiguredKind` and
declares its ``name``, ``section`` (the key of its settings in the request and the answer) and its three
models (``settings``, ``changes``, ``view``); everything else — storing, changing, showing — is here:

- the settings are stored under ``config[section]``;
- a field typed :class:`pydantic.SecretStr` is sealed with the platform's envelope encryption, bound to
  (tenant, ``triggers``, ``<trigger id>/<field>``), the way webhook secrets are; only its sealed form and
  a hint of its last characters are kept;
- the API shows it masked (``••••abcd``); :meth:`ConfiguredKind.settings_of` opens it for the kind's
  own use (a tick that calls a vendor), never for a view, a log or a run's input;
- a change replaces the fields it sends (``null`` or absent: kept).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, SecretStr

from chalicelib.services.triggers import secrets
from chalicelib.services.triggers.kinds.base import NoSecretToRotate, invalid

SEALED = "sealed"  # a secret field's stored form: {"sealed": envelope, "hint": "abcd"}


def _is_secret(model: type[BaseModel], field: str) -> bool:
    annotation = model.model_fields[field].annotation
    return annotation is SecretStr or SecretStr in getattr(annotation, "__args__", ())


class ConfiguredKind:
    """A kind that fires only by hand or through its own :meth:`tick`, its settings in ``config[section]``."""

    name: str
    section: str | None
    section_title: str
    settings: type[BaseModel] | None
    changes: type[BaseModel] | None
    view: type[BaseModel] | None

    def _stored(self, tenant_id: str, trigger_id: str, given: BaseModel, fields: set[str],
                before: Mapping[str, Any]) -> dict[str, Any]:
        stored = dict(before)
        for field in fields:
            value = getattr(given, field)
            if value is None and field in stored:
                continue  # a change that does not set the field keeps it
            if isinstance(value, SecretStr):
                plain = value.get_secret_value()
                stored[field] = {SEALED: secrets.seal(tenant_id, f"{trigger_id}/{field}", plain),
                                 "hint": secrets.hint(plain)}
            else:
                stored[field] = value
        return stored

    def create(self, tenant_id: str, trigger_id: str, settings: Any, *, enabled: bool,
               now: dt.datetime) -> tuple[dict[str, Any], str | None]:
        if settings is None:
            raise invalid(f"/{self.section}", f"required for {self.name} triggers")
        fields = set(type(settings).model_fields)
        return {"config": {self.section: self._stored(tenant_id, trigger_id, settings, fields, {})}}, None

    def change(self, row: Mapping[str, Any], settings: Any, *, enabled: bool,
               now: dt.datetime) -> tuple[dict[str, Any], str | None]:
        if settings is None:
            return {}, None
        assert self.section is not None
        config = dict(row["config"] or {})
        config[self.section] = self._stored(str(row["tenant_id"]), str(row["id"]), settings,
                                            set(settings.model_fields_set), config.get(self.section) or {})
        return {"config": config}, None

    def activation(self, row: Mapping[str, Any], *, enabled: bool, now: dt.datetime) -> dict[str, Any]:
        return {"enabled": enabled}

    def present(self, row: Mapping[str, Any], *, now: dt.datetime | None, upcoming: int,
                new_secret: str | None) -> dict[str, Any] | None:
        stored = (row["config"] or {}).get(self.section) or {}
        return {field: secrets.masked(value.get("hint")) if isinstance(value, dict) and SEALED in value else value
                for field, value in stored.items()}

    def settings_of(self, row: Mapping[str, Any]) -> BaseModel:
        """The trigger's settings with its secrets opened (for the kind's own calls; never show them)."""
        assert self.settings is not None
        stored = (row["config"] or {}).get(self.section) or {}
        opened: dict[str, Any] = {}
        for field, value in stored.items():
            if isinstance(value, dict) and SEALED in value and _is_secret(self.settings, field):
                opened[field] = secrets.unseal(str(row["tenant_id"]), f"{row['id']}/{field}", value[SEALED])
            else:
                opened[field] = value
        return self.settings.model_validate(opened)

    def rotate_secret(self, row: Mapping[str, Any], secret: str | None, *,
                      keep_previous_until: dt.datetime | None) -> tuple[dict[str, Any], str | None]:
        raise NoSecretToRotate(self.name)

    def tick(self, now: dt.datetime) -> int:
        return 0
