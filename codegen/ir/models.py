"""The IR's models: the classes, enums and aliases the parser reads from the schemas."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from .type_ref import TypeRef

__all__ = [
    "NO_DEFAULT",
    "AliasModel",
    "ClassModel",
    "EnumMember",
    "EnumModel",
    "Field",
    "Model",
]


class _NoDefault:
    def __repr__(self) -> str:
        return "NO_DEFAULT"


NO_DEFAULT: Any = _NoDefault()
"""The `default` of a field or parameter whose schema declares none."""


@attrs.frozen
class Field:
    """One attribute of a generated class: one property of its schema."""

    python_name: str
    wire_name: str
    type: TypeRef
    """Without UNSET: an optional field's annotation adds it (`annotation`)."""
    required: bool
    default: Any
    """The schema's default (JSON), or NO_DEFAULT; the server's, not the model's: an omitted
    optional field is UNSET."""
    description: str
    schema: Mapping[str, Any] = attrs.field(repr=False)
    """The property's schema as written: validation keywords the client does not check
    (maxLength, pattern...) are read from it by `leadkit diff` only."""

    def annotation(self, prefix: str = "") -> str:
        """The attribute's annotation: an optional field adds Unset, before None as ruff wants."""
        hint = self.type.hint(prefix)
        if self.required:
            return hint
        if hint == "None" or hint.endswith(" | None"):
            return hint.removesuffix("None") + "Unset | None"
        return f"{hint} | Unset"

    @property
    def docstring(self) -> str:
        """The description, the server's default and the wire name where they differ."""
        doc = self.description
        if self.default is not NO_DEFAULT and self.default is not None:
            doc = f"{doc} Server default: {self.default!r}.".strip()
        if self.wire_name != self.python_name:
            doc = f"{doc} Wire name: {self.wire_name}.".strip()
        return doc


@attrs.frozen
class ClassModel:
    """An attrs class: a schema of type object (an `allOf` with one `$ref` makes a subclass)."""

    name: str
    pointer: str
    """JSON pointer of the schema it is read from."""
    description: str
    base: str | None
    fields: tuple[Field, ...]
    """Its own fields; a subclass inherits its base's first."""
    in_responses: bool
    """Whether a response can contain it (`leadkit.codegen.reach`): then it keeps the fields
    a server sends beyond the spec, in `additional_properties`."""

    @property
    def docstring(self) -> str:
        return self.description.strip() or f"{self.name} object."

    @property
    def declares_extras(self) -> bool:
        """Whether the class declares `additional_properties` itself (a subclass inherits it)."""
        return self.base is None and self.in_responses

    @property
    def renames(self) -> tuple[tuple[str, str], ...]:
        """(python name, wire name) of each own field whose names differ."""
        return tuple(
            (f.python_name, f.wire_name) for f in self.fields if f.python_name != f.wire_name
        )


@attrs.frozen
class EnumMember:
    """One value of an enum and the member name it has."""

    name: str
    value: Any


@attrs.frozen
class EnumModel:
    """An enum class: a schema with `enum` values."""

    name: str
    pointer: str
    description: str
    base: str
    """StrEnum, IntEnum or Enum."""
    members: tuple[EnumMember, ...]


@attrs.frozen
class AliasModel:
    """A type alias: a named schema that is no object, e.g. an `anyOf` or an array."""

    name: str
    pointer: str
    description: str
    target: TypeRef


Model = ClassModel | EnumModel | AliasModel
