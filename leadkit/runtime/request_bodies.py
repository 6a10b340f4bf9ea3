"""Request bodies checked before they are sent: the wire form, its structure against the
operation's body type, and the JSON bytes, or a RequestValidationError naming every wrong
value by its wire path."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import cattrs

from .converters import (
    EXTRA_FIELD,
    Renames,
    merged_renames,
    type_name,
    union_members,
    validation_problems,
)
from .errors import RequestValidationError
from .json_values import (
    JSON_ARRAYS,
    MISPLACED_UNSET,
    encode_json,
    json_problems,
    key_problem,
    path_step,
)
from .unset import UNSET, Unset

__all__ = ["CheckedBody", "check_request", "validate_request"]

_JSON_SCALARS = frozenset((str, int, float, bool, type(None)))


@attrs.frozen(eq=False)  # a checked body: compared by identity
class CheckedBody:
    """A request body in wire form, already checked against its operation's body type."""

    data: Any
    payload: bytes = attrs.field(repr=False)
    """`data` as sent: compact JSON in UTF-8."""


def check_request(converter: cattrs.Converter, body: Any, body_type: Any) -> CheckedBody:
    """Check `body` (models, mappings, or lists of them) against `body_type`; keep its wire form
    and the JSON bytes to send.

    Raises RequestValidationError naming every wrong field by its wire path, including a
    value JSON cannot carry (UNSET anywhere but a whole field, Decimal, set, bytes, NaN, a
    key that is not a string, a lone surrogate in a string); never another exception for
    a body it cannot send.
    """
    data, flat = _wire_form(converter, body, body_type)
    _structure_request(converter, data, body_type)
    return CheckedBody(data, _payload(data, flat, body_type))


def validate_request(converter: cattrs.Converter, body: Any, model: Any) -> Any:
    """Check `body` (models, mappings, or lists of them) against the type `model`.

    Returns the structured value; raises RequestValidationError naming every wrong
    field by its wire path (as `check_request`).
    """
    data, flat = _wire_form(converter, body, model)
    value = _structure_request(converter, data, model)
    _payload(data, flat, model)
    return value


def _model_name(model: Any) -> str:
    return getattr(model, "__name__", str(model))


def _wire_form(converter: cattrs.Converter, body: Any, model: Any) -> tuple[Any, bool]:
    """`body` unstructured; in a mapping, a key whose value is UNSET is left out (as in a model).

    A mapping of JSON scalars (a parsed CSV or JSON row) is its own wire form already: the
    flag says so (it holds no object but itself).
    """
    if isinstance(body, Mapping):
        wire, flat = {}, True
        for key, value in body.items():  # one pass: this runs for every row of a bulk load
            if value is not UNSET:
                wire[key] = value
                flat = flat and type(value) in _JSON_SCALARS
        if flat:
            return wire, True
        body = wire
    try:
        return converter.unstructure(body), False
    except Exception as exc:  # a tuple as a key, a model field holding the wrong type, a cycle
        try:
            problems = _Unstructurable(converter).problems(body)
        except RecursionError:  # nested too deeply to walk
            problems = []
        fallback = f"cannot be put in wire form ({type(exc).__name__}: {exc}) @ $"
        raise RequestValidationError(_model_name(model), problems or [fallback]) from None


def _structure_request(converter: cattrs.Converter, data: Any, model: Any) -> Any:
    """Structure wire-form `data` as `model`, or raise RequestValidationError."""
    try:
        return converter.structure(data, model)
    except (cattrs.BaseValidationError, TypeError, ValueError) as exc:
        problems = validation_problems(converter, exc)
        # UNSET where a value belongs gets its own message, not "expected str, got Unset".
        unset = [p for p in json_problems(data) if p.startswith(MISPLACED_UNSET)]
        where = {_path_of(p) for p in unset}
        problems = unset + [p for p in problems if _path_of(p) not in where]
        raise RequestValidationError(_model_name(model), problems) from None


def _path_of(problem: str) -> str:
    """The path a "message @ path" problem names."""
    return problem.rpartition(" @ ")[2]


def _payload(data: Any, flat: bool, model: Any) -> bytes:
    """`data` as JSON in UTF-8, or RequestValidationError naming what JSON cannot carry."""
    payload = encode_json(data, keys_checked=flat and attrs.has(model))
    if payload is None:
        # The walk finds whatever the encoder refuses; the fallback is for a container whose
        # own methods fail.
        problems = json_problems(data) or ["not a JSON value @ $"]
        raise RequestValidationError(_model_name(model), problems)
    return payload


class _Unstructurable:
    """Finds where a body that the converter cannot unstructure goes wrong (a failure path).

    Each value is unstructured on its own, as its field's type where it is a model's field:
    one that fails is looked into, and named when nothing inside it fails; one that works
    is walked as wire form.
    """

    def __init__(self, converter: cattrs.Converter) -> None:
        self.converter = converter
        self.renames: Renames = getattr(converter, "renames", {})
        self.found: list[str] = []
        self.open: set[int] = set()  # ids of the containers being looked into: a cycle

    def problems(self, body: Any) -> list[str]:
        self.visit(body, "$", Any)
        return self.found

    def visit(self, value: Any, path: str, tp: Any) -> None:
        members = [m for m in (union_members(tp) or (tp,)) if m is not Unset]
        if value is not None:  # unstructured as the one type a field can hold, if just one
            members = [m for m in members if m is not type(None)]
        try:
            as_type = members[0] if len(members) == 1 and members[0] is not Any else None
            wire = self.converter.unstructure(value, unstructure_as=as_type)
        except Exception:
            before = len(self.found)
            if id(value) in self.open:
                self.found.append(f"a value that contains itself is not JSON @ {path}")
                return
            self.open.add(id(value))
            try:
                self.look_into(value, path)
            finally:
                self.open.discard(id(value))
            if len(self.found) == before:
                self.found.append(f"{self.wrong(value, members)} @ {path}")
        else:
            self.found.extend(json_problems(wire, path))

    def look_into(self, value: Any, path: str) -> None:
        if attrs.has(type(value)):
            wire = merged_renames(type(value), self.renames)
            for a in attrs.fields(attrs.resolve_types(type(value))):
                item = getattr(value, a.name)
                if a.name == EXTRA_FIELD and isinstance(item, Mapping):
                    self.entries(item, path)
                elif item is not UNSET:
                    self.visit(item, path + path_step(wire.get(a.name, a.name)), a.type)
        elif isinstance(value, Mapping):
            self.entries(value, path)
        elif isinstance(value, JSON_ARRAYS):
            for index, item in enumerate(value):
                self.visit(item, f"{path}[{index}]", Any)

    def entries(self, mapping: Mapping[Any, Any], path: str) -> None:
        for key, item in mapping.items():
            if problem := key_problem(key, path):
                self.found.append(problem)
            if isinstance(key, str):
                self.visit(item, path + path_step(key), Any)

    @staticmethod
    def wrong(value: Any, members: list[Any]) -> str:
        """What is wrong with `value`, which cannot be unstructured as one of `members`."""
        got = type(value).__name__
        if members in ([], [Any]):
            return f"{got} is not a JSON value"
        return f"expected {' | '.join(type_name(m) for m in members)}, got {got}"
