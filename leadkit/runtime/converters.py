"""cattrs converters for generated models: wire names, UNSET, strict requests, lenient responses.

Two converters per API share one set of rules:

* the **request** converter is strict: a value of the wrong type is an error naming the
  field, unknown keys are refused, an enum value must be one the spec lists;
* the **response** converter is lenient where APIs grow: unknown fields are kept in the
  model's ``additional_properties`` and an enum value never seen before is kept as an
  open member instead of raising.

Both omit UNSET fields on the wire and send ``None`` as an explicit ``null``. UNSET anywhere
else (inside a list or a free-form object) stays the UNSET object in the wire form, never the
string "UNSET", so that `check_request` refuses it.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import math
import re
import types
import typing
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from .errors import LeadkitError
from .unset import UNSET, Unset
from .uuids import parse_uuid

__all__ = [
    "EXTRA_FIELD",
    "CheckedBody",
    "RequestValidationError",
    "build_converters",
    "check_request",
    "describe_error",
    "validate_request",
    "validation_problems",
    "wire_names",
]

_JSON_SCALARS = frozenset((str, int, float, bool, type(None)))

EXTRA_FIELD = "additional_properties"
"""Name of the attribute holding fields the spec does not declare."""

Renames = Mapping[type, Mapping[str, str]]


class RequestValidationError(LeadkitError, ValueError):
    """A request body does not match its schema; nothing was sent."""

    def __init__(self, model: str, problems: list[str]) -> None:
        self.model = model
        self.problems = problems
        super().__init__(f"invalid {model}: " + "; ".join(problems))


def _union_members(tp: Any) -> tuple[Any, ...] | None:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return typing.get_args(tp)
    return None


EnumHook = Callable[[Any, type[enum.Enum]], enum.Enum]


def _strict_primitive(expected: type, enum_hook: EnumHook) -> Callable[[Any, Any], Any]:
    """Structure hook that never coerces; str/int-based enums are passed to `enum_hook`."""

    def structure(value: Any, cls: Any) -> Any:
        if type(value) is expected and cls is expected:
            return _finite(value) if expected is float else value
        if cls is not expected and issubclass(cls, enum.Enum):
            return enum_hook(value, cls)
        if isinstance(value, bool) and expected is not bool:
            raise TypeError(f"expected {expected.__name__}, got bool")
        if expected is float and isinstance(value, int):
            return float(value)
        if not isinstance(value, expected):
            raise TypeError(f"expected {expected.__name__}, got {type(value).__name__}")
        return _finite(value) if expected is float else value

    return structure


def _finite(value: Any) -> Any:
    """`value`, a float, unless it is NaN or infinite: JSON cannot carry those."""
    if not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {value}: JSON has no NaN or infinity")
    return value


def _keep(value: Any) -> Any:
    return value


def _structure_datetime(value: Any, _: Any) -> dt.datetime:
    if not isinstance(value, str):
        raise TypeError(f"expected an ISO 8601 date-time string, got {type(value).__name__}")
    return dt.datetime.fromisoformat(value)


def _structure_date(value: Any, _: Any) -> dt.date:
    if not isinstance(value, str):
        raise TypeError(f"expected an ISO 8601 date string, got {type(value).__name__}")
    return dt.date.fromisoformat(value)


def _structure_uuid(value: Any, _: Any) -> uuid.UUID:
    if not isinstance(value, str):
        raise TypeError(f"expected a UUID string, got {type(value).__name__}")
    return parse_uuid(value)


def _strict_enum_member(value: Any, cls: type[enum.Enum]) -> enum.Enum:
    try:
        return cls(value)
    except ValueError:
        allowed = ", ".join(repr(member.value) for member in cls)
        raise ValueError(f"{value!r} is not a valid {cls.__name__} ({allowed})") from None


def _open_enum_member(value: Any, cls: type[enum.Enum]) -> enum.Enum:
    """Return the member for `value`, or a new pseudo-member when the API added a value."""
    try:
        return cls(value)
    except ValueError:
        base: Any = next((b for b in cls.__mro__ if b in (str, int)), object)
        member: enum.Enum = base.__new__(cls, value) if base is not object else object.__new__(cls)
        member._name_ = str(value)
        member._value_ = value
        return member


def _type_name(tp: Any) -> str:
    if tp is type(None):
        return "null"
    if isinstance(tp, type) and not typing.get_args(tp):
        return tp.__name__
    return str(tp).replace("typing.", "")


def describe_error(exc: BaseException, _: Any) -> str:
    """Message of one leaf error, for cattrs.transform_error."""
    if isinstance(exc, KeyError):
        return "required field missing"
    if isinstance(exc, cattrs.ForbiddenExtraKeysError):
        return f"unknown field(s) {sorted(exc.extra_fields)}"
    return str(exc) or type(exc).__name__


def validation_problems(converter: cattrs.Converter, exc: BaseException) -> list[str]:
    """ "message @ path" of every wrong value a structuring error holds, by its wire path.

    As `cattrs.transform_error`, but fields are named as on the wire (``usersId``, not
    ``users_id``) and keys of objects as the JSON walk names them (``$.attributes.x[0]``).
    """
    found: list[str] = []
    _collect(exc, "$", getattr(converter, "renames", {}), found)
    return found


def _collect(exc: BaseException, path: str, renames: Renames, found: list[str]) -> None:
    if isinstance(exc, cattrs.ClassValidationError):
        wire = _wire_names(exc.cl, renames)
        fields, without = exc.group_exceptions()
        for inner, field in fields:
            _collect(inner, path + _step(wire.get(field.name, field.name)), renames, found)
    elif isinstance(exc, cattrs.IterableValidationError):
        items, without = exc.group_exceptions()
        for inner, item in items:
            if item.startswith("Structuring mapping key"):
                found.append(f"key {item.index!r}: {describe_error(inner, None)} @ {path}")
            else:
                step = _step(item.index) if isinstance(item.index, str) else f"[{item.index!r}]"
                _collect(inner, path + step, renames, found)
    else:
        found.append(f"{describe_error(exc, None)} @ {path}")
        return
    found.extend(f"{describe_error(inner, None)} @ {path}" for inner in without)


def _could_be(tp: Any) -> Callable[[Any], bool]:
    """Cheap pre-check so that a union tries only the members a value could be."""
    origin = typing.get_origin(tp) or tp
    if origin in (list, tuple, typing.Sequence):
        return lambda value: isinstance(value, list)
    if origin in (dict, typing.Mapping) or attrs.has(origin):
        return lambda value: isinstance(value, dict)
    return lambda value: True


_EXACT = (str, int, bool)
"""Union members a JSON value of exactly that type is returned as, unchanged."""


def _union_hook(conv: cattrs.Converter, tp: Any) -> Callable[[Any, Any], Any]:
    """Structure hook of one union type, with its members' hooks looked up once."""
    members = [m for m in typing.get_args(tp) if m is not Unset]
    nullable = type(None) in members
    exact = frozenset(m for m in members if m in _EXACT)
    takes_float = float in members
    others = [
        (m, _could_be(m), conv.get_structure_hook(m))
        for m in members
        if m not in _EXACT and m is not float and m is not type(None)
    ]
    names = " | ".join(_type_name(m) for m in members)

    def structure(value: Any, _: Any) -> Any:
        kind = type(value)
        if kind in exact or (value is None and nullable):
            return value
        if takes_float and (kind is float or kind is int):
            return _finite(float(value))
        refusals: list[Exception] = []
        for member, could_be, hook in others:
            if could_be(value):
                try:
                    return hook(value, member)
                except (TypeError, ValueError, cattrs.BaseValidationError) as exc:
                    refusals.append(exc)
        # The one member it could be says why, down to the innermost wrong value:
        # "'ZAR' is not a valid ContractCurrency (...)", "expected str, got int @ $.tags[0]".
        if len(refusals) == 1 and isinstance(refusals[0], ValueError | cattrs.BaseValidationError):
            raise refusals[0]
        raise TypeError(f"expected {names}, got {kind.__name__}")

    return structure


