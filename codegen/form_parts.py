"""Stage 3: a multipart/form-data request body read into its parts, one argument each.

Each property of the body's object schema is a part. Its kind follows the part's
``encoding`` in the spec, else OpenAPI's defaults: a JSON media type makes a JSON part; a
binary string (``format: binary`` or ``contentMediaType``) a file part; an object a JSON
part; a scalar a text part. An array (a repeated part) is refused.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from leadkit.runtime.api import PartKind

from .errors import Problems, json_pointer, pointer_parts
from .ir import Part, TypeRef
from .load import resolve
from .names import argument_name
from .typeref import SchemaTypes

__all__ = ["MULTIPART", "PartReader", "form_schemas"]

MULTIPART = "multipart/form-data"
_SCALARS = ("string", "integer", "number", "boolean")


def _deref(document: Mapping[str, Any], node: Any) -> Any:
    while isinstance(node, Mapping) and isinstance(node.get("$ref"), str):
        node = resolve(document, node["$ref"])
    return node


def _is_json(media_type: str) -> bool:
    main, _, sub = media_type.split(";", 1)[0].strip().lower().partition("/")
    return main == "application" and (sub == "json" or sub.endswith("+json"))


def _types(schema: Mapping[str, Any]) -> set[str]:
    kinds = schema.get("type")
    names = {kinds} if isinstance(kinds, str) else set(kinds or ())
    if not names and ("properties" in schema or "additionalProperties" in schema):
        names.add("object")
    return names - {"null"}


def _binary(schema: Mapping[str, Any]) -> bool:
    return _types(schema) == {"string"} and (
        schema.get("format") == "binary" or "contentMediaType" in schema
    )


def form_schemas(document: Mapping[str, Any]) -> Iterator[str]:
    """Pointers of the multipart request bodies' inline schemas: forms, not models."""
    for route, item in (document.get("paths") or {}).items():
        for method, operation in item.items() if isinstance(item, Mapping) else ():
            body = operation.get("requestBody") if isinstance(operation, Mapping) else None
            content = body.get("content") if isinstance(body, Mapping) else None
            media = content.get(MULTIPART) if isinstance(content, Mapping) else None
            schema = media.get("schema") if isinstance(media, Mapping) else None
            if isinstance(schema, Mapping) and "$ref" not in schema:
                yield json_pointer(
                    ("paths", route, method, "requestBody", "content", MULTIPART, "schema")
                )


class PartReader:
    """Reads the parts of multipart bodies; refusals go to `problems`."""

    def __init__(
        self, document: Mapping[str, Any], types: SchemaTypes, classes: set[str], problems: Problems
    ) -> None:
        self.doc = document
        self.types = types
        self.classes = classes
        self.problems = problems

    def read(self, media: Mapping[str, Any], path: tuple[Any, ...]) -> tuple[Part, ...]:
        """The parts of a multipart media type object at `path`."""
        schema, where = media.get("schema"), (*path, "schema")
        if isinstance(schema, Mapping) and isinstance(schema.get("$ref"), str):
            where = tuple(pointer_parts(schema["$ref"]))
        schema = _deref(self.doc, schema)
        properties = schema.get("properties") if isinstance(schema, Mapping) else None
        if not isinstance(properties, Mapping) or not properties:
            self.problems.refuse(
                where, f"a {MULTIPART} body needs an object schema with properties, one per part"
            )
            return ()
        encoding = media.get("encoding") or {}
        for name in encoding:
            if name not in properties:
                self.problems.refuse((*path, "encoding", name), f"there is no part {name!r}")
        required = set(schema.get("required") or ())
        return tuple(
            self.part(
                str(name),
                prop,
                (*where, "properties", name),
                encoding.get(name) or {},
                name in required,
            )
            for name, prop in properties.items()
        )

    def part(
        self,
        name: str,
        raw: Any,
        path: tuple[Any, ...],
        encoding: Mapping[str, Any],
        required: bool,
    ) -> Part:
        schema = _deref(self.doc, raw)
        schema = schema if isinstance(schema, Mapping) else {}
        kind, content_type = self._kind(schema, encoding.get("contentType"), path)
        type_ = TypeRef("any") if kind == "file" else self.types.read(raw, path)
        if kind == "text" and any(t.kind in ("list", "dict", "model") for t in type_.members):
            self.problems.refuse(
                path, f"a text part of type {type_.hint('models.')} cannot be sent"
            )
        model = (
            type_.hint("models.") if type_.kind == "model" and type_.model in self.classes else None
        )
        return Part(
            wire_name=name,
            python_name=argument_name(name),
            kind=kind,
            type=type_,
            required=required,
            content_type=content_type,
            description=" ".join(str(schema.get("description") or "").split()),
            pointer=json_pointer(path),
            schema=raw if isinstance(raw, Mapping) else {},
            model=model,
        )

    def _kind(
        self, schema: Mapping[str, Any], declared: Any, path: tuple[Any, ...]
    ) -> tuple[PartKind, str]:
        """The part's kind and media type: its encoding's contentType, else the defaults."""
        types = _types(schema)
        if isinstance(declared, str) and _is_json(declared):
            return "json", declared
        if _binary(schema):
            default = str(schema.get("contentMediaType") or "application/octet-stream")
            return "file", declared if isinstance(declared, str) else default
        if "array" in types:
            self.problems.refuse(
                path,
                "a repeated part (an array) is not supported; send it as one JSON part "
                "(encoding contentType: application/json)",
            )
        elif declared is None and "object" in types:
            return "json", "application/json"
        elif types and types <= set(_SCALARS):
            return "text", declared if isinstance(declared, str) else "text/plain"
        elif declared is None and not types:
            self.problems.refuse(path, "give the part a type, or a contentType in its encoding")
        else:
            self.problems.refuse(
                path, f"a part of type {', '.join(sorted(types))} cannot be sent as {declared}"
            )
        return "text", "text/plain"
