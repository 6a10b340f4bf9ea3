"""What a column's name means: the user's mapping, a field's name or one of its aliases, and
the field a name not matched is likely a typo of.

Names are compared by `header_key`: case, accents, spaces and punctuation do not count
(``First Name`` = ``first_name`` = ``firstName``).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

import attrs

from .cells import BadValue, coerce, is_object

__all__ = [
    "ColumnOptions",
    "MappingError",
    "Matcher",
    "RequestFields",
    "Target",
    "header_key",
]

_LONG = 10
"""A column name (letters and digits) this long may be two typos from a field's to be named as
its likely meaning; a shorter one, one typo."""


class MappingError(ValueError):
    """The columns and the mapping options cannot work together; nothing was read."""


def header_key(name: str) -> str:
    """A column or field name as matching compares it: letters and digits only, casefolded,
    accents dropped. ``First Name``, ``first_name``, ``firstName`` -> ``firstname``;
    ``Prénom`` -> ``prenom``; a name of punctuation alone is kept as it is."""
    letters = "".join(
        c for c in unicodedata.normalize("NFKD", name.strip()).casefold() if c.isalnum()
    )
    return letters or name.strip()


@attrs.frozen
class RequestFields:
    """What a file's columns can become: a request model's fields, their aliases and the
    object that takes the columns no field claims."""

    wire_names: dict[str, str]
    """Python attribute name -> wire name."""
    types: dict[str, Any]
    """Wire name -> declared type."""
    aliases: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict)
    """Wire name -> other column names that mean that field (the spec's x-aliases)."""
    extra: str | None = None
    """The object field that takes columns matching no field (the spec's x-extra-columns)."""

    def find(self, name: str) -> str | None:
        """The wire name `name` means: itself, or the one field it equals by `header_key`."""
        if name in self.types:
            return name
        found = [wire for wire in self.types if header_key(wire) == header_key(name)]
        return found[0] if len(found) == 1 else None


@attrs.frozen
class Target:
    """Where a value goes: a field, or the key `key` of the object field `field`."""

    field: str
    key: str | None = None

    def __str__(self) -> str:
        return self.field if self.key is None else f"{self.field}[{self.key!r}]"


@attrs.frozen(kw_only=True)
class ColumnOptions:
    """What the user said about the columns."""

    maps: Mapping[str, str | None] = attrs.field(factory=dict)
    """Column -> ``FIELD`` or ``FIELD.KEY``, or None to leave the column out."""
    constants: Mapping[str, str] = attrs.field(factory=dict)
    """``FIELD`` or ``FIELD.KEY`` -> a value for every row, read as a cell of that field."""
    extra_to: str | None = None
    """The object field for columns matching no field, instead of the spec's."""
    strict: bool = False
    """Columns that would not be sent are an error."""
    list_separator: str = ";"


class Matcher:
    """Finds what a column name means: an explicit mapping, a field by name or alias."""

    def __init__(self, fields: RequestFields, options: ColumnOptions) -> None:
        self.fields = fields
        self.by_key: dict[str, tuple[str, int]] = {}
        """header_key -> (wire name, rank): 0 for the name, then each alias in order."""
        for wire in fields.types:
            self.by_key[header_key(wire)] = (wire, 0)
        for wire, names in fields.aliases.items():
            if wire in fields.types:
                for rank, alias in enumerate(names, 1):
                    self.by_key.setdefault(header_key(alias), (wire, rank))
        self.explicit = {
            column: None if spec is None else self.target(spec, f"--map {column}={spec}")
            for column, spec in options.maps.items()
        }
        self.explicit_keys = {header_key(column): column for column in options.maps}
        self.extra = options.extra_to or fields.extra
        if self.extra is not None and not is_object(fields.types.get(self.extra)):
            what = "--extra-columns-to" if options.extra_to else "the spec's x-extra-columns"
            raise MappingError(f"{what} {self.extra!r} is not an object field of the request")
        self.constants = tuple(
            (self.target(spec, f"--set {spec}"), self._constant(spec, text, options))
            for spec, text in options.constants.items()
        )

    def target(self, spec: str, what: str) -> Target:
        """The Target a ``FIELD`` or ``FIELD.KEY`` of an option names."""
        name, dot, key = spec.partition(".")
        wire = self.fields.find(name)
        if wire is None:
            near = self.nearest(name)
            hint = f"; did you mean {near}?" if near else ""
            fields = ", ".join(self.fields.types)
            raise MappingError(f"{what}: {name!r} is not a field of the request{hint} ({fields})")
        if dot and not key:
            raise MappingError(f"{what}: name the key after {wire}.")
        if dot and not is_object(self.fields.types[wire]):
            raise MappingError(f"{what}: {wire} is not an object field, so it has no keys")
        return Target(wire, key or None)

    def _constant(self, spec: str, text: str, options: ColumnOptions) -> Any:
        target = self.target(spec, f"--set {spec}")
        if target.key is not None:
            return text
        try:
            return coerce(text, self.fields.types[target.field], options.list_separator)
        except BadValue as exc:
            raise MappingError(f"--set {spec}={text}: {exc}") from None

    def explicit_for(self, name: str) -> tuple[str, Target | None] | None:
        """(the mapped column as the user wrote it, its target or None) if one names `name`."""
        column = name if name in self.explicit else self.explicit_keys.get(header_key(name))
        return None if column is None else (column, self.explicit[column])

    def field_for(self, name: str) -> tuple[str, int] | None:
        """(wire name, rank) of the field `name` is the name or an alias of."""
        return self.by_key.get(header_key(name))

    def nearest(self, name: str) -> str | None:
        """The field `name` is a typo of (a letter wrong, missing, extra or two swapped, two
        such in a long name) for the field's name or one of its aliases, if there is one."""
        key = header_key(name)
        limit = 2 if len(key) >= _LONG else 1
        found = [
            (d, wire)
            for other, (wire, _) in self.by_key.items()
            if (d := _typos(key, other)) <= limit
        ]
        return min(found)[1] if found else None


def _typos(one: str, other: str) -> int:
    """The optimal string alignment distance: letters changed, added, dropped or swapped."""
    if abs(len(one) - len(other)) > 2:
        return 3
    before: list[int] = []
    previous = list(range(len(other) + 1))
    for i, a in enumerate(one, 1):
        current = [i]
        for j, b in enumerate(other, 1):
            cost = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a != b))
            if i > 1 and j > 1 and a == other[j - 2] and one[i - 2] == b:
                cost = min(cost, before[j - 2] + 1)
            current.append(cost)
        before, previous = previous, current
    return previous[-1]
