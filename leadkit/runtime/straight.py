"""Straight-line structure and unstructure functions for one attrs model.

cattrs' generated functions call a hook per field and, with detailed validation, wrap each
field in its own try block; for flat models most of their time is those calls. The
functions made here inline the checks of the common field types (str, int, float, bool,
UUID, date-time, date, Any, free-form objects, lists of scalars and of models, their
nullable and optional forms) and call the converter's hook for every other type. A
structure function only has a fast path: on anything unusual it hands the value to
cattrs' detailed function, which gives the error (or, for an unusual but valid value, the
result). Tests check both give equal results. The inlined types follow this package's
rules (strict scalars, ISO strings): a hook registered for one of them is not consulted.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import types
import typing
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import attrs
import cattrs
from cattrs.fns import identity

from .unset import UNSET, Unset
from .uuids import parse_uuid

__all__ = ["make_structure_fn", "make_unstructure_fn"]

_EXACT = (str, int, bool)
_PARSED: dict[Any, Callable[[str], Any]] = {
    uuid.UUID: parse_uuid,
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
        self.globals: dict[str, Any] = {
            "UNSET": UNSET,
            "MISSING": object(),
            **{f.__name__: f for f in (type, len, list, dict)},
        }

    def bind(self, prefix: str, value: Any) -> str:
        name = f"{prefix}{len(self.globals)}"
        self.globals[name] = value
        return name

    def add(self, indent: int, line: str) -> None:
        self.lines.append("    " * indent + line)

    def compile(self) -> Any:
        """Define the function; every bound name becomes a keyword-only default (a local)."""
        names = ", ".join(f"{name}={name}" for name in self.globals)
        signature = self.lines[0].removesuffix("):")
        source = "\n".join([f"{signature}, *, {names}):", *self.lines[1:]]) + "\n"
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


def _scalars(tp: Any) -> tuple[type, ...] | None:
    """The classes of a list item type made of str, int and bool only, else None."""
    members = _members(tp)
    return members if all(m in _EXACT for m in members) else None


def _list_of_scalars(tp: Any) -> bool:
    """Whether `tp` is a list of str, int, bool or a union of them: checked and copied inline."""
    return typing.get_origin(tp) is list and _scalars(typing.get_args(tp)[0]) is not None


def _list_of_models(tp: Any) -> bool:
    """Whether `tp` is a list of attrs models: each item goes to the model's own function."""
    return typing.get_origin(tp) is list and attrs.has(typing.get_args(tp)[0])


def _json_kinds(tp: Any) -> tuple[type, ...] | None:
    """The JSON value classes a type checked inline accepts; None when it takes a hook."""
    if tp in _EXACT:
        return (tp,)
    if tp is float:
        return (float, int)
    if tp in _PARSED:
        return (str,)
    if _json_object(tp) or attrs.has(tp):
        return (dict,)
    if _list_of_scalars(tp) or _list_of_models(tp):
        return (list,)
    return None


def _check(src: _Source, conv: cattrs.Converter, tp: Any, var: str, indent: int) -> None:
    """Lines that check `var` against `tp` and replace it by its structured value.

    Inlined: a type of `_json_kinds`, or a union of them that a value's JSON class tells
    apart, optionally nullable; anything else calls the converter's hook for the whole of
    `tp`, as cattrs' function would.
    """
    members = [m for m in _members(tp) if m is not Unset]
    rest = [m for m in members if m is not type(None)]
    kinds = [_json_kinds(m) for m in rest]
    accepted = [k for ks in kinds if ks is not None for k in ks]
    if rest == [Any]:
        return
    if not rest or None in kinds or len(accepted) != len(set(accepted)):
        hook = src.bind("h", conv.get_structure_hook(tp))
        src.add(indent, f"{var} = {hook}({var}, {src.bind('t', tp)})")
        return
    if len(members) > len(rest):
        src.add(indent, f"if {var} is not None:")
        indent += 1
    if len(rest) == 1:
        _check_one(src, conv, rest[0], var, indent)
        return
    for i, (member, member_kinds) in enumerate(zip(rest, kinds, strict=True)):
        test = " or ".join(f"type({var}) is {src.bind('k', k)}" for k in member_kinds or ())
        src.add(indent, f"{'elif' if i else 'if'} {test}:")
        _check_one(src, conv, member, var, indent + 1)
    src.add(indent, "else: raise TypeError")


