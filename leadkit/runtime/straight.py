"""Straight-line structure and unstructure functions for one attrs model.

cattrs' generated functions call a hook per field and, with detailed validation, wrap each
field in its own try block; for flat models most of their time is those calls. The
functions made here inline the checks of the common field types (str, int, float, bool,
UUID, date-time, date, Any, their nullable and optional forms) and call the converter's
hook for every other type. A structure function only has a fast path: it raises on
anything unusual, and the caller then runs cattrs' detailed function, which gives the
error (or, for an unusual but valid value, the result). Tests check both give equal results.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import types
import typing
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import attrs
import cattrs
from cattrs.fns import identity

from .unset import UNSET, Unset

__all__ = ["make_structure_fn", "make_unstructure_fn"]

_EXACT = (str, int, bool)
_PARSED: dict[Any, Callable[[str], Any]] = {
    uuid.UUID: uuid.UUID,
    dt.datetime: dt.datetime.fromisoformat,
    dt.date: dt.date.fromisoformat,
}
_PRIMITIVES = (str, int, float, bool, type(None))
_GENERATING: set[tuple[type, str]] = set()
"""Models whose functions are being made: a model that contains itself is left to cattrs."""


def _members(tp: Any) -> tuple[Any, ...]:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return typing.get_args(tp)
    return (tp,)


class _Source:
    """Lines of one generated function and the names its globals bind."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.lines: list[str] = []
        self.globals: dict[str, Any] = {"UNSET": UNSET, "MISSING": object()}

    def bind(self, prefix: str, value: Any) -> str:
        name = f"{prefix}{len(self.globals)}"
        self.globals[name] = value
        return name

    def add(self, indent: int, line: str) -> None:
        self.lines.append("    " * indent + line)

    def compile(self) -> Any:
        source = "\n".join(self.lines) + "\n"
        filename = f"<leadkit straight-line {self.name}>"
        exec(compile(source, filename, "exec"), self.globals)
        return self.globals[self.name]


@contextlib.contextmanager
def _making(cls: type, direction: str) -> Iterator[bool]:
    """Mark `cls` as being made; yield True when it already was (it contains itself)."""
    key = (cls, direction)
    if key in _GENERATING:
        yield True
        return
    _GENERATING.add(key)
    try:
        yield False
    finally:
        _GENERATING.discard(key)


def _json_object(tp: Any) -> bool:
    """Whether `tp` is dict[str, Any], a free-form JSON object."""
    return typing.get_origin(tp) is dict and typing.get_args(tp) == (str, Any)


def _list_of_exact(tp: Any) -> bool:
    """Whether `tp` is list[str], list[int] or list[bool]: checked and copied inline."""
    return typing.get_origin(tp) is list and typing.get_args(tp)[0] in _EXACT


def _inlined(tp: Any) -> bool:
    """Whether `tp` is a container type checked inline rather than by a hook."""
    return _json_object(tp) or _list_of_exact(tp)


def _check(src: _Source, conv: cattrs.Converter, tp: Any, var: str, indent: int) -> None:
    """Lines that check `var` against `tp` and replace it by its structured value.

    Inlined: one common type, optionally nullable; anything else calls the converter's
    hook for the whole of `tp`, as cattrs' function would.
    """
    members = [m for m in _members(tp) if m is not Unset]
    rest = [m for m in members if m is not type(None)]
    kind = rest[0] if len(rest) == 1 else None
    if not (kind in _EXACT or kind in _PARSED or kind in (float, Any) or _inlined(kind)):
        hook = src.bind("h", conv.get_structure_hook(tp))
        src.add(indent, f"{var} = {hook}({var}, {src.bind('t', tp)})")
        return
    if len(members) > 1:
        src.add(indent, f"if {var} is not None:")
        indent += 1
    if kind in _EXACT:
        src.add(indent, f"if type({var}) is not {src.bind('k', kind)}: raise TypeError")
    elif kind is float:
        src.add(indent, f"if type({var}) is int: {var} = float({var})")
        src.add(indent, f"elif type({var}) is not float: raise TypeError")
    elif kind in _PARSED:
        src.add(indent, f"if type({var}) is not str: raise TypeError")
        src.add(indent, f"{var} = {src.bind('p', _PARSED[kind])}({var})")
    elif kind is Any:
        src.add(indent, "pass")
    elif _json_object(kind):
        src.add(indent, f"if type({var}) is not dict: raise TypeError")
        src.add(indent, f"if any(type(k) is not str for k in {var}): raise TypeError")
        src.add(indent, f"{var} = dict({var})")
    else:
        item = src.bind("k", typing.get_args(kind)[0])
        src.add(indent, f"if type({var}) is not list: raise TypeError")
        src.add(indent, f"if any(type(x) is not {item} for x in {var}): raise TypeError")
        src.add(indent, f"{var} = list({var})")


