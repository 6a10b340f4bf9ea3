"""Success bodies built from the response schema: echoes, ids, timestamps, defaults, nulls."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator

from .spec import resolve

__all__ = ["ResponseBuilder"]

_NOTHING: Any = object()
_EMPTY = {"string": "", "integer": 0, "number": 0, "boolean": False, "object": {}, "array": []}


def _types(schema: Mapping[str, Any]) -> list[str]:
    declared = schema.get("type", [])
    return [declared] if isinstance(declared, str) else list(declared)


def _coerce(value: Any, schema: Mapping[str, Any], validator: Draft202012Validator) -> Any:
    """`value` if it fits `schema`, else a numeric string as a number, else nothing."""
    if validator.evolve(schema=dict(schema)).is_valid(value):
        return value
    if isinstance(value, str) and {"integer", "number"} & set(_types(schema)):
        try:
            number = float(value)
        except ValueError:
            return _NOTHING
        return int(number) if "integer" in _types(schema) and number.is_integer() else _NOTHING
    return _NOTHING


def _invented(name: str, schema: Mapping[str, Any], now: str) -> Any:
    """A value the server would assign: id, timestamp, default, example, null, or empty."""
    types = _types(schema)
    fmt = schema.get("format")
    is_id = name.endswith("id") and "null" not in types
    if fmt == "uuid" and is_id:
        return str(uuid.uuid4())
    if types == ["integer"] and is_id:
        return random.randrange(1, 2**31)
    if "default" in schema:
        return schema["default"]
    if schema.get("examples"):
        return schema["examples"][0]
    if "null" in types:
        return None
    if fmt == "date-time" or name.endswith("_at"):
        return now
    return _EMPTY.get(types[0] if types else "object")


class ResponseBuilder:
    """Builds success bodies valid against a response schema, from the request's body.

    An object's request fields that fit the schema are echoed; `assigned` holds values the
    server assigns that the spec gives no default or example for; required fields left
    over are invented. Optional properties appear when echoed, assigned or defaulted. An
    array answers an array body item by item (an empty one to any other request).
    """

    def __init__(self, spec: Mapping[str, Any], assigned: Mapping[str, Any]) -> None:
        self._spec = spec
        self._validator = Draft202012Validator(
            dict(spec), format_checker=Draft202012Validator.FORMAT_CHECKER
        )
        self._assigned = assigned

    def _shape(self, node: Mapping[str, Any]) -> tuple[dict[str, Mapping[str, Any]], set[str]]:
        """The properties (resolved) and required names of an object schema and its allOf."""
        properties = {n: resolve(self._spec, p) for n, p in node.get("properties", {}).items()}
        required = set(node.get("required", []))
        for part in node.get("allOf", []):
            more, also = self._shape(resolve(self._spec, part))
            properties.update(more)
            required |= also
        return properties, required

    def build(self, schema: Mapping[str, Any], request: Any) -> Any:
        """The success body for a (valid) request body, None when the operation takes none."""
        now = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
        return self._value(resolve(self._spec, schema), request, now)

    def _value(self, node: Mapping[str, Any], request: Any, now: str) -> Any:
        if "array" in _types(node) and "items" in node:
            items = resolve(self._spec, node["items"])
            return (
                [self._value(items, r, now) for r in request] if isinstance(request, list) else []
            )
        properties, required = self._shape(node)
        fields = request if isinstance(request, Mapping) else {}
        body: dict[str, Any] = {}
        for name, prop in properties.items():
            value = _coerce(fields[name], prop, self._validator) if name in fields else _NOTHING
            if value is _NOTHING and name in self._assigned:
                value = self._assigned[name]
            if value is _NOTHING and (name in required or "default" in prop):
                value = _invented(name, prop, now)
            if value is not _NOTHING:
                body[name] = value
        return body
