"""Response models of the platform routes: health, operator."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from chalicelib.api.contract import Out, Timestamp, page_of


class Check(Out):
    status: Literal["ok", "error"]
    latency_ms: float | None = None
    error: str | None = Field(None, description="The failure's kind (never a secret or a connection string).")


class Health(Out):
    status: Literal["ok", "degraded"]
    version: str
    checks: dict[str, Check]
    failing: list[str] | None = Field(None, description="The failing parts (503 only).")


class ResetDone(Out):
    tenants: dict[str, str] = Field(description="The demo tenants' ids by slug.")


class CapturedMail(Out):
    id: str
    to_address: str
    subject: str
    body: str
    kind: str
    created_at: Timestamp


class OpenApiDocument(Out):
    model_config = {"extra": "allow"}

    openapi: str
    info: dict[str, Any]
    paths: dict[str, Any]


MailPage = page_of(CapturedMail)
