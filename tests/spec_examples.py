"""Minimal valid JSON instances of a spec's schemas, for building server replies in tests."""

from __future__ import annotations

from typing import Any

__all__ = ["example"]

_SCALARS = {
    "uuid": "3c90c3cc-0d44-4b50-8888-8dd25736052a",
    "date-time": "2023-11-07T05:31:56Z",
    "date": "2023-11-07",
}


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = spec
        for part in schema["$ref"][2:].split("/"):
            node = node[part]
        schema = node
    return schema


def example(spec: dict[str, Any], schema: dict[str, Any]) -> Any:
    """A value that validates against `schema`: required properties only, nulls where allowed."""
    schema = _resolve(spec, schema)
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            merged.update(example(spec, part))
        return merged
    if "anyOf" in schema:
        return example(spec, schema["anyOf"][0])
    if "enum" in schema:
        return schema["enum"][0]
    types = schema.get("type", "object")
    kind = types if isinstance(types, str) else next(t for t in types if t != "null")
    if kind == "object":
        props = schema.get("properties", {})
        return {name: example(spec, props[name]) for name in schema.get("required", [])}
    if kind == "array":
        return [example(spec, schema.get("items", {}))]
    if kind == "string":
        return _SCALARS.get(schema.get("format", ""), "text")
    return {"integer": 1, "number": 1.5, "boolean": True}[kind]
