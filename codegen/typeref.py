"""How a schema becomes a `TypeRef`: read by the parser for models, by `SchemaTypes` for the rest.

The parser (`leadkit.codegen.schemas`) types every model field and alias; `from_parsed` turns its
type objects into the IR's. A parameter's schema, or a body with no model of its own (a
`$ref` outside `#/components/schemas`), is read by `SchemaTypes` with the same rules: the
formats of `CARRIED_FORMATS`, a free-form object as ``dict[str, Any]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from datamodel_code_generator.types import DataType

from .errors import Problems, json_pointer, pointer_parts
from .ir import SCALAR_HINTS, TypeKind, TypeRef, union
from .load import resolve
from .schemas import CARRIED_FORMATS

__all__ = ["SchemaTypes", "from_parsed"]

_KINDS: Mapping[str, TypeKind] = {hint: kind for kind, hint in SCALAR_HINTS.items()}  # type: ignore[misc]
_JSON_KINDS: Mapping[str, TypeKind] = {
    "string": "str",
    "integer": "int",
    "number": "float",
    "boolean": "bool",
}
NULL = TypeRef("null")


def _with_null(ref: TypeRef) -> TypeRef:
    return ref if ref.nullable else TypeRef("union", (*ref.members, NULL))


def _read(data_type: DataType, names: Mapping[str, str]) -> TypeRef:
    if data_type.reference is not None:
        ref = TypeRef("model", model=names[data_type.reference.path])
    elif data_type.is_list:
        ref = TypeRef("list", (_children(data_type, names),))
    elif data_type.is_dict and data_type.dict_key is None:
        ref = TypeRef("dict", (_children(data_type, names),))
    elif data_type.type is not None and not data_type.data_types:
        if data_type.type not in _KINDS or data_type.literals:
            raise ValueError(data_type.type_hint)
        ref = TypeRef(_KINDS[data_type.type])
    elif data_type.data_types and not (data_type.is_set or data_type.is_tuple):
        ref = _children(data_type, names)
    else:
        raise ValueError(data_type.type_hint)
    return _with_null(ref) if data_type.is_optional else ref


def _children(data_type: DataType, names: Mapping[str, str]) -> TypeRef:
    """The union of a type's children, nested unions flattened, null last."""
    members: list[TypeRef] = []
    for child in data_type.data_types:
        for member in _read(child, names).members:
            if member not in members:
                members.append(member)
    members.sort(key=lambda m: m.kind == "null")
    return union(members)


def from_parsed(data_type: DataType, names: Mapping[str, str]) -> TypeRef:
    """The IR type of a parser type; `names` maps the parser's model references to class names.

    Raises ValueError naming the annotation of a type the IR has no form for (a tuple, a
    set, a literal), or of one read differently from the parser's own annotation.
    """
    ref = _read(data_type, names)
    if ref.hint() != data_type.type_hint:
        raise ValueError(data_type.type_hint)
    return ref


class SchemaTypes:
    """Reads the schemas the parser made no model for: parameters, some bodies.

    `models` maps JSON pointers of modelled schemas to their class names: a `$ref` to one,
    or a schema at one's place, is that model.
    """

    def __init__(
        self, document: Mapping[str, Any], models: Mapping[str, str], problems: Problems
    ) -> None:
        self.document = document
        self.models = models
        self.problems = problems

    def read(self, schema: Any, path: tuple[Any, ...]) -> TypeRef:
        """The type of `schema`, which is at `path`; a schema it cannot type is refused."""
        if not isinstance(schema, Mapping):
            self.problems.refuse(path, "expected a schema object")
            return TypeRef("any")
        ref = schema.get("$ref")
        pointer = ref if isinstance(ref, str) else json_pointer(path)
        if pointer in self.models:
            return TypeRef("model", model=self.models[pointer])
        if ref is not None:
            return self.read(resolve(self.document, ref), tuple(pointer_parts(ref)))
        types = schema.get("type")
        if types is None:
            if any(k in schema for k in ("anyOf", "oneOf", "allOf", "properties", "enum")):
                self.problems.refuse(
                    path, "this inline schema has no generated model; give it a $ref"
                )
            return TypeRef("any")
        names = [types] if isinstance(types, str) else list(types)
        members = [self._single(schema, name, path) for name in names if name != "null"]
        members += [NULL] * ("null" in names)
        return union(members) if members else TypeRef("any")

    def _single(self, schema: Mapping[str, Any], name: str, path: tuple[Any, ...]) -> TypeRef:
        form = schema.get("format")
        if isinstance(form, str) and (name, form) in CARRIED_FORMATS:
            return TypeRef(CARRIED_FORMATS[(name, form)])
        if name in _JSON_KINDS:
            return TypeRef(_JSON_KINDS[name])
        if name == "array":
            return TypeRef("list", (self.read(schema.get("items", {}), (*path, "items")),))
        if name == "object" and "properties" not in schema:
            return TypeRef("dict", (TypeRef("any"),))
        self.problems.refuse((*path, "type"), f"cannot generate a type for {name!r} here")
        return TypeRef("any")
