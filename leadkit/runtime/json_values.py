"""JSON as the wire carries it: compact UTF-8 encoding and decoding, and every value JSON
cannot carry (NaN, a key that is not a string, a lone surrogate, UNSET out of place) named
by its path.

Both steps use orjson when it is installed (the ``fast`` extra) and the standard library's
json otherwise, with the same outcome: orjson is given only what it handles exactly as
json does (plain JSON values; bodies with no run of 19 digits, which it would read as a
float beyond 64 bits), and json decides whatever orjson refuses. What is accepted, what
is refused and every error text are json's; the bytes sent differ only in how a float is
written (``1e-7`` for ``1e-07``), which is the same number.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from .unset import UNSET

try:
    import orjson
except ImportError:  # pragma: no cover - the `fast` extra is not installed
    orjson = None  # type: ignore[assignment]

__all__ = [
    "JSON_ARRAYS",
    "MISPLACED_UNSET",
    "codec",
    "decode_json",
    "encode_json",
    "json_problems",
    "key_problem",
    "path_step",
]

MISPLACED_UNSET = "UNSET can only leave out a whole field"
JSON_ARRAYS = (list, tuple)
"""What the encoder writes as a JSON array."""
_LEAVES = frozenset((str, int, float, bool, type(None)))
_PLAIN_LEAVES = frozenset((str, int, bool, type(None)))
"""The leaves `_plain` takes without a look (a float must be finite)."""
_PLAIN_KEY = r"[A-Za-z0-9_-]+"


def path_step(key: str) -> str:
    """The path step to the value of `key`: `.key`, or `['key']` when it is not plain."""
    return f".{key}" if re.fullmatch(_PLAIN_KEY, key) else f"[{key!r}]"


_encode = json.JSONEncoder(separators=(",", ":"), allow_nan=False, ensure_ascii=False).encode
"""Compact JSON without NaN; text other than ASCII is kept as it is (sent as UTF-8)."""


_decode = json.loads
_ORJSON_OPTIONS = (
    orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    if orjson is not None
    else 0
)
"""Subclasses, dates and dataclasses refused by orjson, so that json decides them."""
_DIGITS = bytes(b"0"[0] if chr(i).isdigit() and i < 128 else b" "[0] for i in range(256))
"""A translation table: every ASCII digit to 0, every other byte to a space."""
_LONG_NUMBER = b"0" * 19
"""19 digits in a row (after `_DIGITS`): maybe an integer beyond 64 bits, which orjson
would read as a float. (A regular expression takes five times as long to find it.)"""


def codec() -> str:
    """The JSON library in use: ``orjson`` when it is installed, else ``json``."""
    return "json" if orjson is None else "orjson"


def decode_json(raw: bytes) -> Any:
    """The JSON value in `raw` (UTF-8, or UTF-16/32 as json detects it).

    Raises ValueError (json's JSONDecodeError or UnicodeDecodeError) when it is not JSON,
    RecursionError when it is nested too deep to decode: json's outcome in every case.
    """
    if orjson is not None and _LONG_NUMBER not in raw.translate(_DIGITS):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass  # json decides: it reads NaN, a BOM, UTF-16, a lone surrogate's escape
    return _decode(raw)


def encode_json(data: Any, *, keys_checked: bool) -> bytes | None:
    """`data` as JSON in UTF-8, or None when JSON cannot carry it (`json_problems` says why).

    With json, the wire form is walked only when it has nested values, where an object key
    might not be a string (the encoder would turn 1, True or None into one); `keys_checked`
    says the keys are known to be strings (a flat mapping a model's fields were checked
    against). orjson is given only plain JSON (`_plain`), which it writes as json does.
    """
    if orjson is not None and _plain(data):
        try:
            return orjson.dumps(data, option=_ORJSON_OPTIONS)
        except orjson.JSONEncodeError:
            pass  # an integer beyond 64 bits, a lone surrogate: json decides
    try:
        payload = _encode(data).encode()
    except (TypeError, ValueError):  # UnicodeEncodeError (a lone surrogate) is a ValueError
        return None
    return payload if keys_checked or _string_keys(data) else None


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
    elif isinstance(value, JSON_ARRAYS):
        for item in value:
            if type(item) not in _LEAVES and not _string_keys(item):
                return False
    return True


def _plain(value: Any) -> bool:
    """Whether `value` is made of exactly dict (str keys), list, tuple, str, int, bool,
    None and finite float, no subclass: what orjson writes as json does (it would write
    NaN as null, a UUID or an enum member as its value, where json refuses them)."""
    kind = type(value)
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or (type(item) not in _PLAIN_LEAVES and not _plain(item)):
                return False
        return True
    if kind is list or kind is tuple:
        return all(type(item) in _PLAIN_LEAVES or _plain(item) for item in value)
    if kind is float:
        return math.isfinite(value)
    return kind in _PLAIN_LEAVES


def key_problem(key: Any, path: str) -> str | None:
    """What is wrong with `key` as the key of an object at `path`, if anything."""
    if not isinstance(key, str):
        return f"an object key must be a string, got {type(key).__name__} @ {path}"
    if not _valid_unicode(key):
        return f"key {key!r} is not valid Unicode (a lone surrogate) @ {path}"
    return None


def json_problems(value: Any, path: str = "$") -> list[str]:
    """ "message @ path" of every value in wire-form `value` that JSON cannot carry, in order."""
    problems: list[str] = []
    _walk(value, path, problems)
    return problems


def _walk(value: Any, path: str, problems: list[str]) -> None:
    # isinstance, as the encoder: it takes subclasses of str, int, float, dict, list and tuple.
    if value is UNSET:
        problems.append(f"{MISPLACED_UNSET} @ {path}")
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
            if problem := key_problem(key, path):
                problems.append(problem)
            if isinstance(key, str):  # a value under another key has no path to name
                _walk(item, path + path_step(key), problems)
    elif isinstance(value, JSON_ARRAYS):
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
