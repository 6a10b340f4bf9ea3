"""Success bodies built from the response schema: echoes, ids, timestamps, defaults, nulls."""

from __future__ import annotations

import datetime as dt
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
    if fmt == "uuid" and name.endswith("id") and "null" not in types:
        return str(uuid.uuid4())
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
    """Builds success bodies valid against one response schema.

    Request fields that fit the schema are echoed; `assigned` holds server-assigned values
    the spec gives no default or example for; required fields left over are invented.
    Optional properties appear when echoed, assigned or defaulted.
    """

    def __init__(
        self, spec: Mapping[str, Any], schema: Mapping[str, Any], assigned: Mapping[str, Any]
    ) -> None:
        self._validator = Draft202012Validator(
            dict(spec), format_checker=Draft202012Validator.FORMAT_CHECKER
        )
        root = resolve(spec, schema)
        self._required = frozenset(root.get("required", []))
        self._properties = {n: resolve(spec, p) for n, p in root.get("properties", {}).items()}
        self._assigned = assigned

    def build(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """The success body for a (valid) request body."""
        now = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
        body: dict[str, Any] = {}
        for name, prop in self._properties.items():
            value = _coerce(request[name], prop, self._validator) if name in request else _NOTHING
            if value is _NOTHING and name in self._assigned:
                value = self._assigned[name]
            if value is _NOTHING and (name in self._required or "default" in prop):
                value = _invented(name, prop, now)
            if value is not _NOTHING:
                body[name] = value
        return body
