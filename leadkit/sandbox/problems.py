"""Request validation against the spec's schemas, as API-neutral problems."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from typing import Any

import attrs
from jsonschema import Draft202012Validator, ValidationError

from .spec import ApiModel, Operation, resolve

__all__ = ["MISSING", "OperationValidator", "Problem", "describe", "schema_problems"]

_INTEGER = r"[+-]?[0-9]+"
MISSING: Any = object()
"""The `received` value of a missing field."""


@attrs.frozen
class Problem:
    """One thing wrong with a request, before an API's dialect renders it."""

    loc: tuple[str | int, ...]
    """Where: ("body", "email"), ("path", "campaign_id"), ("body",)."""
    kind: str
    """missing, type, enum, format, union, json, media_type or other."""
    expected: Any
    """The expected type name, the enum values or the format name."""
    received: Any
    message: str
    """jsonschema's own message, for the kinds a dialect has no wording for."""


def _expected_type(value: Any) -> str:
    types = [value] if isinstance(value, str) else list(value)
    return next((t for t in types if t != "null"), "null")


def _problems_of(error: ValidationError, where: tuple[str | int, ...]) -> Iterator[Problem]:
    loc = (*where, *error.absolute_path)
    if error.validator == "required":
        names: list[str] = list(error.validator_value)  # type: ignore[arg-type]
        present: Any = error.instance
        for name in names:
            if name not in present:
                yield Problem((*loc, name), "missing", None, MISSING, error.message)
        return
    kinds = {"type": "type", "enum": "enum", "format": "format", "anyOf": "union", "oneOf": "union"}
    kind = kinds.get(str(error.validator), "other")
    expected = _expected_type(error.validator_value) if kind == "type" else error.validator_value
    yield Problem(loc, kind, expected, error.instance, error.message)


def schema_problems(
    spec: Mapping[str, Any], schema: Mapping[str, Any], value: Any, where: tuple[str | int, ...]
) -> list[Problem]:
    """The problems of `value` against `schema` (its `$ref`s resolved in `spec`), at `where`."""
    root = Draft202012Validator(dict(spec), format_checker=Draft202012Validator.FORMAT_CHECKER)
    validator = root.evolve(schema=dict(schema))
    found: dict[tuple[str | int, ...], Problem] = {}
    for error in validator.iter_errors(value):
        for problem in _problems_of(error, where):
            found.setdefault(problem.loc, problem)
    return [found[loc] for loc in sorted(found, key=_location_order)]


def describe(problems: list[Problem]) -> str:
    """The problems in one line: ``email: required; first_name: 5 is not of type 'string'``."""
    said = []
    for problem in problems:
        where = ".".join(str(part) for part in problem.loc[1:]) or "the row"
        said.append(f"{where}: {'required' if problem.kind == 'missing' else problem.message}")
    return "; ".join(said)


def _location_order(loc: tuple[str | int, ...]) -> tuple[bool, list[str]]:
    """Path parameters first, then the body's fields in name order (stable across runs)."""
    return loc[0] != "path", [str(part) for part in loc]


def _labelled_json(content_type: str | None) -> bool:
    """Whether the Content-Type says JSON: application/json or application/*+json.

    Inferred. FastAPI decodes a body only under such a type (by default, since
    strict_content_type, not without one) and Pydantic refuses the raw bytes: a 422. tRPC
    refuses other types too, with a 415 a spec may not declare: the sandbox answers every
    such body with the API's validation status and body instead.
    """
    main, _, sub = (content_type or "").split(";", 1)[0].strip().lower().partition("/")
    return main == "application" and (sub == "json" or sub.endswith("+json"))


def _path_value(text: str | None, schema: Mapping[str, Any]) -> Any:
    """A path parameter as its schema's type reads it: "7" is 7 for an integer (else text)."""
    declared = schema.get("type", [])
    types = {declared} if isinstance(declared, str) else set(declared)
    if text is not None and "integer" in types and re.fullmatch(_INTEGER, text):
        return int(text)
    if text is not None and "number" in types:
        try:
            number = float(text)
        except ValueError:
            return text
        return number if math.isfinite(number) else text
    return text


def _no_constant(name: str) -> Any:
    """NaN and Infinity are not JSON, though Python's json module reads them."""
    raise ValueError(f"{name} is not valid JSON")


class OperationValidator:
    """Checks the path parameters and the JSON body of one operation."""

    def __init__(self, api: ApiModel, op: Operation) -> None:
        root = Draft202012Validator(
            dict(api.spec), format_checker=Draft202012Validator.FORMAT_CHECKER
        )
        self._params = {
            name: (resolve(api.spec, schema), root.evolve(schema=dict(schema)))
            for name, schema in op.path_params.items()
        }
        self._body = root.evolve(schema=dict(op.request_schema)) if op.request_schema else None

    def check(
        self, path_params: Mapping[str, str], raw: bytes, content_type: str | None
    ) -> tuple[Any, list[Problem]]:
        """Return (the decoded body, every problem found; empty when the request is valid)."""
        problems = {problem.loc: problem for problem in self.check_path(path_params)}
        body: Any = None
        if self._body is not None:
            if raw and not _labelled_json(content_type):
                said = f'Unsupported content-type "{content_type}"' if content_type else None
                message = said or "Missing content-type header"
                problems[("body",)] = Problem(("body",), "media_type", None, raw, message)
                return None, list(problems.values())
            try:
                body = json.loads(raw, parse_constant=_no_constant) if raw.strip() else MISSING
            except (ValueError, RecursionError) as exc:  # RecursionError: nested too deep
                message = str(exc) if isinstance(exc, ValueError) else "nested too deeply"
                problems[("body",)] = Problem(("body",), "json", None, raw, message)
                return None, list(problems.values())
            if body is MISSING:
                problems[("body",)] = Problem(("body",), "missing", "object", MISSING, "no body")
                return None, list(problems.values())
            for problem in self.check_body(body):
                problems.setdefault(problem.loc, problem)
        return body, [problems[loc] for loc in sorted(problems, key=_location_order)]

    def check_path(self, path_params: Mapping[str, str]) -> list[Problem]:
        """The problems of the path parameters, each read as its schema's type."""
        problems: dict[tuple[str | int, ...], Problem] = {}
        for name, (schema, validator) in self._params.items():
            value = _path_value(path_params.get(name), schema)
            for error in validator.iter_errors(value):
                for problem in _problems_of(error, ("path", name)):
                    problems.setdefault(problem.loc, problem)
        return list(problems.values())

    def check_body(self, body: Any) -> list[Problem]:
        """The problems of a decoded body (none for an operation that takes none)."""
        if self._body is None:
            return []
        found: dict[tuple[str | int, ...], Problem] = {}
        for error in self._body.iter_errors(body):
            for problem in _problems_of(error, ("body",)):
                found.setdefault(problem.loc, problem)
        return [found[loc] for loc in sorted(found, key=_location_order)]
