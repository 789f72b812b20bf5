"""Auth adapters: turn a connection's credentials into request headers or query parameters.

One adapter per auth type of the connector format. Adapters are declarative
(no credential ever enters a template), and each says which header and query
names carry secrets so traces and logs can mask them by name as well as by
value.
"""

from __future__ import annotations

import base64
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from chalicelib.connectors.definition import (
    ApiKeyAuth,
    AuthConfig,
    BasicAuth,
    CustomHeaderAuth,
)
from chalicelib.connectors.errors import InvalidActionInput


@dataclass(frozen=True)
class AuthMaterial:
    """What the auth adds to a request."""

    headers: Mapping[str, str] = field(default_factory=dict)
    query: tuple[tuple[str, str], ...] = ()

    def secret_values(self) -> list[str]:
        """Everything it sends that must be masked: header values, the token behind a scheme, query values."""
        values: list[str] = []
        for value in self.headers.values():
            values.append(value)
            values.append(value.partition(" ")[2])  # the token behind "Bearer "/"Basic "
        values.extend(value for _, value in self.query)
        return [value for value in values if value]


class AuthAdapter(ABC):
    """Applies one auth type."""

    sensitive_headers: frozenset[str] = frozenset()
    sensitive_query: frozenset[str] = frozenset()

    @abstractmethod
    def material(self, credentials: Mapping[str, Any]) -> AuthMaterial:
        """Headers/query to add; ``InvalidActionInput`` when a needed credential is missing."""


def _required(credentials: Mapping[str, Any], name: str) -> str:
    value = credentials.get(name)
    if value is None or value == "":
        raise InvalidActionInput(
            "The connection lacks a credential this app needs.",
            details=[{"path": f"/credentials/{name}", "issue": "is required"}],
        )
    if not isinstance(value, str):
        raise InvalidActionInput(
            "A credential has the wrong type.",
            details=[{"path": f"/credentials/{name}", "issue": "must be a string"}],
        )
    return value


class ApiKeyAdapter(AuthAdapter):
    def __init__(self, config: ApiKeyAuth) -> None:
        self.config = config
        if config.location == "header":
            self.sensitive_headers = frozenset({config.name.lower()})
        else:
            self.sensitive_query = frozenset({config.name.lower()})

    def material(self, credentials: Mapping[str, Any]) -> AuthMaterial:
        value = self.config.prefix + _required(credentials, self.config.field)
        if self.config.location == "header":
            return AuthMaterial(headers={self.config.name: value})
        return AuthMaterial(query=((self.config.name, value),))


class BasicAdapter(AuthAdapter):
    sensitive_headers = frozenset({"authorization"})

    def __init__(self, config: BasicAuth) -> None:
        self.config = config

    def material(self, credentials: Mapping[str, Any]) -> AuthMaterial:
        username = _required(credentials, self.config.username_field)
        password = ""
        if self.config.password_field:
            raw = credentials.get(self.config.password_field)
            password = raw if isinstance(raw, str) else ""
        token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        return AuthMaterial(headers={"Authorization": f"Basic {token}"})


class BearerAdapter(AuthAdapter):
    sensitive_headers = frozenset({"authorization"})

    def __init__(self, field_name: str, scheme: str = "Bearer") -> None:
        self.field_name = field_name
        self.scheme = scheme

    def material(self, credentials: Mapping[str, Any]) -> AuthMaterial:
        return AuthMaterial(
            headers={"Authorization": f"{self.scheme} {_required(credentials, self.field_name)}"}
        )


class CustomHeaderAdapter(AuthAdapter):
    def __init__(self, config: CustomHeaderAuth) -> None:
        self.config = config
        self.sensitive_headers = frozenset({config.header.lower()})

    def material(self, credentials: Mapping[str, Any]) -> AuthMaterial:
        return AuthMaterial(
            headers={self.config.header: self.config.prefix + _required(credentials, self.config.field)}
        )


class NoAuthAdapter(AuthAdapter):
    def material(self, credentials: Mapping[str, Any]) -> AuthMaterial:
        return AuthMaterial()


_FACTORIES: dict[str, Any] = {
    "api_key": ApiKeyAdapter,
    "basic": BasicAdapter,
    "bearer": lambda auth: BearerAdapter(auth.field, auth.scheme),
    "custom_header": CustomHeaderAdapter,
    # OAuth2 calls carry the stored access token as a bearer; obtaining it is oauth2.py's job.
    "oauth2": lambda auth: BearerAdapter(auth.access_token_field),
    "none": lambda auth: NoAuthAdapter(),
}


def adapter_for(auth: AuthConfig) -> AuthAdapter:
    """The adapter for one auth config of the connector format."""
    return _FACTORIES[auth.type](auth)
