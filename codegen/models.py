"""Stage 2: datamodel-code-generator turns the spec's schemas into attrs classes."""

from __future__ import annotations

import ast
import json
import re
import tempfile
import warnings
from pathlib import Path

from datamodel_code_generator import generate
from datamodel_code_generator.enums import DataModelType, InputFileType, OpenAPIScope
from datamodel_code_generator.format import DatetimeClassType, PythonVersion

from .errors import SpecError
from .ir import ModelInfo
from .load import LoadedSpec
from .reach import response_schemas

__all__ = ["generate_models"]

TEMPLATE_DIR = Path(__file__).parent / "templates" / "models"
_NO_MODELS = "Models not found"  # datamodel-code-generator's word for a spec without schemas
RESERVED_FIELD = "additional_properties"
RESERVED_FIELDS = frozenset({RESERVED_FIELD, "self", "attrs", "cl", "converter"})
"""Attribute names a model cannot have: the undeclared-fields attribute, attrs' `self`, the
module `attrs` the class body uses, and the first arguments of cattrs' function makers (the
runtime passes them each field by name). A wire name that would be one gets a `_` added."""
_DATACLASS_IMPORT = re.compile(r"^from dataclasses import .*$", re.MULTILINE)
_ATTRS_CLASS = re.compile(r"^@attrs\.define\(kw_only=True\)\nclass (\w+)", re.MULTILINE)
_EXTRAS_MARKER = f"    # leadkit: {RESERVED_FIELD} of "
_EXTRAS = re.compile(
    rf"^{_EXTRAS_MARKER}(\w+)\n(    {RESERVED_FIELD}: .*\n    \"\"\".*\"\"\"\n?)", re.MULTILINE
)
"""The template's marked `additional_properties` attribute of one class (dataclass.jinja2):
the class name, then the attribute and its docstring."""
_JSON_TYPES = ("string", "integer", "number", "boolean")
_CARRIED_FORMATS = {("string", "uuid"), ("string", "date-time"), ("string", "date")}
"""The formats the runtime's converters (un)structure: UUID, datetime, date."""
_RUNTIME_IMPORTS = (
    "from typing import Any\n\nimport attrs\n\nfrom leadkit.runtime import UNSET, Unset\n"
)


def _run_dmcg(
    spec: LoadedSpec, workdir: Path, aliases: dict[str, str]
) -> tuple[str, list[dict[str, object]]]:
    output, metadata = workdir / "models.py", workdir / "metadata.json"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        generate(
            json.dumps(spec.document),
            input_file_type=InputFileType.OpenAPI,
            output_model_type=DataModelType.DataclassesDataclass,
            openapi_scopes=[OpenAPIScope.Schemas, OpenAPIScope.Paths],
            custom_template_dir=TEMPLATE_DIR,
            target_python_version=PythonVersion.PY_311,
            disable_timestamp=True,
            snake_case_field=True,
            capitalise_enum_members=True,
            strict_nullable=True,
            use_union_operator=True,
            use_standard_collections=True,
            use_standard_primitive_types=True,
            output_datetime_class=DatetimeClassType.Datetime,
            use_schema_description=True,
            use_field_description=True,
            aliases=aliases,
            type_mappings=_plain_formats(spec.document),
            formatters=[],
            output=output,
            emit_model_metadata=metadata,
        )
    payload = json.loads(metadata.read_text(encoding="utf-8"))
    return output.read_text(encoding="utf-8"), payload["models"]


