"""Compare two spec documents' schemas in one direction, following $refs into models."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import pointer_parts
from .changes import Change, Location, classify

__all__ = ["SCHEMA_REF", "SchemaWalker", "deref", "show_type", "type_atoms"]

SCHEMA_REF = "#/components/schemas/"
_MISSING = object()
_LOWER_BOUNDS = ("minLength", "minItems", "minProperties", "minimum", "exclusiveMinimum")
_UPPER_BOUNDS = ("maxLength", "maxItems", "maxProperties", "maximum", "exclusiveMaximum")
_FORM_RULES = ("pattern", "multipleOf")


def _resolve(doc: Mapping[str, Any], ref: str) -> Any:
    node: Any = doc
    for part in pointer_parts(ref):
        node = node[part]
    return node


def _json_value(value: Any) -> object:
    """A hashable stand-in, equal for equal JSON values: there `false` is not `0`."""
    if isinstance(value, bool):
        return (bool, value)
    if isinstance(value, Mapping):
        return (dict, frozenset((k, _json_value(v)) for k, v in value.items()))
    if isinstance(value, list):
        return (list, tuple(_json_value(v) for v in value))
    return value


def deref(doc: Mapping[str, Any], node: Any) -> Any:
    """Follow `$ref`s (except to named schemas, which are models) to the node they name."""
    while isinstance(node, Mapping) and isinstance(node.get("$ref"), str):
        if node["$ref"].startswith(SCHEMA_REF):
            break
        node = _resolve(doc, node["$ref"])
    return node


def _merged(doc: Mapping[str, Any], schema: Any, seen: frozenset[str] = frozenset()) -> Any:
    """An `allOf` schema as the one object the generated class is: the properties and
    required fields of every part (named parts followed) with its own; others as they are."""
    if not isinstance(schema, Mapping) or "allOf" not in schema:
        return schema
    merged = {key: value for key, value in schema.items() if key != "allOf"}
    properties: dict[str, Any] = {}
    required: set[str] = set()
    for part in (*schema["allOf"], {k: v for k, v in merged.items() if k != "$ref"}):
        ref = part.get("$ref") if isinstance(part, Mapping) else None
        if isinstance(ref, str) and ref not in seen:  # a cycle stays an unread $ref
            part, seen_here = _resolve(doc, ref), seen | {ref}
        else:
            seen_here = seen
        part = _merged(doc, part, seen_here)
        if isinstance(part, Mapping):
            properties.update(part.get("properties", {}))
            required.update(part.get("required", ()))
            if "type" in part:
                merged.setdefault("type", part["type"])
    merged.update(properties=properties, required=sorted(required))
    return merged


def type_atoms(schema: Any) -> frozenset[str]:
    """The JSON types a schema allows: `string`, `string:uuid`, `null`, `model:Name`, `any`...

    None (no body at all) allows nothing.
    """
    if schema is None:
        return frozenset()
    if not isinstance(schema, Mapping):
        return frozenset({"any"})
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith(SCHEMA_REF):
        return frozenset({"model:" + ref.removeprefix(SCHEMA_REF)})
    variants = [*schema.get("anyOf", ()), *schema.get("oneOf", ())]
    if variants:
        return frozenset().union(*(type_atoms(v) for v in variants))
    types = schema.get("type")
    if types is None:
        return frozenset({"object" if "properties" in schema else "any"})
    fmt = schema.get("format")
    names = [types] if isinstance(types, str) else types
    return frozenset(f"string:{fmt}" if name == "string" and fmt else name for name in names)


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


def _facet(schema: Any, key: str) -> Mapping[str, Any] | None:
    """The schema, or its first anyOf/oneOf variant, that has `key`."""
    if not isinstance(schema, Mapping):
        return None
    if key in schema:
        return schema
    variants = [*schema.get("anyOf", ()), *schema.get("oneOf", ())]
    return next((v for v in variants if isinstance(v, Mapping) and key in v), None)


class SchemaWalker:
    """Collects the changes between two documents; `compare` walks a pair of schemas."""

    def __init__(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        self.old = old
        self.new = new
        self.changes: list[Change] = []
        self._seen: set[tuple[str, str]] = set()

    def emit(self, kind: str, where: Location, detail: str) -> None:
        """Record one classified change."""
        self.changes.append(classify(kind, where, detail))

    def compare(self, old: Any, new: Any, where: Location) -> None:
        """Report how schema `new` differs from `old` at `where` (its direction decides)."""
        old, new = _merged(self.old, old), _merged(self.new, new)
        old_atoms, new_atoms = type_atoms(old), type_atoms(new)
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
        self._enum(_facet(old, "enum"), _facet(new, "enum"), where)
        self._default(old, new, where)
        self._constraints(old, new, where)
        self._properties(_facet(old, "properties"), _facet(new, "properties"), where)
        for key, part in (("items", "[]"), ("additionalProperties", "{}")):
            old_facet, new_facet = _facet(old, key), _facet(new, key)
            if old_facet and new_facet:
                self.compare(old_facet[key], new_facet[key], where.at(part))

    def _model(self, name: str, direction: str) -> None:
        if (name, direction) in self._seen:
            return
        self._seen.add((name, direction))
        old, new = (_resolve(doc, SCHEMA_REF + name) for doc in (self.old, self.new))
        self.compare(old, new, Location("model", name, direction=direction))

    def _enum(self, old: Any, new: Any, where: Location) -> None:
        if old is None and new is None:
            return
        if old is None or new is None:
            kind = "type.narrowed" if old is None else "type.widened"
            self.emit(kind, where, "now limited to enum values" if old is None else "enum dropped")
            return
        old_values, new_values = list(old["enum"]), list(new["enum"])
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
        for key in (*_LOWER_BOUNDS, *_UPPER_BOUNDS, *_FORM_RULES):
            before, after = (facet[key] if (facet := _facet(s, key)) else None for s in (old, new))
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

    def _properties(self, old: Any, new: Any, where: Location) -> None:
        if old is None and new is None:
            return
        old_props, new_props = (s["properties"] if s else {} for s in (old, new))
        old_required, new_required = (
            set(s.get("required", ())) if s else set() for s in (old, new)
        )
        for name in sorted(old_props.keys() | new_props.keys()):
            at = where.at(name)
            if name not in old_props:
                kind = "field.added_required" if name in new_required else "field.added"
                self.emit(kind, at, show_type(type_atoms(new_props[name])))
            elif name not in new_props:
                self.emit("field.removed", at, show_type(type_atoms(old_props[name])))
            else:
                if (name in old_required) != (name in new_required):
                    became = "required" if name in new_required else "optional"
                    self.emit(f"field.became_{became}", at, "")
                self.compare(old_props[name], new_props[name], at)