def _wire_names(cls: type, renames: Renames) -> dict[str, str]:
    """Renames of `cls` and of the classes it inherits from (allOf)."""
    merged: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        merged.update(renames.get(klass, {}))
    return merged


def wire_names(cls: type, renames: Renames) -> dict[str, str]:
    """Python attribute name -> wire name of every declared field of the model `cls`."""
    renamed = _wire_names(cls, renames)
    return {a.name: renamed.get(a.name, a.name) for a in attrs.fields(cls) if a.name != EXTRA_FIELD}


def _configure(conv: _Converter, renames: Renames, *, lenient: bool) -> None:
    enum_hook = _open_enum_member if lenient else _strict_enum_member
    conv.register_structure_hook(enum.Enum, enum_hook)
    for primitive in (str, int, float, bool):
        conv.register_structure_hook(primitive, _strict_primitive(primitive, enum_hook))
    conv.register_structure_hook(dt.datetime, _structure_datetime)
    conv.register_structure_hook(dt.date, _structure_date)
    conv.register_structure_hook(uuid.UUID, _structure_uuid)
    conv.register_unstructure_hook(dt.datetime, dt.datetime.isoformat)
    conv.register_unstructure_hook(dt.date, dt.date.isoformat)
    conv.register_unstructure_hook(uuid.UUID, str)
    # UNSET in a model field or a body mapping's value is left out before any hook sees it;
    # one a hook does see (in a list, a free-form object) is kept as it is, for
    # `check_request` to refuse: the enum hook would send the string "UNSET".
    conv.register_unstructure_hook(Unset, _keep)
    conv.register_structure_hook(Any, lambda value, _: value)

    conv.register_structure_hook_factory(
        lambda t: _union_members(t) is not None, lambda t: _union_hook(conv, t)
    )

    def structure_factory(cls: type) -> Callable[[Any, Any], Any]:
        wire = _wire_names(cls, renames)
        overrides: dict[str, Any] = {
            a.name: override(rename=wire.get(a.name, a.name)) for a in attrs.fields(cls)
        }
        has_extra = EXTRA_FIELD in overrides
        if has_extra:
            overrides[EXTRA_FIELD] = override(omit=True)
        base: Callable[[Any, Any], Any] = make_dict_structure_fn(
            cls, conv, _cattrs_forbid_extra_keys=not lenient, **overrides
        )
        known = frozenset(o.rename for name, o in overrides.items() if name != EXTRA_FIELD)

        def detailed(value: Any, _: Any) -> Any:
            if not isinstance(value, dict):
                raise TypeError(f"expected an object, got {type(value).__name__}")
            obj = base(value, cls)
            if has_extra and (unknown := value.keys() - known):
                setattr(obj, EXTRA_FIELD, {k: v for k, v in value.items() if k in unknown})
            return obj

        return detailed

    def unstructure_factory(cls: type) -> Callable[[Any], dict[str, Any]]:
        wire = _wire_names(cls, renames)
        overrides: dict[str, Any] = {
            a.name: override(rename=wire.get(a.name, a.name), omit_if_default=a.default is UNSET)
            for a in attrs.fields(cls)
        }
        has_extra = EXTRA_FIELD in overrides
        if has_extra:
            overrides[EXTRA_FIELD] = override(omit=True)
        base: Callable[[Any], dict[str, Any]] = make_dict_unstructure_fn(cls, conv, **overrides)
        if not has_extra:
            return base

        def unstructure(obj: Any) -> dict[str, Any]:
            data = base(obj)
            extra = getattr(obj, EXTRA_FIELD)
            if extra:
                data.update(extra)
            return data

        return unstructure

    conv.detailed_structure_fn = structure_factory
    conv.register_structure_hook_factory(attrs.has, structure_factory)
    conv.register_unstructure_hook_factory(attrs.has, unstructure_factory)


