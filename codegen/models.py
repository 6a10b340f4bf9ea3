"""Stage 3: the parser's models read into the IR: classes, enums and aliases.

Field names the generated models use themselves get a `_` (the parser renames them, asked by
wire name); a model that could not be imported (a name it would hide, two attrs bases) is
refused with the pointer of its schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import Problems
from .form_parts import form_schemas
from .ir import (
    NO_DEFAULT,
    STDLIB_IMPORTS,
    AliasModel,
    ClassModel,
    EnumMember,
    EnumModel,
    Field,
    Model,
    TypeRef,
)
from .load import LoadedSpec, resolve
from .reach import response_schemas
from .schemas import ParsedModel, parse_models
from .typeref import from_parsed

__all__ = ["RESERVED_FIELD", "model_imports", "read_models"]

RESERVED_FIELD = "additional_properties"
RESERVED_FIELDS = frozenset({RESERVED_FIELD, "self", "attrs", "cl", "converter"})
"""Attribute names a model cannot have: the undeclared-fields attribute, attrs' `self`, the
module `attrs` the class body uses, and names the runtime passes each field by (cattrs'
function makers). A wire name that would be one gets a `_` added."""
_ALWAYS_IMPORTED = ("Any", "attrs", "UNSET", "Unset")


def _reserved_aliases(parsed: tuple[ParsedModel, ...]) -> dict[str, str]:
    """{wire name: python name + `_`} of the fields that would have a reserved name."""
    return {
        str(field.original_name or field.name): f"{field.name}_"
        for pm in parsed
        for field in pm.model.fields
        if field.name in RESERVED_FIELDS
    }


def _properties(schema: Any) -> dict[str, Any]:
    """The properties a schema declares itself, its inline `allOf` parts' included (a `$ref`ed
    part is the base class, whose fields are its own)."""
    if not isinstance(schema, Mapping):
        return {}
    found = dict(schema.get("properties") or {})
    for part in schema.get("allOf") or ():
        if isinstance(part, Mapping) and "$ref" not in part:
            found.update(_properties(part))
    return found


class _Reader:
    def __init__(self, spec: LoadedSpec, parsed: tuple[ParsedModel, ...], problems: Problems):
        self.spec = spec
        self.problems = problems
        self.names = {pm.model.reference.path: pm.model.class_name for pm in parsed}
        self.in_responses = response_schemas(spec.document)

    def type_of(self, pm: ParsedModel, data_type: Any) -> TypeRef:
        try:
            return from_parsed(data_type, self.names)
        except ValueError as exc:
            self.problems.refuse(pm.pointer, f"cannot generate the type {exc} of this schema")
            return TypeRef("any")

    def model(self, pm: ParsedModel) -> Model:
        model = pm.model
        description = str(model.description or "")
        bases = [base.type_hint for base in model.base_classes]
        if pm.kind == "alias":
            (field,) = model.fields
            target = self.type_of(pm, field.data_type)
            described = str(field.extras.get("description") or description)
            return AliasModel(model.class_name, pm.pointer, described, target)
        if pm.kind == "enum":
            members = tuple(EnumMember(str(f.name), f.default) for f in model.fields)
            return EnumModel(model.class_name, pm.pointer, description, bases[0], members)
        if pm.kind != "class":
            self.problems.refuse(pm.pointer, "cannot generate a model for this schema")
        if len(bases) > 1:
            self.problems.refuse(
                pm.pointer,
                "an allOf of more than one $ref makes a class with two bases, which attrs "
                "classes cannot have; keep one $ref and repeat the other's properties",
            )
        schemas = _properties(resolve(self.spec.document, pm.pointer))
        fields = tuple(self.field(pm, field, schemas) for field in model.fields)
        base = bases[0] if bases else None
        in_responses = pm.pointer in self.in_responses
        return ClassModel(model.class_name, pm.pointer, description, base, fields, in_responses)

    def field(self, pm: ParsedModel, field: Any, schemas: Mapping[str, Any]) -> Field:
        wire = str(field.original_name or field.name)
        schema = schemas.get(wire)
        schema = schema if isinstance(schema, Mapping) else {}
        return Field(
            python_name=str(field.name),
            wire_name=wire,
            type=self.type_of(pm, field.data_type),
            required=bool(field.required),
            default=schema.get("default", NO_DEFAULT),
            description=str(field.extras.get("description") or ""),
            schema=schema,
        )


def model_imports(models: tuple[Model, ...]) -> tuple[str, ...]:
    """The lines models.py imports its names with (ruff drops those left unused)."""
    kinds = {
        t.kind
        for m in models
        for ref in ((m.target,) if isinstance(m, AliasModel) else ())
        + (tuple(f.type for f in m.fields) if isinstance(m, ClassModel) else ())
        for t in ref.walk()
    }
    lines = {STDLIB_IMPORTS[k] for k in kinds if k in STDLIB_IMPORTS}
    lines |= {f"from enum import {m.base}" for m in models if isinstance(m, EnumModel)}
    if any(isinstance(m, AliasModel) for m in models):
        lines.add("from typing import TypeAlias")
    return tuple(sorted(lines))


def _imported_names(models: tuple[Model, ...]) -> set[str]:
    names = {line.rsplit(" ", 1)[1] for line in model_imports(models)}
    return names | set(_ALWAYS_IMPORTED)


def read_models(spec: LoadedSpec, problems: Problems) -> tuple[Model, ...]:
    """Every model of the spec, in the parser's order, checked as the generator needs them."""
    parsed = parse_models(spec, {})
    if aliases := _reserved_aliases(parsed):  # rare: parse again, renaming them
        parsed = parse_models(spec, aliases)
    for pm in parsed:
        for field in pm.model.fields:
            if field.name in RESERVED_FIELDS:  # two wire names, one reserved name
                wire = field.original_name or field.name
                problems.refuse(
                    pm.pointer,
                    f"the field {wire!r} would be the attribute {field.name!r}, which "
                    "generated models use themselves; rename it",
                )
    forms = set(form_schemas(spec.document))  # their parts are arguments, not a model
    parsed = tuple(pm for pm in parsed if pm.pointer not in forms)
    reader = _Reader(spec, parsed, problems)
    models = tuple(reader.model(pm) for pm in parsed)
    imported = _imported_names(models)
    for model in models:
        if model.name in imported:
            problem = f"this schema's model {model.name!r} would hide the import of {model.name!r}"
            problems.refuse(model.pointer, f"{problem}; rename the schema")
    return models