def _check_one(src: _Source, conv: cattrs.Converter, kind: Any, var: str, indent: int) -> None:
    """Lines that check `var` against one type of `_json_kinds` and structure it."""
    if kind in _EXACT:
        src.add(indent, f"if type({var}) is not {src.bind('k', kind)}: raise TypeError")
    elif kind is float:
        src.add(indent, f"if type({var}) is int: {var} = float({var})")
        finite = src.bind("isfinite", math.isfinite)
        src.add(indent, f"elif type({var}) is not float or not {finite}({var}): raise TypeError")
    elif kind in _PARSED:
        src.add(indent, f"if type({var}) is not str: raise TypeError")
        src.add(indent, f"{var} = {src.bind('p', _PARSED[kind])}({var})")
    elif _json_object(kind):
        src.add(indent, f"if type({var}) is not dict: raise TypeError")
        src.add(indent, f"for x in {var}:")
        src.add(indent + 1, "if type(x) is not str: raise TypeError")
        src.add(indent, f"{var} = dict({var})")
    elif attrs.has(kind):
        hook = src.bind("h", conv.get_structure_hook(kind))
        src.add(indent, f"{var} = {hook}({var}, {src.bind('t', kind)})")
    elif _list_of_models(kind):
        item = typing.get_args(kind)[0]
        hook, item_name = src.bind("h", conv.get_structure_hook(item)), src.bind("t", item)
        src.add(indent, f"if type({var}) is not list: raise TypeError")
        src.add(indent, f"{var} = [{hook}(x, {item_name}) for x in {var}]")
    else:
        classes = src.bind("k", frozenset(_scalars(typing.get_args(kind)[0]) or ()))
        src.add(indent, f"if type({var}) is not list: raise TypeError")
        src.add(indent, f"for x in {var}:")
        src.add(indent + 1, f"if type(x) not in {classes}: raise TypeError")
        src.add(indent, f"{var} = list({var})")


def make_structure_fn(
    cls: type,
    conv: cattrs.Converter,
    wire: Mapping[str, str],
    *,
    extra: str | None,
    strict: bool,
    fallback: Callable[[Any, Any], Any],
) -> Callable[[Any, Any], Any] | None:
    """A cattrs structure hook for `cls`, or None for models it does not handle.

    `wire` maps attribute names to wire names; `extra` names the attribute that collects
    undeclared keys; `strict` refuses undeclared keys instead. On any problem the hook
    hands the value to `fallback` (cattrs' detailed function), which words the error.
    """
    fields = [a for a in attrs.fields(attrs.resolve_types(cls)) if a.name != extra]
    if any(not a.init or isinstance(a.default, attrs.Factory) for a in fields):  # type: ignore[arg-type]
        return None
    with _making(cls, "structure") as recursive:
        if recursive:
            return None
        return _structure_fn(cls, conv, wire, fields, extra, strict, fallback)


def _structure_fn(
    cls: type,
    conv: cattrs.Converter,
    wire: Mapping[str, str],
    fields: list[attrs.Attribute[Any]],
    extra: str | None,
    strict: bool,
    fallback: Callable[[Any, Any], Any],
) -> Callable[[Any, Any], Any]:
    src = _Source(f"structure_{cls.__name__}")
    model = src.bind("cls", cls)
    src.add(0, f"def {src.name}(o, _):")
    src.add(1, "try:")
    src.add(2, "if type(o) is not dict: raise TypeError")
    src.add(2, f"n = {sum(a.default is attrs.NOTHING for a in fields)}")
    arguments = []
    for i, a in enumerate(fields):
        var, key = f"v{i}", repr(wire.get(a.name, a.name))
        if a.default is attrs.NOTHING:
            src.add(2, f"{var} = o[{key}]")
            _check(src, conv, a.type, var, 2)
        else:
            src.add(2, f"{var} = o.get({key}, MISSING)")
            src.add(2, f"if {var} is MISSING: {var} = {src.bind('d', a.default)}")
            src.add(2, "else:")
            src.add(3, "n += 1")
            _check(src, conv, a.type, var, 3)
        arguments.append(f"{a.alias}={var}")
    if strict:  # n counts the declared keys present: more keys means undeclared ones
        src.add(2, "if len(o) > n: raise KeyError")
    src.add(2, f"obj = {model}({', '.join(arguments)})")
    if extra is not None and not strict:
        known = src.bind("known", frozenset(wire.get(a.name, a.name) for a in fields))
        src.add(2, f"if len(o) > n and (unknown := o.keys() - {known}):")
        src.add(3, f"obj.{extra} = {{k: v for k, v in o.items() if k in unknown}}")
    src.add(2, "return obj")
    src.add(1, "except Exception:  # the fast path says nothing: cattrs finds and words it")
    src.add(2, f"return {src.bind('fallback', fallback)}(o, {model})")
    fn: Callable[[Any, Any], Any] = src.compile()
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
        if _list_of_scalars(kind):  # anything but a list stays, for the check to name
            expr = f"list({var}) if type({var}) is list else {var}"
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
    for i, a in enumerate(fields):
        src.add(1, f"v{i} = obj.{a.name}")
    entries = [(f"v{i}", repr(wire.get(a.name, a.name)), a) for i, a in enumerate(fields)]
    # As cattrs does: the fields always sent in one dict display, then those that may be
    # UNSET, each in declaration order.
    always = [
        f"{key}: {_value(src, conv, a.type, var)}"
        for var, key, a in entries
        if a.default is not UNSET
    ]
    src.add(1, f"res = {{{', '.join(always)}}}")
    for var, key, a in entries:
        if a.default is UNSET:
            src.add(1, f"if {var} is not UNSET: res[{key}] = {_value(src, conv, a.type, var)}")
    if extra is not None:
        src.add(1, f"if obj.{extra}: res.update(obj.{extra})")
    src.add(1, "return res")
    fn: Callable[[Any], dict[str, Any]] = src.compile()
    return fn