class _Converter(cattrs.Converter):
    """A cattrs converter that keeps its models' renames, to name a field by its wire path,
    and makes cattrs' detailed structure function of a model on request."""

    __slots__ = ("detailed_structure_fn", "renames")
    renames: Renames
    detailed_structure_fn: Callable[[type], Callable[[Any, Any], Any]]
    """cattrs' detailed function of a model: the one that words every error."""


def build_converters(renames: Renames) -> tuple[cattrs.Converter, cattrs.Converter]:
    """Return the (strict request, lenient response) converters for one API's models.

    They structure models with cattrs' detailed functions. A generated package registers its
    own structure functions on them (`leadkit.runtime.serde.install`); those hand what
    they do not check inline back to these converters. Without them (the reference the tests
    compare against) cattrs does everything.
    """
    request = _Converter(detailed_validation=True)
    response = _Converter(detailed_validation=True)
    for conv, lenient in ((request, False), (response, True)):
        conv.renames = renames
        _configure(conv, renames, lenient=lenient)
    return request, response


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
        body = {key: value for key, value in body.items() if value is not UNSET}
        if all(type(value) in _JSON_SCALARS for value in body.values()):
            return body, True
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
        unset = [p for p in _json_problems(data) if p.startswith(_MISPLACED_UNSET)]
        where = {_path_of(p) for p in unset}
        problems = unset + [p for p in problems if _path_of(p) not in where]
        raise RequestValidationError(_model_name(model), problems) from None


def _path_of(problem: str) -> str:
    """The path a "message @ path" problem names."""
    return problem.rpartition(" @ ")[2]


_encode = json.JSONEncoder(separators=(",", ":"), allow_nan=False, ensure_ascii=False).encode
"""Compact JSON without NaN; text other than ASCII is kept as it is (sent as UTF-8)."""


