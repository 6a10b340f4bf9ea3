"""The IR's types: `TypeRef`, a Python type of the generated code as read from one schema."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Literal

import attrs

__all__ = ["SCALAR_HINTS", "STDLIB_IMPORTS", "TypeKind", "TypeRef", "union"]

TypeKind = Literal[
    "str", "int", "float", "bool", "uuid", "datetime", "date", "any", "null",
    "list", "dict", "model", "union",
]  # fmt: skip
SCALAR_HINTS: Mapping[str, str] = {
    "str": "str",
    "int": "int",
    "float": "float",
    "bool": "bool",
    "uuid": "UUID",
    "datetime": "datetime",
    "date": "date",
    "any": "Any",
    "null": "None",
}
"""The Python name of each scalar kind; UUID, datetime and date are imported from the stdlib."""
STDLIB_IMPORTS: Mapping[str, str] = {
    "uuid": "from uuid import UUID",
    "datetime": "from datetime import datetime",
    "date": "from datetime import date",
}


@attrs.frozen
class TypeRef:
    """A Python type of the generated code, as read from one schema.

    Scalars have no `args`; `list` has its item type, `dict` its value type (keys are str),
    `union` its members (`null` among them when the schema allows null); `model` names a
    generated class, enum or alias in `model`.
    """

    kind: TypeKind
    args: tuple[TypeRef, ...] = ()
    model: str = ""

    def hint(self, prefix: str = "") -> str:
        """The annotation, naming generated models with `prefix` (``models.`` in client.py)."""
        if self.kind == "model":
            return prefix + self.model
        if self.kind == "list":
            return f"list[{self.args[0].hint(prefix)}]"
        if self.kind == "dict":
            return f"dict[str, {self.args[0].hint(prefix)}]"
        if self.kind == "union":
            return " | ".join(member.hint(prefix) for member in self.args)
        return SCALAR_HINTS[self.kind]

    @property
    def members(self) -> tuple[TypeRef, ...]:
        """The members of a union; a single type is its own one member."""
        return self.args if self.kind == "union" else (self,)

    @property
    def nullable(self) -> bool:
        """Whether None is a value of this type."""
        return any(m.kind == "null" for m in self.members)

    def walk(self) -> Iterator[TypeRef]:
        """This type and every type inside it."""
        yield self
        for arg in self.args:
            yield from arg.walk()


def union(members: list[TypeRef]) -> TypeRef:
    """One type of `members`: the member itself when there is one, else their union."""
    return members[0] if len(members) == 1 else TypeRef("union", tuple(members))
