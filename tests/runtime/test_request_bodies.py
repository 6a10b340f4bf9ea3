"""A checked request body is exactly the JSON the client sends, or a RequestValidationError.

`check_request` encodes the wire form once (compact, UTF-8, no NaN) and keeps the bytes as
`CheckedBody.payload`. Whatever JSON cannot carry is refused there with its path, so that
it is never sent in another form (UNSET as the string "UNSET", 1 as the key "1", a lone
surrogate as a \\udc80 escape) and never fails later as a bare TypeError or ValueError (in
a bulk load, that crashed the whole run).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import uuid
from decimal import Decimal
from typing import Any

import cattrs
import pytest

from leadkit.apis.breakcold import converter as bc_converter
from leadkit.apis.breakcold import models as bc
from leadkit.apis.coldsend import converter as cs_converter
from leadkit.apis.coldsend import models as cs
from leadkit.apis.coldsend.client import ColdsendClient
from leadkit.bulk import Outcome
from leadkit.runtime import (
    UNSET,
    RequestValidationError,
    build_converters,
    validate_request,
)
from leadkit.runtime.converters import validation_problems
from leadkit.runtime.request_bodies import check_request
from leadkit.sandbox import Sandbox

CS = cs_converter.request_converter
BC = bc_converter.request_converter
MODEL_OF: dict[cattrs.Converter, type] = {CS: cs.ManualLeadRequest, BC: bc.CreateLeadRequest}
"""Each API's request converter -> the body model of its create operation."""
OLD_CLIENT_JSON = json.JSONEncoder(separators=(",", ":"), allow_nan=False)
"""What the client encoded `CheckedBody.data` with before `payload`."""


def problems(conv: cattrs.Converter, body: Any, model: type) -> list[str]:
    """The problems check_request and validate_request both give for `body`."""
    with pytest.raises(RequestValidationError) as checked:
        check_request(conv, body, model)
    with pytest.raises(RequestValidationError) as validated:
        validate_request(conv, body, model)
    assert checked.value.problems == validated.value.problems
    assert checked.value.model == model.__name__
    return checked.value.problems


def lead(**custom_fields: Any) -> dict[str, Any]:
    return {"email": "a@x.io", "custom_fields": custom_fields}


# --- defect 1: UNSET inside a value --------------------------------------------------------


@pytest.mark.parametrize(
    ("conv", "body", "expected"),
    [
        (CS, lead(x=UNSET), ["UNSET can only leave out a whole field @ $.custom_fields.x"]),
        (
            CS,
            cs.ManualLeadRequest(email="a@x.io", custom_fields={"x": UNSET}),
            ["UNSET can only leave out a whole field @ $.custom_fields.x"],
        ),
        (
            CS,
            lead(deep={"list": [1, UNSET]}),
            ["UNSET can only leave out a whole field @ $.custom_fields.deep.list[1]"],
        ),
        (
            BC,
            bc.CreateLeadRequest(attributes={"a": UNSET}),
            ["UNSET can only leave out a whole field @ $.attributes.a"],
        ),
        (
            BC,
            bc.CreateLeadRequest(attributes={"a": ["x", UNSET]}),
            ["UNSET can only leave out a whole field @ $.attributes.a[1]"],
        ),
        (
            BC,
            {"attributes": {"a": ["x", UNSET]}},
            ["UNSET can only leave out a whole field @ $.attributes.a[1]"],
        ),
        (
            BC,
            bc.CreateLeadRequest(tags=[UNSET]),
            ["UNSET can only leave out a whole field @ $.tags[0]"],
        ),
        (
            BC,
            {"tags": [UNSET]},
            ["UNSET can only leave out a whole field @ $.tags[0]"],
        ),
    ],
)
def test_unset_inside_a_value_is_refused_with_its_path_never_sent_as_a_string(
    conv: cattrs.Converter, body: Any, expected: list[str]
) -> None:
    assert problems(conv, body, MODEL_OF[conv]) == expected


