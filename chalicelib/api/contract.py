"""Building blocks of the response models: one base, pages, timestamps, free-form JSON.

Response models describe what a route answers (they feed the OpenAPI document
and the console's generated types). They forbid undeclared fields, and the
test suite validates every answer against its route's model (see
``chalicelib/http/routing``), so a field that a view adds without declaring it
fails the tests instead of silently missing from the contract.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

Timestamp = dt.datetime
JsonObject = dict[str, Any]


class Out(BaseModel):
    """Base of every response model."""

    model_config = ConfigDict(extra="forbid")


_PAGES: dict[type, type[Out]] = {}


def page_of(item: type[BaseModel], *, cursor: str = "Opaque; pass it back as `cursor` for the next page.") -> type[Out]:
    """``{"items": [item...], "next_cursor": str | null}`` under the name ``<Item>Page``."""
    if item not in _PAGES:
        _PAGES[item] = create_model(
            f"{item.__name__}Page",
            __base__=Out,
            items=(list[item], ...),  # type: ignore[valid-type]
            next_cursor=(str | None, Field(..., description=cursor)),
        )
    return _PAGES[item]


class Accepted(Out):
    """A 202 answer to work that continues in the background."""

    status: str
    message: str


# --- query parameters -------------------------------------------------------------------------------

UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
CURSOR_PATTERN = r"^[A-Za-z0-9_-]+$"


class Query(BaseModel):
    """Query parameters of a route: validated at the edge, documented from the same model."""

    model_config = ConfigDict(extra="ignore")


class ListQuery(Query):
    limit: int | None = Field(None, ge=1, le=200, description="Page size (default 50).")
    cursor: str | None = Field(None, min_length=1, max_length=2000, pattern=CURSOR_PATTERN,
                               description="The `next_cursor` of the previous page.")


class CreatedRange(Query):
    created_after: dt.datetime | None = Field(None, description="RFC 3339; inclusive.")
    created_before: dt.datetime | None = Field(None, description="RFC 3339; exclusive.")


def id_param(description: str) -> Any:
    return Field(None, pattern=UUID_PATTERN, description=description)


class SortedListQuery(ListQuery):
    order: Literal["desc", "asc"] | None = Field(None, description="By creation time; default newest first.")
