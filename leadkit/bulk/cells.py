"""A CSV cell (or a `--set` value) -> the value of a request field of a given type."""

from __future__ import annotations

import enum
import json
import re
import types
import typing
from typing import Any

from ..runtime.unset import Unset

__all__ = ["BOOLEAN_WORDS", "BadValue", "coerce", "is_object", "loads", "members"]

_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})
BOOLEAN_WORDS = "true/false, yes/no or 1/0"
"""What a boolean cell may say (in any case)."""
_SURROGATE = "[\ud800-\udfff]"
_SURROGATE_ESCAPE = r"\\u[dD][89a-fA-F]"


class BadValue(Exception):
    """A value no request can carry as it is; the message says why."""


def members(tp: Any) -> list[Any]:
    """The types a field's annotation allows, Unset and None left out."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return [m for m in typing.get_args(tp) if m not in (Unset, type(None))]
    return [tp]


def is_object(tp: Any) -> bool:
    """Whether a field of type `tp` holds a JSON object (a dict)."""
    return any((typing.get_origin(m) or m) is dict for m in members(tp))


def coerce(text: str, tp: Any, list_separator: str = ";") -> Any:
    """Turn a cell into the field's type; a number or JSON that does not parse stays text
    (validation then names the field).

    Booleans are true/false, yes/no or 1/0 in any case, anything else is a BadValue; a list
    field splits its cell on `list_separator` (a cell starting with `[` is read as JSON); JSON
    no request can carry (see `loads`) is a BadValue.
    """
    kinds = {typing.get_origin(m) or m for m in members(tp)}
    if str in kinds or any(isinstance(m, type) and issubclass(m, enum.Enum) for m in kinds):
        return text
    if bool in kinds:
        word = text.strip().lower()
        if word in _TRUE or word in _FALSE:
            return word in _TRUE
        raise BadValue(f"{text!r} is not a boolean ({BOOLEAN_WORDS})")
    if int in kinds or float in kinds:
        try:
            number = float(text)
        except ValueError:
            return text
        return int(number) if int in kinds and number.is_integer() else number
    if list in kinds and not text.lstrip().startswith("["):
        return [part.strip() for part in text.split(list_separator) if part.strip()]
    try:
        return loads(text)
    except ValueError:
        return text


def loads(text: str) -> Any:
    """JSON text -> value; ValueError if it is not JSON, BadValue if no request can carry it."""
    try:
        value = json.loads(text)
        shown = json.dumps(value, ensure_ascii=False) if re.search(_SURROGATE_ESCAPE, text) else ""
    except RecursionError:
        raise BadValue("nested too deeply to read") from None
    if (lone := re.search(_SURROGATE, shown)) is not None:
        code = f"\\u{ord(lone.group()):04x}"
        raise BadValue(f"the escape {code} is half a surrogate pair, not a character")
    return value