@pytest.mark.parametrize(
    ("conv", "body", "expected"),
    [
        (BC, {"tags": [1]}, ["expected str, got int @ $.tags[0]"]),
        (BC, {"tags": ["a", "b", False]}, ["expected str, got bool @ $.tags[2]"]),
        (
            BC,
            {"attributes": {"x": [1, 2]}},
            [
                "expected str, got int @ $.attributes.x[0]",
                "expected str, got int @ $.attributes.x[1]",
            ],
        ),
        (
            BC,
            {"attributes": {"x": ["a"], "a place": {"latitude": "north", "longitude": 2}}},
            ["expected float, got str @ $.attributes['a place'].latitude"],
        ),
        (
            CS,
            {"email": "a@x.io", "custom_fields": {1: "a"}},
            ["key 1: expected str, got int @ $.custom_fields"],
        ),
    ],
    ids=["list-item", "third-item", "attribute-list", "attribute-object", "object-key"],
)
def test_a_wrong_value_is_named_by_its_innermost_path_not_its_container(
    conv: cattrs.Converter, body: Any, expected: list[str]
) -> None:
    assert problems(conv, body, MODEL_OF[conv]) == expected


def test_a_response_field_is_named_by_its_wire_name_and_innermost_path() -> None:
    conv = bc_converter.response_converter
    body = {
        "message": "m",
        "code": "BAD_REQUEST",
        "data": {"code": "BAD_REQUEST", "httpStatus": "400"},
        "issues": [{"path": [None]}],
    }
    with pytest.raises(cattrs.BaseValidationError) as caught:
        conv.structure(body, bc.ErrorBody)
    assert validation_problems(conv, caught.value) == [
        "expected int, got str @ $.data.httpStatus",
        "required field missing @ $.issues[0].message",
        "expected str | int, got NoneType @ $.issues[0].path[0]",
    ]


def test_unset_still_leaves_out_a_whole_field_of_a_model_or_a_mapping() -> None:
    for body in (
        {"email": "a@x.io", "company": UNSET, "custom_fields": UNSET},
        cs.ManualLeadRequest(email="a@x.io", company=UNSET),
    ):
        checked = check_request(CS, body, cs.ManualLeadRequest)
        assert checked.data == {"email": "a@x.io"}
        assert checked.payload == b'{"email":"a@x.io"}'


# --- defect 2: values JSON cannot encode in free-form fields ---------------------------------


@pytest.mark.parametrize(
    ("custom_fields", "expected"),
    [
        ({"score": Decimal("1.5")}, "Decimal is not a JSON value @ $.custom_fields.score"),
        ({"score": {1, 2}}, "set is not a JSON value @ $.custom_fields.score"),
        ({"score": frozenset()}, "frozenset is not a JSON value @ $.custom_fields.score"),
        ({"score": b"x"}, "bytes is not a JSON value @ $.custom_fields.score"),
        ({"score": 1j}, "complex is not a JSON value @ $.custom_fields.score"),
        ({"score": math.nan}, "NaN is not a JSON value @ $.custom_fields.score"),
        ({"score": math.inf}, "Infinity is not a JSON value @ $.custom_fields.score"),
        ({"score": -math.inf}, "-Infinity is not a JSON value @ $.custom_fields.score"),
        (
            {"a b": [{"c": [0, math.nan]}]},
            "NaN is not a JSON value @ $.custom_fields['a b'][0].c[1]",
        ),
        # The encoder would send 1 and None as the keys "1" and "null" (two keys could become
        # one), and fails on a tuple key.
        ({"score": {1: "a"}}, "an object key must be a string, got int @ $.custom_fields.score"),
        (
            {"score": {None: 1}},
            "an object key must be a string, got NoneType @ $.custom_fields.score",
        ),
        ({"score": {(1,): 1}}, "an object key must be a string, got tuple @ $.custom_fields.score"),
    ],
)
@pytest.mark.parametrize("as_model", [False, True])
def test_a_value_json_cannot_carry_is_refused_with_its_path(
    custom_fields: dict[str, Any], expected: str, as_model: bool
) -> None:
    body: Any = lead(**custom_fields)
    if as_model:
        body = cs.ManualLeadRequest(**body)
    assert problems(CS, body, cs.ManualLeadRequest) == [expected]


