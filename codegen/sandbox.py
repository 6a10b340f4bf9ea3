"""The x-sandbox extension read into the IR, and checked against the spec it describes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from leadkit.sandbox.declaration import DeclarationError, SandboxDeclaration, read_declaration

from .errors import Problems
from .ir import Api, ClassModel

__all__ = ["read_sandbox"]


def _response_properties(api: Api, *, stored: bool = False) -> dict[str, list[Mapping[str, Any]]]:
    """Wire name -> the schemas of the top-level properties of every success response (with
    `stored`, of the operations whose answers the sandbox stores: POSTs but uploads)."""
    found: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for op in api.operations:
        if stored and (op.method != "POST" or op.upload is not None):
            continue
        for response in op.responses:
            if response.body is None or not 200 <= (response.code or 0) < 300:
                continue
            for ref in response.body.type.walk():
                model = api.model(ref.model) if ref.kind == "model" else None
                if isinstance(model, ClassModel):
                    for field in api.fields_of(model):
                        found[field.wire_name].append(field.schema)
    return found


def _check_assigned(api: Api, declared: SandboxDeclaration, problems: Problems) -> None:
    """Each assigned value names a success-response property and fits its schema."""
    properties = _response_properties(api)
    root = Draft202012Validator(dict(api.document))
    for name, value in declared.assigned.items():
        where = ("x-sandbox", "assigned", name)
        schemas = properties.get(name)
        if not schemas:
            problems.refuse(where, f"no success response of an operation has a property {name!r}")
            continue
        errors: list[ValidationError | None] = [
            best_match(root.evolve(schema=dict(schema)).iter_errors(value)) for schema in schemas
        ]
        if errors[0] is not None and all(errors):
            problems.refuse(where, f"{value!r} does not fit the property: {errors[0].message}")


def _check_reads(api: Api, declared: SandboxDeclaration, problems: Problems) -> None:
    """Each read is a GET whose path parameter is a property of the records creates store."""
    by_key = {op.key: op for op in api.operations}
    properties = _response_properties(api, stored=True)
    for name, param in declared.reads.items():
        where = ("x-sandbox", "reads", name)
        op = by_key.get(name)
        if op is None or op.method != "GET":
            problems.refuse(where, f"no GET operation {name!r} in this spec")
        elif param not in {p.wire_name for p in op.path_params}:
            problems.refuse(where, f"{name} has no path parameter {param!r}")
        elif param not in properties:
            problems.refuse(where, f"no record a create stores has a property {param!r}")


def read_sandbox(api: Api, problems: Problems) -> SandboxDeclaration:
    """The spec's x-sandbox, defaults filled in; refusals (with their pointer) go to `problems`."""
    try:
        declared = read_declaration(api.document.get("x-sandbox"))
    except DeclarationError as exc:
        problems.refuse(("x-sandbox", *exc.where), exc.message)
        return SandboxDeclaration()
    _check_assigned(api, declared, problems)
    _check_reads(api, declared, problems)
    return declared
