"""Stage 2: datamodel-code-generator turns the spec's schemas into attrs classes."""

from __future__ import annotations

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

__all__ = ["generate_models"]

TEMPLATE_DIR = Path(__file__).parent / "templates" / "models"
_NO_MODELS = "Models not found"  # datamodel-code-generator's word for a spec without schemas
RESERVED_FIELD = "additional_properties"
_DATACLASS_IMPORT = re.compile(r"^from dataclasses import .*$", re.MULTILINE)
_ATTRS_CLASS = re.compile(r"^@attrs\.define\(kw_only=True\)\nclass (\w+)", re.MULTILINE)
_RUNTIME_IMPORTS = (
    "from typing import Any\n\nimport attrs\n\nfrom leadkit.runtime import UNSET, Unset\n"
)


def _run_dmcg(spec: LoadedSpec, workdir: Path) -> tuple[str, list[dict[str, object]]]:
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
            formatters=[],
            output=output,
            emit_model_metadata=metadata,
        )
    payload = json.loads(metadata.read_text(encoding="utf-8"))
    return output.read_text(encoding="utf-8"), payload["models"]


def _strip_banner(source: str) -> str:
    lines = source.splitlines(keepends=True)
    while lines and lines[0].startswith("#"):
        lines.pop(0)
    return "".join(lines).lstrip("\n")


def generate_models(spec: LoadedSpec) -> tuple[str, tuple[ModelInfo, ...]]:
    """Return the models module source (unformatted) and what it defines."""
    with tempfile.TemporaryDirectory(prefix="leadkit-models-") as tmp:
        try:
            source, metadata = _run_dmcg(spec, Path(tmp))
        except Exception as exc:  # datamodel-code-generator raises many kinds
            message = " ".join(str(exc).split()) or type(exc).__name__
            if message.startswith(_NO_MODELS):
                return "", ()
            raise SpecError(spec.label, "#/components/schemas", message) from None
    attrs_classes = set(_ATTRS_CLASS.findall(source))
    infos = []
    for model in metadata:
        fields = model["fields"]
        assert isinstance(fields, list)
        for field in fields:
            if field["name"] == RESERVED_FIELD:
                raise SpecError(
                    spec.label,
                    str(model["source_ref"]),
                    f"a field named {RESERVED_FIELD!r} clashes with the attribute that keeps "
                    "undeclared fields; rename it in the spec",
                )
        renames = tuple(
            (str(f["name"]), str(f["original_name"]))
            for f in fields
            if f.get("original_name") and f["original_name"] != f["name"]
        )
        name = str(model["class_name"])
        infos.append(ModelInfo(name, str(model["source_ref"]), name in attrs_classes, renames))
    source = _DATACLASS_IMPORT.sub(_RUNTIME_IMPORTS, _strip_banner(source), count=1)
    return source, tuple(infos)