def test_a_free_form_body_is_checked_as_deeply_as_a_free_form_field() -> None:
    request, _ = build_converters({})
    with pytest.raises(RequestValidationError) as caught:
        check_request(request, {1: "a", "b": 2}, Any)
    assert caught.value.problems == ["an object key must be a string, got int @ $"]
    assert check_request(request, {"a": [1, {"b": None}]}, Any).payload == b'{"a":[1,{"b":null}]}'


def test_every_value_json_cannot_carry_is_named() -> None:
    body = lead(a=Decimal(1), b=[math.nan, UNSET], c={"d": {2: 3}})
    assert problems(CS, body, cs.ManualLeadRequest) == [
        "Decimal is not a JSON value @ $.custom_fields.a",
        "NaN is not a JSON value @ $.custom_fields.b[0]",
        "UNSET can only leave out a whole field @ $.custom_fields.b[1]",
        "an object key must be a string, got int @ $.custom_fields.c.d",
    ]


NOT_A_LIST: Any = 5


def _cycle() -> dict[str, Any]:
    value: dict[str, Any] = {}
    value["me"] = value
    return value


@pytest.mark.parametrize(
    ("conv", "body", "expected"),
    [
        # cattrs makes a tuple a list, which cannot be a key or in a set: it raised TypeError.
        (
            CS,
            lead(s={"ok": 1, (1,): 2}, t={(1, 2)}, u=UNSET),
            [
                "an object key must be a string, got tuple @ $.custom_fields.s",
                "set is not a JSON value @ $.custom_fields.t",
                "UNSET can only leave out a whole field @ $.custom_fields.u",
            ],
        ),
        (
            CS,
            cs.ManualLeadRequest(email="a@x.io", custom_fields={"k": [Decimal(1), {(1,)}]}),
            [
                "Decimal is not a JSON value @ $.custom_fields.k[0]",
                "set is not a JSON value @ $.custom_fields.k[1]",
            ],
        ),
        (
            CS,
            lead(x=[_cycle()]),
            ["a value that contains itself is not JSON @ $.custom_fields.x[0].me"],
        ),
        # A model's field holding the wrong type raised TypeError or AttributeError.
        (BC, bc.CreateLeadRequest(tags=NOT_A_LIST), ["expected list[str], got int @ $.tags"]),
        (
            BC,
            bc.CreateLeadRequest(email="a@x.io", attributes=NOT_A_LIST),
            [
                "expected dict[str, str | float | bool | list[str] | "
                "leadkit.apis.breakcold.models.Location | None], got int @ $.attributes"
            ],
        ),
    ],
)
def test_a_body_the_converter_cannot_unstructure_is_refused_with_its_path(
    conv: cattrs.Converter, body: Any, expected: list[str]
) -> None:
    assert problems(conv, body, MODEL_OF[conv]) == expected


def test_dates_uuids_and_tuples_in_a_free_form_value_are_sent_as_json() -> None:
    """The converter's own rules, as for typed fields: ISO strings, UUID strings, arrays."""
    key = uuid.UUID(int=1)
    body = lead(at=dt.datetime(2026, 1, 2, 3, 4, 5), on=dt.date(2026, 1, 2), id=key, pair=(1, 2))
    checked = check_request(CS, body, cs.ManualLeadRequest)
    assert json.loads(checked.payload)["custom_fields"] == {
        "at": "2026-01-02T03:04:05",
        "on": "2026-01-02",
        "id": str(key),
        "pair": [1, 2],
    }