def _plain_formats(document: object) -> list[str]:
    """dmcg type mappings keeping each format the runtime cannot carry as its JSON type.

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
                    if kind in _JSON_TYPES and (kind, form) not in _CARRIED_FORMATS:
                        found.add((kind, form))
            nodes.extend(node.values())
        elif isinstance(node, list):
            nodes.extend(node)
    return [f"{kind}+{form}={kind}" for kind, form in sorted(found)]


def _reserved_aliases(metadata: list[dict[str, object]]) -> dict[str, str]:
    """{wire name: python name + `_`} of the fields that would have a reserved name."""
    aliases = {}
    for model in metadata:
        fields = model["fields"]
        assert isinstance(fields, list)
        for field in fields:
            if field["name"] in RESERVED_FIELDS:
                aliases[str(field.get("original_name") or field["name"])] = f"{field['name']}_"
    return aliases


def _strip_banner(source: str) -> str:
    lines = source.splitlines(keepends=True)
    while lines and lines[0].startswith("#"):
        lines.pop(0)
    return "".join(lines).lstrip("\n")


def generate_models(spec: LoadedSpec) -> tuple[str, tuple[ModelInfo, ...]]:
    """Return the models module source (unformatted) and what it defines."""
    with tempfile.TemporaryDirectory(prefix="leadkit-models-") as tmp:
        try:
            source, metadata = _run_dmcg(spec, Path(tmp), {})
            if aliases := _reserved_aliases(metadata):  # rare: run again, renaming them
                source, metadata = _run_dmcg(spec, Path(tmp), aliases)
        except Exception as exc:  # datamodel-code-generator raises many kinds
            message = " ".join(str(exc).split()) or type(exc).__name__
            if message.startswith(_NO_MODELS):
                return "", ()
            raise SpecError(spec.label, "#/components/schemas", message) from None
    attrs_classes = set(_ATTRS_CLASS.findall(source))
    in_responses = response_schemas(spec.document)
    infos = []
    for model in metadata:
        fields = model["fields"]
        assert isinstance(fields, list)
        for field in fields:
            if field["name"] in RESERVED_FIELDS:  # two wire names, one reserved name
                wire = field.get("original_name") or field["name"]
                raise SpecError(
                    spec.label,
                    str(model["source_ref"]),
                    f"the field {wire!r} would be the attribute {field['name']!r}, which "
                    "generated models use themselves; rename it",
                )
        renames = tuple(
            (str(f["name"]), str(f["original_name"]))
            for f in fields
            if f.get("original_name") and f["original_name"] != f["name"]
        )
        name, source_ref = str(model["class_name"]), str(model["source_ref"])
        infos.append(
            ModelInfo(name, source_ref, name in attrs_classes, renames, source_ref in in_responses)
        )
    source = _DATACLASS_IMPORT.sub(_RUNTIME_IMPORTS, _strip_banner(source), count=1)
    _check_classes(spec, source, {i.class_name: i for i in infos})
    return _keep_extras(source, {i.class_name for i in infos if i.in_responses}), tuple(infos)


def _check_classes(spec: LoadedSpec, source: str, infos: dict[str, ModelInfo]) -> None:
    """Refuse models that would not import: one named like a name the module imports, an
    attrs class with two bases (an allOf of two `$ref`s: slotted classes cannot share)."""
    tree = ast.parse(source)
    imported = {
        alias.asname or alias.name
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    for node in tree.body:
        target = node.target if isinstance(node, ast.AnnAssign) else None
        name = node.name if isinstance(node, ast.ClassDef) else getattr(target, "id", None)
        info = infos.get(str(name))
        if info is None:
            continue
        if name in imported:
            problem = f"this schema's model {name!r} would hide the import of {name!r}"
            raise SpecError(spec.label, info.source_ref, f"{problem}; rename the schema")
        if isinstance(node, ast.ClassDef) and info.is_attrs_class and len(node.bases) > 1:
            raise SpecError(
                spec.label,
                info.source_ref,
                "an allOf of more than one $ref makes a class with two bases, which attrs "
                "classes cannot have; keep one $ref and repeat the other's properties",
            )


def _keep_extras(source: str, in_responses: set[str]) -> str:
    """Keep the `additional_properties` attribute on the classes a response can contain only.

    The request converter refuses undeclared keys, so on a class only requests use the
    attribute would be a trap: setting it always fails the request.
    """
    kept = _EXTRAS.sub(lambda m: m[2] if m[1] in in_responses else "", source)
    if _EXTRAS_MARKER in kept:  # the template and _EXTRAS disagree
        raise RuntimeError(f"unmatched {RESERVED_FIELD} marker in the generated models")
    return kept
