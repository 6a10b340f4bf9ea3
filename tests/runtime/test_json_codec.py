"""orjson and the standard library's json give the same outcome for every body and answer:
the same JSON value sent, the same value read, the same refusals with the same texts."""

from __future__ import annotations

import datetime as dt
import enum
import json
import math
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadkit.apis.coldsend import models
from leadkit.apis.coldsend.converter import request_converter
from leadkit.runtime import json_values
from leadkit.runtime.errors import RequestValidationError
from leadkit.runtime.request_bodies import check_request


class Colour(enum.Enum):
    RED = "red"


class Size(enum.IntEnum):
    BIG = 2


class Word(str):
    pass


@pytest.fixture(autouse=True)
def _orjson_installed() -> None:
    assert json_values.orjson is not None, "the test extra installs orjson (leadkit[fast])"
    assert json_values.codec() == "orjson"


def _with_json(fn: Callable[[], Any]) -> Any:
    """`fn()` with the standard library's json alone, as without the fast extra."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(json_values, "orjson", None)
        assert json_values.codec() == "json"
        return fn()


def _outcome(fn: Callable[[], Any]) -> tuple[str, Any]:
    """What `fn()` gave: ("value", its value and type) or ("error", its class and text)."""
    try:
        value = fn()
    except Exception as exc:
        return "error", (type(exc), str(exc))
    return "value", (_typed(value), type(value))


def _typed(value: Any) -> Any:
    """`value` with the type of every leaf beside it, so 1 and 1.0 and True differ."""
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return ("nan", float)
    return (value, type(value))


def _same_encoding(data: Any, keys_checked: bool = False) -> bytes | None:
    fast = json_values.encode_json(data, keys_checked=keys_checked)
    plain = _with_json(lambda: json_values.encode_json(data, keys_checked=keys_checked))
    assert (fast is None) == (plain is None), f"{data!r}: orjson {fast!r}, json {plain!r}"
    if fast is not None:
        assert plain is not None
        assert _typed(json.loads(fast)) == _typed(json.loads(plain))
    return fast


ROW = {"email": "ada@example.com", "first_name": "Ada", "n": 3, "ok": True, "x": None}

ENCODED = [
    (ROW, json.dumps(ROW, separators=(",", ":")).encode()),
    ({"a": [1, 2.5, {"b": "ü €"}], "c": (1, "two")}, '{"a":[1,2.5,{"b":"ü €"}],"c":[1,"two"]}'),
    (
        {"big": 2**64, "low": -(2**63) - 1},
        '{"big":18446744073709551616,"low":-9223372036854775809}',
    ),
    (
        {"top": 2**63 - 1, "u64": 2**64 - 1},
        '{"top":9223372036854775807,"u64":18446744073709551615}',
    ),
    ({"quote": 'a"b\\c\n\t\x00\x7f\u2028'}, None),
    ({"word": Word("sub")}, '{"word":"sub"}'),
    ({"size": Size.BIG}, '{"size":2}'),
    ([1.0, 1e16, 1e-7, 5e-324, -0.0], None),
]
REFUSED = [
    {"nan": float("nan")},
    {"inf": [float("inf")]},
    {"neg": {"x": float("-inf")}},
    {"lone": "\ud800"},
    {"\udfff": 1},
    {1: "int key"},
    {"nested": {None: 1}},
    {"nested": [{True: 1}]},
    {"id": uuid.UUID(int=1)},
    {"colour": Colour.RED},
    {"when": dt.datetime(2025, 1, 2, 3, 4, 5)},
    {"day": dt.date(2025, 1, 2)},
    {"set": {1, 2}},
    {"bytes": b"x"},
]


@pytest.mark.parametrize(("data", "expected"), ENCODED)
def test_what_is_accepted_is_the_same_json(data: Any, expected: str | bytes | None) -> None:
    fast = _same_encoding(data)
    assert fast is not None
    if expected is not None:
        assert json.loads(fast) == json.loads(expected)


@pytest.mark.parametrize("data", REFUSED, ids=repr)
def test_what_is_refused_is_refused_by_both(data: Any) -> None:
    assert _same_encoding(data) is None


@pytest.mark.parametrize(
    "body",
    [
        {"email": "ada@example.com", "first_name": float("nan")},
        {"email": "a\ud800@example.com"},
        {"email": "ada@example.com", "custom_fields": {"n": float("inf")}},
        {"email": "ada@example.com", "custom_fields": {1: "x"}},
        {"email": "ada@example.com", "custom_fields": {"id": uuid.UUID(int=7)}},
        {"email": "ada@example.com", "custom_fields": {"n": 2**70}},
        {"email": 5},
    ],
    ids=repr,
)
def test_request_errors_say_the_same(body: dict[str, Any]) -> None:
    def check() -> Any:
        return check_request(request_converter, body, models.ManualLeadRequest).payload

    fast = _outcome(check)
    assert fast == _outcome(lambda: _with_json(check))
    if fast[0] == "error":
        assert fast[1][0] is RequestValidationError
    else:  # a UUID in wire form is its text; an integer beyond 64 bits is JSON, and sent
        assert json.loads(check())["custom_fields"] in ({"id": str(uuid.UUID(int=7))}, {"n": 2**70})


DECODED = [
    b'{"a":1,"b":[true,false,null],"c":"\\u00fc\\n","d":1.5}',
    b"123456789012345678901234567890",
    b"18446744073709551616",
    b"-9223372036854775809",
    b"[18446744073709551615, -9223372036854775808]",
    b'{"id": 1234567890123456789}',
    b'{"fraction": 0.1234567890123456789}',
    b"1e400",
    b"-0",
    b"-0.0",
    b"NaN",
    b"[Infinity, -Infinity]",
    b'"\\ud800"',
    b"\xef\xbb\xbf{}",
    '{"a": "ü"}'.encode("utf-16"),
    b'"\xff"',
    b"[1,]",
    b"{'a': 1}",
    b'{"a":1,"a":2}',
    b" \n{}\n ",
    b"[]x",
    b"[" * 5000 + b"]" * 5000,
    b"[" * 300 + b"]" * 300,
]


@pytest.mark.parametrize("raw", DECODED, ids=lambda raw: repr(raw[:40]))
def test_answers_decode_alike(raw: bytes) -> None:
    fast = _outcome(lambda: json_values.decode_json(raw))
    assert fast == _outcome(lambda: _with_json(lambda: json_values.decode_json(raw)))


def test_big_integers_stay_integers() -> None:
    assert json_values.decode_json(b'{"n": 18446744073709551616}') == {"n": 2**64}
    assert type(json_values.decode_json(b"123456789012345678901234567890")) is int


def _json_values() -> st.SearchStrategy[Any]:
    leaves = (
        st.none()
        | st.booleans()
        | st.integers(min_value=-(2**80), max_value=2**80)
        | st.floats()
        | st.text()
        | st.sampled_from(["\ud800", "a\udfffb", "\x00", "\u2028"])
    )
    keys = st.text() | st.integers() | st.sampled_from(["\ud800", None, True])
    return st.recursive(
        leaves,
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.tuples(inner, inner)
            | st.dictionaries(keys, inner, max_size=4)
        ),
        max_leaves=12,
    )


@pytest.mark.slow
@settings(max_examples=400, deadline=None)
@given(_json_values())
def test_any_value_encodes_alike(data: Any) -> None:
    fast = _same_encoding(data)
    if fast is not None:  # and the answer that echoes it decodes alike
        assert _outcome(lambda: json_values.decode_json(fast)) == _outcome(
            lambda: _with_json(lambda: json_values.decode_json(fast))
        )


@pytest.mark.slow
@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=40) | st.text(max_size=40).map(lambda t: t.encode("utf-8", "replace")))
def test_any_bytes_decode_alike(raw: bytes) -> None:
    assert _outcome(lambda: json_values.decode_json(raw)) == _outcome(
        lambda: _with_json(lambda: json_values.decode_json(raw))
    )