def make_structure_fn(
    cls: type, conv: cattrs.Converter, wire: Mapping[str, str], *, extra: str | None, strict: bool
) -> Callable[[Any], Any] | None:
    """A fast structure function for `cls`, or None for models it does not handle.

    `wire` maps attribute names to wire names; `extra` names the attribute that collects
    undeclared keys; `strict` refuses undeclared keys instead. It raises on any problem
    without saying what: run the detailed function then.
    """
    fields = [a for a in attrs.fields(attrs.resolve_types(cls)) if a.name != extra]
    if any(not a.init or isinstance(a.default, attrs.Factory) for a in fields):  # type: ignore[arg-type]
        return None
    with _making(cls, "structure") as recursive:
        return None if recursive else _structure_fn(cls, conv, wire, fields, extra, strict)


def _structure_fn(
    cls: type,
    conv: cattrs.Converter,
    wire: Mapping[str, str],
    fields: list[attrs.Attribute[Any]],
    extra: str | None,
    strict: bool,
) -> Callable[[Any], Any]:
    src = _Source(f"structure_{cls.__name__}")
    src.add(0, f"def {src.name}(o):")
    src.add(1, "if type(o) is not dict: raise TypeError")
    src.add(1, f"n = {sum(a.default is attrs.NOTHING for a in fields)}")
    arguments = []
    for i, a in enumerate(fields):
        var, key = f"v{i}", repr(wire.get(a.name, a.name))
        if a.default is attrs.NOTHING:
            src.add(1, f"{var} = o[{key}]")
            _check(src, conv, a.type, var, 1)
        else:
            src.add(1, f"{var} = o.get({key}, MISSING)")
            src.add(1, f"if {var} is MISSING: {var} = {src.bind('d', a.default)}")
            src.add(1, "else:")
            src.add(2, "n += 1")
            _check(src, conv, a.type, var, 2)
        arguments.append(f"{a.alias}={var}")
    if strict:  # n counts the declared keys present: more keys means undeclared ones
        src.add(1, "if len(o) > n: raise KeyError")
    src.add(1, f"obj = {src.bind('cls', cls)}({', '.join(arguments)})")
    if extra is not None and not strict:
        known = src.bind("known", frozenset(wire.get(a.name, a.name) for a in fields))
        src.add(1, f"if len(o) > n and (unknown := o.keys() - {known}):")
        src.add(2, f"obj.{extra} = {{k: v for k, v in o.items() if k in unknown}}")
    src.add(1, "return obj")
    fn: Callable[[Any], Any] = src.compile()
    return fn


def _value(src: _Source, conv: cattrs.Converter, tp: Any, var: str) -> str:
    """The expression that unstructures `var` of declared type `tp` (UNSET already left out).

    A single type, nullable or not, is unstructured by its own hook; a union of several
    by the value's class, as cattrs does, JSON primitives passing unchanged.
    """
    members = [m for m in _members(tp) if m is not Unset]
    rest = [m for m in members if m is not type(None)]
    if len(rest) == 1:
        (kind,) = rest
        hook = conv.get_unstructure_hook(kind)
        if hook is identity:
            return var
        if _list_of_exact(kind):
            expr = f"list({var})"
        elif _json_object(kind):
            passing = src.bind("prim", _passing(conv))
            value = f"x if type(x) in {passing} else {src.bind('u', conv.unstructure)}(x)"
            expr = f"{{k: {value} for k, x in {var}.items()}}"
        else:
            expr = f"{src.bind('u', hook)}({var})"
        return expr if len(members) == 1 else f"None if {var} is None else {expr}"
    hook = conv.get_unstructure_hook(tp)
    passing = src.bind("prim", _passing(conv))
    return f"{var} if type({var}) in {passing} else {src.bind('u', hook)}({var})"


def _passing(conv: cattrs.Converter) -> tuple[type, ...]:
    """The JSON primitive classes that `conv` unstructures unchanged."""
    return tuple(t for t in _PRIMITIVES if conv.get_unstructure_hook(t) is identity)


def make_unstructure_fn(
    cls: type, conv: cattrs.Converter, wire: Mapping[str, str], *, extra: str | None
) -> Callable[[Any], dict[str, Any]] | None:
    """A straight-line unstructure function for `cls` (None for a model containing itself):
    wire names, UNSET fields left out, the `extra` attribute's keys merged in; each value
    unstructured as cattrs would."""
    fields = [a for a in attrs.fields(attrs.resolve_types(cls)) if a.name != extra]
    with _making(cls, "unstructure") as recursive:
        return None if recursive else _unstructure_fn(cls, conv, wire, fields, extra)


def _unstructure_fn(
    cls: type,
    conv: cattrs.Converter,
    wire: Mapping[str, str],
    fields: list[attrs.Attribute[Any]],
    extra: str | None,
) -> Callable[[Any], dict[str, Any]]:
    src = _Source(f"unstructure_{cls.__name__}")
    src.add(0, f"def {src.name}(obj):")
    src.add(1, "res = {}")
    for i, a in enumerate(fields):
        var, key = f"v{i}", repr(wire.get(a.name, a.name))
        src.add(1, f"{var} = obj.{a.name}")
        if a.default is UNSET:
            src.add(1, f"if {var} is not UNSET: res[{key}] = {_value(src, conv, a.type, var)}")
        else:
            src.add(1, f"res[{key}] = {_value(src, conv, a.type, var)}")
    if extra is not None:
        src.add(1, f"if obj.{extra}: res.update(obj.{extra})")
    src.add(1, "return res")
    fn: Callable[[Any], dict[str, Any]] = src.compile()
    return fn
