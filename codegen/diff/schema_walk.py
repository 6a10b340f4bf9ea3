"""Compare two IRs' types in one direction, following named models into their fields.

A type is read from the IR (`TypeRef`): what the generated client takes or gives. The
schema as written rides along, for what the IR deliberately drops: the validation keywords
the server applies and the client does not check (maxLength, minimum, pattern...) and the
server's defaults.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from ..errors import pointer_parts
from ..ir import AliasModel, Api, ClassModel, EnumModel, Field, Model, TypeRef
from ..load import resolve
from ..schemas import CARRIED_FORMATS
from .changes import Change, Location, classify

__all__ = ["SchemaWalker", "Shape", "schema_name", "show_type", "type_atoms"]

_MISSING = object()
_LOWER_BOUNDS = ("minLength", "minItems", "minProperties", "minimum", "exclusiveMinimum")
_UPPER_BOUNDS = ("maxLength", "maxItems", "maxProperties", "maximum", "exclusiveMaximum")
_FORM_RULES = ("pattern", "multipleOf", "format")
_TYPED_FORMATS = frozenset(form for _, form in CARRIED_FORMATS)
"""Formats the IR types (UUID, date-time, date): a change to one is a change of type."""
_ATOMS = {
    "str": "string",
    "int": "integer",
    "float": "number",
    "bool": "boolean",
    "uuid": "string:uuid",
    "datetime": "string:date-time",
    "date": "string:date",
    "any": "any",
    "null": "null",
    "list": "array",
    "dict": "object",
}
_ENUM_ATOMS = {"StrEnum": "string", "IntEnum": "integer"}


@attrs.frozen
class Shape:
    """One side of a comparison: the IR's type (None: no body) and the schema as written.

    `opened` is a named model compared by its contents (its fields, values or target)
    rather than as the reference `model:<name>`.
    """

    type: TypeRef | None
    schema: Any = attrs.field(factory=dict)
    opened: str = ""

    def members(self, api: Api) -> list[TypeRef | Model]:
        """The type's members, each model the parser made of an inline schema (or the opened
        one) as itself, and an alias of that kind as its target's members."""
        found: list[TypeRef | Model] = []
        for member in self.type.members if self.type else ():
            model = api.model(member.model) if member.kind == "model" else None
            if model is None or (schema_name(model) is not None and model.name != self.opened):
                found.append(member)
            elif isinstance(model, AliasModel):
                found += Shape(model.target).members(api)
            else:
                found.append(model)
        return found


def schema_name(model: Model) -> str | None:
    """The name of the spec's ``#/components/schemas`` entry a model is, if it is one."""
    parts = pointer_parts(model.pointer)
    return parts[2] if len(parts) == 3 and parts[:2] == ["components", "schemas"] else None


def _json_value(value: Any) -> object:
    """A hashable stand-in, equal for equal JSON values: there `false` is not `0`."""
    if isinstance(value, bool):
        return (bool, value)
    if isinstance(value, Mapping):
        return (dict, frozenset((k, _json_value(v)) for k, v in value.items()))
    if isinstance(value, list):
        return (list, tuple(_json_value(v) for v in value))
    return value


def type_atoms(api: Api, shape: Shape) -> frozenset[str]:
    """The JSON types a shape allows: `string`, `string:uuid`, `null`, `model:Name`, `any`...

    A model the spec names in ``#/components/schemas`` is `model:<name>`; one the parser made
    of an inline schema is what it holds. No type (no body) allows nothing.
    """
    atoms: set[str] = set()
    for member in shape.members(api):
        if isinstance(member, TypeRef) and member.kind == "model":
            atoms.add(f"model:{schema_name(api.model(member.model))}")
        elif isinstance(member, TypeRef):
            atoms.add(_ATOMS[member.kind])
        elif isinstance(member, ClassModel):
            atoms.add("object")
        elif isinstance(member, EnumModel) and member.base in _ENUM_ATOMS:
            atoms.add(_ENUM_ATOMS[member.base])
        elif isinstance(member, EnumModel):
            atoms |= {"boolean" if type(m.value) is bool else "any" for m in member.members}
    return frozenset(atoms)


