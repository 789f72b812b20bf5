"""Request bodies of the workflow and run routes (pydantic, ``extra="forbid"``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from chalicelib.api.models import Body
from chalicelib.engine.retry import MAX_RUN_SECONDS

FlowStatus = Literal["draft", "test", "production"]
EnvValue = str | int | float | bool


class SecretRef(Body):
    """A secret resolved at run time from a connection's field; its value is never stored with a run."""

    connection_id: str = Field(min_length=1, max_length=64)
    field: str = Field(min_length=1, max_length=100)


class FlowSettings(Body):
    description: str | None = Field(None, max_length=5000)
    status: FlowStatus | None = None
    enabled: bool | None = None
    start_payload: dict[str, Any] | None = None
    input_schema: dict[str, Any] | None = None
    env: dict[str, EnvValue] | None = Field(None, max_length=100)
    secrets: dict[str, SecretRef] | None = Field(None, max_length=100)
    run_timeout_seconds: float | None = Field(None, gt=0, le=MAX_RUN_SECONDS)


class CreateFlowBody(FlowSettings):
    title: str = Field(min_length=1, max_length=200)
    graph: dict[str, Any] | None = None


class UpdateFlowBody(FlowSettings):
    title: str | None = Field(None, min_length=1, max_length=200)


class PublishBody(Body):
    note: str = Field("", max_length=500)


class StartRunBody(Body):
    mode: Literal["test", "production"] = "test"
    input: Any = None
    version: int | None = Field(None, ge=1)


class RerunBody(Body):
    from_: Literal["start", "failed"] = Field("start", alias="from")
    version: Literal["same", "latest"] = "same"


def settings_fields(body: FlowSettings) -> dict[str, Any]:
    """The fields the caller set, as plain data (``None`` clears nullable ones)."""
    fields = body.model_dump(exclude_unset=True, by_alias=False)
    for required in ("title", "status", "enabled", "env", "secrets", "start_payload", "description"):
        if fields.get(required, "") is None:
            fields.pop(required)
    return fields