async def test_a_bulk_row_json_cannot_carry_is_invalid_and_the_run_goes_on(
    sandbox: Sandbox,
) -> None:
    campaign = "6f1c2a9e-0000-4000-8000-00000000abcd"
    rows = [
        lead(score=Decimal("1.5")),
        {"email": "b@x.io", "custom_fields": {"x": UNSET}},
        {"email": "c\udc80@x.io"},
        {"email": "d@x.io", "custom_fields": {"score": 1.5, "city": "Zürich"}},
    ]
    base_url = sandbox.base_url("coldsend")
    async with ColdsendClient(api_key="cs_live_bulk", base_url=base_url) as client:
        run = client.add_lead_bulk(campaign, rows, ordered=True)
        results = [result async for result in run]
    assert [(r.outcome, r.error) for r in results] == [
        (Outcome.INVALID, "Decimal is not a JSON value @ $.custom_fields.score"),
        (Outcome.INVALID, "UNSET can only leave out a whole field @ $.custom_fields.x"),
        (Outcome.INVALID, "not valid Unicode (a lone surrogate) @ $.email"),
        (Outcome.CREATED, None),
    ]
    stored = sandbox.leads("coldsend")
    assert [(row["email"], row["custom_fields"]) for row in stored] == [
        ("d@x.io", {"score": 1.5, "city": "Zürich"})
    ]


# --- defect 3: lone surrogates -------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"email": "a\udc80@e.com"}, "not valid Unicode (a lone surrogate) @ $.email"),
        (
            {"email": "a@e.com", "first_name": "\ud800"},
            "not valid Unicode (a lone surrogate) @ $.first_name",
        ),
        (
            lead(note=["ok", "x\udfff"]),
            "not valid Unicode (a lone surrogate) @ $.custom_fields.note[1]",
        ),
        (
            lead(**{"k\udc80": 1}),
            "key 'k\\udc80' is not valid Unicode (a lone surrogate) @ $.custom_fields",
        ),
    ],
)
def test_a_lone_surrogate_is_refused_with_its_path(body: dict[str, Any], expected: str) -> None:
    found = problems(CS, body, cs.ManualLeadRequest)
    assert found == [expected]
    "; ".join(found).encode()  # the message itself is valid Unicode: it can be printed


# --- the payload ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("conv", "body", "model"),
    [
        (CS, {"email": "a@x.io", "first_name": "Ada", "last_name": None}, cs.ManualLeadRequest),
        (
            CS,
            cs.ManualLeadRequest(email="a@x.io", custom_fields={"n": [1, 2.5, True]}),
            cs.ManualLeadRequest,
        ),
        (
            BC,
            bc.CreateLeadRequest(
                email="a@x.io", tags=["t"], contract_value=1e100, attributes={"a": ["x"]}
            ),
            bc.CreateLeadRequest,
        ),
    ],
)
def test_the_payload_of_an_ascii_body_is_what_the_client_sent_before(
    conv: cattrs.Converter, body: Any, model: type
) -> None:
    checked = check_request(conv, body, model)
    assert checked.payload == OLD_CLIENT_JSON.encode(checked.data).encode()


def test_non_ascii_text_is_sent_as_utf_8_rather_than_escaped() -> None:
    """A change of the wire bytes: both forms are valid JSON and parse to the same value."""
    body = {"email": "é@x.io", "company": 'Zürich \u2028 "Ω"\n', "custom_fields": {"ключ": "😀"}}
    checked = check_request(CS, body, cs.ManualLeadRequest)
    before = OLD_CLIENT_JSON.encode(checked.data).encode()
    assert checked.payload == json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )
    assert "é".encode() in checked.payload and b"\\u00e9" in before
    assert json.loads(checked.payload) == json.loads(before) == body


def test_a_string_where_a_list_belongs_is_refused_not_split_into_letters() -> None:
    body = bc.CreateLeadRequest(email="a@x.io", tags="abc")  # type: ignore[arg-type]
    with pytest.raises(RequestValidationError, match=r"expected list\[str\], got str @ \$\.tags"):
        check_request(BC, body, bc.CreateLeadRequest)