def show_type(atoms: Iterable[str]) -> str:
    """`integer | null`, models by name; `none` for no type (no body)."""
    names = sorted((a == "null", a.removeprefix("model:")) for a in atoms)
    return " | ".join(name for _, name in names) or "none"


def _covers(wide: frozenset[str], narrow: frozenset[str]) -> bool:
    return "any" in wide or all(
        atom in wide or (atom == "integer" and "number" in wide) for atom in narrow
    )


def _type_change(old: frozenset[str], new: frozenset[str]) -> str:
    """`type.widened` (new allows all old allowed), `type.narrowed` or `type.changed`."""
    if old and new and _covers(new, old):
        return "type.widened"
    if old and new and _covers(old, new):
        return "type.narrowed"
    return "type.changed"


def _numbers(*values: Any) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


def _keyword_facet(schema: Any, key: str) -> Mapping[str, Any] | None:
    """The schema as written, or its first anyOf/oneOf variant, that has `key`."""
    if not isinstance(schema, Mapping):
        return None
    if key in schema:
        return schema
    variants = [*schema.get("anyOf", ()), *schema.get("oneOf", ())]
    return next((v for v in variants if isinstance(v, Mapping) and key in v), None)


class SchemaWalker:
    """Collects the changes between two IRs; `compare` walks a pair of shapes."""

    def __init__(self, old: Api, new: Api) -> None:
        self.old = old
        self.new = new
        self.changes: list[Change] = []
        self._seen: set[tuple[str, str]] = set()
        self._named = [
            {name: m for m in api.models if (name := schema_name(m)) is not None}
            for api in (old, new)
        ]

    def emit(self, kind: str, where: Location, detail: str) -> None:
        """Record one classified change."""
        self.changes.append(classify(kind, where, detail))

    def compare(self, old: Shape, new: Shape, where: Location) -> None:
        """Report how shape `new` differs from `old` at `where` (its direction decides)."""
        old_atoms, new_atoms = type_atoms(self.old, old), type_atoms(self.new, new)
        if "any" not in old_atoms | new_atoms and ("null" in old_atoms) != ("null" in new_atoms):
            kind = "type.became_nullable" if "null" in new_atoms else "type.became_non_nullable"
            self.emit(kind, where, f"{show_type(old_atoms)} -> {show_type(new_atoms)}")
        old_types, new_types = old_atoms - {"null"}, new_atoms - {"null"}
        if old_types != new_types:
            kind = _type_change(old_types, new_types)
            self.emit(kind, where, f"{show_type(old_types)} -> {show_type(new_types)}")
        for atom in sorted(old_types & new_types):
            if atom.startswith("model:"):
                self._model(atom.removeprefix("model:"), where.direction)
        old_members, new_members = old.members(self.old), new.members(self.new)
        self._enum(_first(old_members, EnumModel), _first(new_members, EnumModel), where)
        self._default(old.schema, new.schema, where)
        self._constraints(old.schema, new.schema, where)
        self._fields(_first(old_members, ClassModel), _first(new_members, ClassModel), where)
        for kind, part, key in (("list", "[]", "items"), ("dict", "{}", "additionalProperties")):
            old_inner, new_inner = (
                _inner(members, s, kind, key)
                for members, s in ((old_members, old.schema), (new_members, new.schema))
            )
            if old_inner and new_inner:
                self.compare(old_inner, new_inner, where.at(part))

    def _model(self, name: str, direction: str) -> None:
        """Compare the contents of the model the spec names `name`, once per direction."""
        if (name, direction) in self._seen:
            return
        self._seen.add((name, direction))
        old, new = (
            Shape(
                TypeRef("model", model=named[name].name),
                resolve(api.document, named[name].pointer),
                named[name].name,
            )
            for api, named in ((self.old, self._named[0]), (self.new, self._named[1]))
        )
        self.compare(old, new, Location("model", name, direction=direction))

    def _enum(self, old: EnumModel | None, new: EnumModel | None, where: Location) -> None:
        if old is None and new is None:
            return
        if old is None or new is None:
            kind = "type.narrowed" if old is None else "type.widened"
            self.emit(kind, where, "now limited to enum values" if old is None else "enum dropped")
            return
        old_values, new_values = [m.value for m in old.members], [m.value for m in new.members]
        old_keys, new_keys = (
            {_json_value(v) for v in values} for values in (old_values, new_values)
        )
        for value in new_values:
            if _json_value(value) not in old_keys:
                self.emit("enum.value_added", where, repr(value))
        for value in old_values:
            if _json_value(value) not in new_keys:
                self.emit("enum.value_removed", where, repr(value))

    def _default(self, old: Any, new: Any, where: Location) -> None:
        before, after = (
            s.get("default", _MISSING) if isinstance(s, Mapping) else _MISSING for s in (old, new)
        )
        if _json_value(before) != _json_value(after):
            shown = ("none" if v is _MISSING else repr(v) for v in (before, after))
            self.emit("default.changed", where, " -> ".join(shown))

    def _constraints(self, old: Any, new: Any, where: Location) -> None:
        """The validation keywords the server applies and the client does not check."""
        for key in (*_LOWER_BOUNDS, *_UPPER_BOUNDS, *_FORM_RULES):
            before, after = (
                facet[key] if (facet := _keyword_facet(s, key)) else None for s in (old, new)
            )
            if key == "format" and {before, after} & _TYPED_FORMATS:
                continue
            if _json_value(before) == _json_value(after):
                continue
            if after is None:
                kind = "constraint.loosened"
            elif before is None or key in _FORM_RULES or not _numbers(before, after):
                kind = "constraint.changed" if before is not None else "constraint.tightened"
            else:
                tighter = after > before if key in _LOWER_BOUNDS else after < before
                kind = "constraint.tightened" if tighter else "constraint.loosened"
            shown = " -> ".join("none" if v is None else repr(v) for v in (before, after))
            self.emit(kind, where, f"{key}: {shown}")

    def _fields(self, old: ClassModel | None, new: ClassModel | None, where: Location) -> None:
        """Fields added, removed, made (non-)required or changed; an allOf class's by its
        base's too, as the generated subclass has them."""
        if old is None and new is None:
            return
        old_fields, new_fields = (
            {f.wire_name: f for f in api.fields_of(cls)} if cls else {}
            for api, cls in ((self.old, old), (self.new, new))
        )
        for name in sorted(old_fields.keys() | new_fields.keys()):
            at = where.at(name)
            before, after = old_fields.get(name), new_fields.get(name)
            if before is None:
                assert after is not None
                kind = "field.added_required" if after.required else "field.added"
                self.emit(kind, at, show_type(type_atoms(self.new, _shape(after))))
            elif after is None:
                self.emit("field.removed", at, show_type(type_atoms(self.old, _shape(before))))
            else:
                if before.required != after.required:
                    became = "required" if after.required else "optional"
                    self.emit(f"field.became_{became}", at, "")
                self.compare(_shape(before), _shape(after), at)


def _shape(field: Field) -> Shape:
    return Shape(field.type, field.schema)


def _first(members: list[TypeRef | Model], made: type[Model]) -> Any:
    """The first member that is a model of class `made` (compared by its contents)."""
    return next((m for m in members if isinstance(m, made)), None)


def _inner(members: list[TypeRef | Model], schema: Any, kind: str, key: str) -> Shape | None:
    """The item (list) or value (dict) shape of the first such member."""
    ref = next((m for m in members if isinstance(m, TypeRef) and m.kind == kind), None)
    if ref is None:
        return None
    facet = _keyword_facet(schema, key)
    inner = facet[key] if facet else {}
    return Shape(ref.args[0], inner if isinstance(inner, Mapping) else {})
