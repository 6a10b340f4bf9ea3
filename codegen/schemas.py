"""Stage 2: datamodel-code-generator's OpenAPI parser, run in-process on a loaded spec.

The one module that imports datamodel-code-generator. Its parser reads every schema the
spec's components and operations hold into model objects (class name, fields with their
Python and wire names, types, requiredness, defaults, enum members); `leadkit.codegen.models` reads
those into the IR. The text the parser also renders is never used.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from typing import Any

import attrs
from datamodel_code_generator.enums import DataModelType, OpenAPIScope
from datamodel_code_generator.format import DatetimeClassType, PythonVersion
from datamodel_code_generator.model import get_data_model_types
from datamodel_code_generator.model.base import DataModel
from datamodel_code_generator.model.dataclass import DataClass
from datamodel_code_generator.model.enum import Enum
from datamodel_code_generator.model.type_alias import TypeAliasBase
from datamodel_code_generator.parser.openapi import OpenAPIParser

from .errors import SpecError
from .ir import TypeKind
from .load import LoadedSpec

__all__ = ["CARRIED_FORMATS", "ParsedModel", "parse_models"]

_NO_MODELS = "Models not found"  # datamodel-code-generator's word for a spec without schemas
_JSON_TYPES = ("string", "integer", "number", "boolean")
CARRIED_FORMATS: Mapping[tuple[str, str], TypeKind] = {
    ("string", "uuid"): "uuid",
    ("string", "date-time"): "datetime",
    ("string", "date"): "date",
}
"""The formats the runtime's converters (un)structure, and the type kind each one reads as;
every other format stays its JSON type (`_plain_formats`)."""
_TYPES = get_data_model_types(DataModelType.DataclassesDataclass, PythonVersion.PY_311)


@attrs.frozen
class ParsedModel:
    """One model the parser made, with the JSON pointer of the schema it is read from."""

    model: DataModel = attrs.field(eq=False)
    pointer: str

    @property
    def kind(self) -> str:
        """class, enum or alias; another kind of model, which the IR has no form for: ''."""
        for kind, made in (("class", DataClass), ("enum", Enum), ("alias", TypeAliasBase)):
            if isinstance(self.model, made):
                return kind
        return ""


def _plain_formats(document: object) -> list[str]:
    """Parser type mappings keeping each format the runtime cannot carry as its JSON type.

    The converters know UUID, date-time and date strings only: an `ipv4`, `time`,
    `decimal` or `binary` string stays a str, a `date-time` number a float.
    """
    found: set[tuple[str, str]] = set()
    nodes = [document]
    while nodes:
        node = nodes.pop()
        if isinstance(node, dict):
            kinds, form = node.get("type"), node.get("format")
            if isinstance(form, str):
                for kind in [kinds] if isinstance(kinds, str) else kinds or ():
                    if kind in _JSON_TYPES and (kind, form) not in CARRIED_FORMATS:
                        found.add((kind, form))
            nodes.extend(node.values())
        elif isinstance(node, list):
            nodes.extend(node)
    return [f"{kind}+{form}={kind}" for kind, form in sorted(found)]


def _parser(document: Mapping[str, Any], aliases: Mapping[str, str]) -> OpenAPIParser:
    return OpenAPIParser(
        json.dumps(document),
        data_model_type=_TYPES.data_model,
        data_model_root_type=_TYPES.root_model,
        data_model_field_type=_TYPES.field_model,
        data_type_manager_type=_TYPES.data_type_manager,
        dump_resolve_reference_action=_TYPES.dump_resolve_reference_action,
        openapi_scopes=[OpenAPIScope.Schemas, OpenAPIScope.Paths],
        target_python_version=PythonVersion.PY_311,
        target_datetime_class=DatetimeClassType.Datetime,
        set_default_enum_member=True,
        snake_case_field=True,
        capitalise_enum_members=True,
        strict_nullable=True,
        use_union_operator=True,
        use_standard_collections=True,
        use_standard_primitive_types=True,
        use_schema_description=True,
        use_field_description=True,
        aliases=dict(aliases),
        type_mappings=_plain_formats(document),
    )


def parse_models(spec: LoadedSpec, aliases: Mapping[str, str]) -> tuple[ParsedModel, ...]:
    """Every model of the spec, in the parser's order; `aliases` renames fields by wire name.

    A spec the parser cannot read raises SpecError (it names no place: the schemas).
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parser = _parser(spec.document, aliases)
            parser.parse(format_=False, collect_model_metadata=True)
    except Exception as exc:  # datamodel-code-generator raises many kinds
        message = " ".join(str(exc).split()) or type(exc).__name__
        if message.startswith(_NO_MODELS):
            return ()
        raise SpecError(spec.label, "#/components/schemas", message) from None
    by_name = {model.class_name: model for model in parser.results}
    metadata = parser.model_metadata["models"] if parser.model_metadata else []
    return tuple(ParsedModel(by_name[m["class_name"]], str(m["source_ref"])) for m in metadata)
