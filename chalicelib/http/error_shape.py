"""The one error shape of every route, as a model: the OpenAPI document declares it, the contract check holds
every error answer to it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="JSON pointer to the offending value.")
    issue: str


class ErrorInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(description="Stable snake_case error code.")
    message: str = Field(description="A human sentence; never repeats a credential.")
    details: list[ErrorDetail] | None = None
    request_id: str | None = Field(None, description="Quote it when reporting a problem.")


class Error(BaseModel):
    """The one error shape of every route."""

    model_config = ConfigDict(extra="forbid")

    error: ErrorInfo