def _payload(data: Any, flat: bool, model: Any) -> bytes:
    """`data` as JSON in UTF-8, or RequestValidationError naming what JSON cannot carry.

    The wire form is walked only when encoding fails or it has nested values, where an
    object key might not be a string (the encoder would turn 1, True or None into one).
    """
    try:
        payload = _encode(data).encode()
    except (TypeError, ValueError):  # UnicodeEncodeError (a lone surrogate) is a ValueError
        pass
    else:  # a flat mapping's keys are a model's field names, which it checked
        if (flat and attrs.has(model)) or _string_keys(data):
            return payload
    # The walk finds whatever the encoder refuses; the fallback is for a container whose
    # own methods fail.
    problems = _json_problems(data) or ["not a JSON value @ $"]
    raise RequestValidationError(_model_name(model), problems)


_ARRAYS = (list, tuple)
_LEAVES = frozenset((str, int, float, bool, type(None)))


def _string_keys(value: Any) -> bool:
    """Whether every key of every object nested in `value` (encodable JSON) is a string.

    Loops rather than all() over generators: this runs on every body with a nested value.
    """
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return False
            if type(item) not in _LEAVES and not _string_keys(item):
                return False
    elif isinstance(value, _ARRAYS):
        for item in value:
            if type(item) not in _LEAVES and not _string_keys(item):
                return False
    return True


_MISPLACED_UNSET = "UNSET can only leave out a whole field"
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _step(key: str) -> str:
    """The path step to the value of `key`: `.key`, or `['key']` when it is not plain."""
    return f".{key}" if _PLAIN_KEY.fullmatch(key) else f"[{key!r}]"


def _key_problem(key: Any, path: str) -> str | None:
    """What is wrong with `key` as the key of an object at `path`, if anything."""
    if not isinstance(key, str):
        return f"an object key must be a string, got {type(key).__name__} @ {path}"
    if not _valid_unicode(key):
        return f"key {key!r} is not valid Unicode (a lone surrogate) @ {path}"
    return None


def _json_problems(value: Any, path: str = "$") -> list[str]:
    """ "message @ path" of every value in wire-form `value` that JSON cannot carry, in order."""
    problems: list[str] = []
    _walk(value, path, problems)
    return problems


def _walk(value: Any, path: str, problems: list[str]) -> None:
    # isinstance, as the encoder: it takes subclasses of str, int, float, dict, list and tuple.
    if value is UNSET:
        problems.append(f"{_MISPLACED_UNSET} @ {path}")
    elif isinstance(value, str):
        if not _valid_unicode(value):
            problems.append(f"not valid Unicode (a lone surrogate) @ {path}")
    elif isinstance(value, float):
        if not math.isfinite(value):
            name = "NaN" if math.isnan(value) else "Infinity" if value > 0 else "-Infinity"
            problems.append(f"{name} is not a JSON value @ {path}")
    elif value is None or isinstance(value, int):  # bool is an int
        pass
    elif isinstance(value, dict):
        for key, item in value.items():
            if problem := _key_problem(key, path):
                problems.append(problem)
            if isinstance(key, str):  # a value under another key has no path to name
                _walk(item, path + _step(key), problems)
    elif isinstance(value, _ARRAYS):
        for index, item in enumerate(value):
            _walk(item, f"{path}[{index}]", problems)
    else:
        problems.append(f"{type(value).__name__} is not a JSON value @ {path}")


def _valid_unicode(text: str) -> bool:
    """Whether `text` can be encoded as UTF-8: it has no lone surrogate."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


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
        members = [m for m in (_union_members(tp) or (tp,)) if m is not Unset]
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
            _walk(wire, path, self.found)

    def look_into(self, value: Any, path: str) -> None:
        if attrs.has(type(value)):
            wire = _wire_names(type(value), self.renames)
            for a in attrs.fields(attrs.resolve_types(type(value))):
                item = getattr(value, a.name)
                if a.name == EXTRA_FIELD and isinstance(item, Mapping):
                    self.entries(item, path)
                elif item is not UNSET:
                    self.visit(item, path + _step(wire.get(a.name, a.name)), a.type)
        elif isinstance(value, Mapping):
            self.entries(value, path)
        elif isinstance(value, _ARRAYS):
            for index, item in enumerate(value):
                self.visit(item, f"{path}[{index}]", Any)

    def entries(self, mapping: Mapping[Any, Any], path: str) -> None:
        for key, item in mapping.items():
            if problem := _key_problem(key, path):
                self.found.append(problem)
            if isinstance(key, str):
                self.visit(item, path + _step(key), Any)

    @staticmethod
    def wrong(value: Any, members: list[Any]) -> str:
        """What is wrong with `value`, which cannot be unstructured as one of `members`."""
        got = type(value).__name__
        if members in ([], [Any]):
            return f"{got} is not a JSON value"
        return f"expected {' | '.join(_type_name(m) for m in members)}, got {got}"
