"""Request bodies of the trigger API (pydantic; they also feed the OpenAPI document).

A trigger kind with settings of its own names a section of the bodies (``webhook``, ``schedule``) and
declares its models (:class:`~chalicelib.services.triggers.kinds.base.TriggerKind`): the bodies here
have no field per kind. :class:`KindSections` validates each section a body holds against the model of
the registered kind that owns it, and writes the sections into the JSON schema, both read from the
container's kinds when it happens (a request, the OpenAPI document), never at import.

Field checks that need the trigger domain (cron expression, timezone, secret
format, correlation expression) run in the service, which reports them with
JSON pointers into these bodies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    PrivateAttr,
    ValidationError,
    ValidatorFunctionWrapHandler,
    model_validator,
)
from pydantic_core import CoreSchema, InitErrorDetails, PydanticCustomError, core_schema

from chalicelib.services.triggers.kinds import kind_names, section_models
from chalicelib.services.triggers.kinds.base import SectionRole


class RegisteredName:
    """A string that must be one of the names a registry of the process holds when it is validated.

    The names are read at validation time and when the JSON schema is generated (an ``enum``, as a
    ``Literal`` gives), so a kind the composition root adds is accepted and documented with no edit here.
    ``stored``: a name read back from the database (an answer), which may be that of a kind the process no
    longer has; any name is then valid (what the answer says of it is the field's description).
    """

    def __init__(self, names: Callable[[], Iterable[str]], *, stored: bool = False) -> None:
        self.names = names
        self.stored = stored

    def _check(self, value: str) -> str:
        names = tuple(self.names())
        if value not in names and not self.stored:
            *first, last = names or ("nothing",)
            expected = f"{', '.join(map(repr, first))} or {last!r}" if first else repr(last)
            raise PydanticCustomError("literal_error", "Input should be {expected}", {"expected": expected})
        return value

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_after_validator_function(self._check, core_schema.str_schema())

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> dict[str, Any]:
        return {"enum": list(self.names()), "type": "string"}


# A trigger kind's name: one of the container's trigger kinds (``bootstrap.TRIGGER_KINDS``).
Kind = Annotated[str, RegisteredName(kind_names)]
# The kind of a stored trigger, in answers: one of the container's kinds, or one the deployment no longer has.
StoredKind = Annotated[str, RegisteredName(kind_names, stored=True)]


class SettingsModel(BaseModel):
    """Base of the request bodies and of a kind's settings sections: unknown fields refused, no coercion."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True)


class SectionView(BaseModel):
    """Base of a kind's section of the answer (what the API shows; secrets masked)."""

    model_config = ConfigDict(extra="forbid")


def _line_errors(exc: ValidationError, prefix: tuple[str | int, ...] = ()) -> list[InitErrorDetails]:
    # Each error keeps its type and message; the section's errors are located under the section's name.
    return [{"type": PydanticCustomError(error["type"], error["msg"]), "loc": prefix + tuple(error["loc"]),
             "input": error["input"]} for error in exc.errors()]


class KindSections(BaseModel):
    """A body (or answer) that holds the settings section of the registered kinds that have one.

    Each key of the JSON object that is a registered kind's section is validated against that kind's
    model for this body's :attr:`section_role`, its errors located under the section (``/webhook/path``);
    any other unknown key is refused as usual. The validated sections are :attr:`sections`.
    """

    section_role: ClassVar[SectionRole]
    # In the JSON schema the sections follow this field (None: after every field).
    sections_after: ClassVar[str | None] = None
    _sections: dict[str, BaseModel] = PrivateAttr(default_factory=dict)

    @property
    def sections(self) -> Mapping[str, BaseModel]:
        """The settings sections given (``null`` ones left out), by section name."""
        return self._sections

    @model_validator(mode="wrap")
    @classmethod
    def _kind_sections(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        if not isinstance(data, dict):
            return handler(data)
        models = section_models(cls.section_role)
        errors: list[InitErrorDetails] = []
        try:
            body = handler({key: value for key, value in data.items() if key not in models})
        except ValidationError as exc:
            errors += _line_errors(exc)
        sections: dict[str, BaseModel] = {}
        for name, (model, _) in models.items():
            if data.get(name) is None:
                continue
            try:
                sections[name] = model.model_validate(data[name])
            except ValidationError as exc:
                errors += _line_errors(exc, (name,))
        if errors:
            raise ValidationError.from_exception_data(cls.__name__, errors)
        body._sections = sections
        return body

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: CoreSchema, handler: GetJsonSchemaHandler) -> dict[str, Any]:
        json_schema = handler(schema)
        target = handler.resolve_ref_schema(json_schema)
        added: dict[str, Any] = {}
        for name, (model, owner) in section_models(cls.section_role).items():
            # ``null`` or the model, by reference (the handler names the model in the document's schemas).
            prop = handler(core_schema.with_default_schema(
                core_schema.nullable_schema(model.__pydantic_core_schema__), default=None))
            if cls.section_role == "view":
                prop["description"] = f"{owner.name.capitalize()} triggers only."
            added[name] = prop
        properties = target.setdefault("properties", {})
        names = list(properties)
        at = names.index(cls.sections_after) + 1 if cls.sections_after in names else len(names)
        target["properties"] = {**{n: properties[n] for n in names[:at]}, **added,
                                **{n: properties[n] for n in names[at:]}}
        return json_schema


class TriggerBody(SettingsModel, KindSections):
    """A new trigger: ``webhook`` settings or a cron ``schedule``; ``input`` is the default run input."""

    section_role: ClassVar[SectionRole] = "settings"

    kind: Kind
    name: str = Field("", max_length=200)
    enabled: bool = True
    input: Any = None


class TriggerChanges(SettingsModel, KindSections):
    """A partial update; the kind cannot change."""

    section_role: ClassVar[SectionRole] = "changes"

    name: str | None = Field(None, max_length=200)
    enabled: bool | None = None
    input: Any = None


MAX_OVERLAP_SECONDS = 30 * 86_400


class RotateSecretBody(SettingsModel):
    """``secret`` to install (required for Stripe, Shopify and Slack, whose secrets the vendor issues)."""

    secret: str | None = Field(None, min_length=1, max_length=1024)
    overlap_seconds: int | None = Field(None, ge=0, le=MAX_OVERLAP_SECONDS)


class FireBody(SettingsModel):
    """Start a run by hand; ``input`` defaults to the trigger's input."""

    mode: Literal["production", "test"] = "production"
    input: Any = None
