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
import math
import types
import typing
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from .json_values import path_step
from .unset import UNSET, Unset
from .uuids import parse_uuid

__all__ = [
    "EXTRA_FIELD",
    "Renames",
    "build_converters",
    "describe_error",
    "merged_renames",
    "type_name",
    "union_members",
    "validation_problems",
    "wire_names",
]

EXTRA_FIELD = "additional_properties"
"""Name of the attribute holding fields the spec does not declare."""

Renames = Mapping[type, Mapping[str, str]]


def union_members(tp: Any) -> tuple[Any, ...] | None:
    """The members of a union type; None for any other type."""
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


def type_name(tp: Any) -> str:
    """A type as errors name it: ``null``, ``str``, ``list[str]``."""
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
        wire = merged_renames(exc.cl, renames)
        fields, without = exc.group_exceptions()
        for inner, field in fields:
            _collect(inner, path + path_step(wire.get(field.name, field.name)), renames, found)
    elif isinstance(exc, cattrs.IterableValidationError):
        items, without = exc.group_exceptions()
        for inner, item in items:
            if item.startswith("Structuring mapping key"):
                found.append(f"key {item.index!r}: {describe_error(inner, None)} @ {path}")
            else:
                step = path_step(item.index) if isinstance(item.index, str) else f"[{item.index!r}]"
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
    names = " | ".join(type_name(m) for m in members)

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


def merged_renames(cls: type, renames: Renames) -> dict[str, str]:
    """Renames of `cls` and of the classes it inherits from (allOf)."""
    merged: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        merged.update(renames.get(klass, {}))
    return merged


def wire_names(cls: type, renames: Renames) -> dict[str, str]:
    """Python attribute name -> wire name of every declared field of the model `cls`."""
    renamed = merged_renames(cls, renames)
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
        lambda t: union_members(t) is not None, lambda t: _union_hook(conv, t)
    )

    def structure_factory(cls: type) -> Callable[[Any, Any], Any]:
        wire = merged_renames(cls, renames)
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
        wire = merged_renames(cls, renames)
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
