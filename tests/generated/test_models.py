"""Models and converters: property tests over the specs' own schemas, and the wire rules."""

from __future__ import annotations

import datetime as dt
import math
import uuid
from typing import Any

import attrs
import cattrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from leadkit.apis.breakcold import converter as bc_converter
from leadkit.apis.breakcold import models as bc
from leadkit.apis.breakcold.spec import SPEC as BREAKCOLD_SPEC
from leadkit.apis.coldsend import UNSET
from leadkit.apis.coldsend import converter as cs_converter
from leadkit.apis.coldsend import models as cs
from leadkit.apis.coldsend.spec import SPEC as COLDSEND_SPEC
from leadkit.runtime import RequestValidationError, validate_request
from leadkit.runtime.converters import EXTRA_FIELD
from tests.spec_examples import example

APIS = {
    "coldsend": (COLDSEND_SPEC, cs, cs_converter),
    "breakcold": (BREAKCOLD_SPEC, bc, bc_converter),
}
CASES = [
    (api, name)
    for api, (spec, models, _) in APIS.items()
    for name in spec["components"]["schemas"]
    if isinstance(getattr(models, name, None), type)
    and hasattr(getattr(models, name), "__attrs_attrs__")
]


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def normalise(spec: dict[str, Any], schema: dict[str, Any], value: Any) -> Any:
    """Make equal JSON values compare equal: date-times and UUIDs by meaning."""
    schema = _resolve(spec, schema)
    if isinstance(value, str) and schema.get("format") == "date-time":
        return dt.datetime.fromisoformat(value)
    if isinstance(value, str) and schema.get("format") == "uuid":
        return uuid.UUID(value)
    if isinstance(value, dict):
        props = dict(schema.get("properties", {}))
        for part in schema.get("allOf", ()):  # a subclass's schema: its base's too
            props |= _resolve(spec, part).get("properties", {})
        return {k: normalise(spec, props.get(k, {}), v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(spec, schema.get("items", {}), v) for v in value]
    return value


def rfc3339() -> st.SearchStrategy[str]:
    zones = st.sampled_from(["Z", "+00:00", "+02:00", "-05:30"])
    return st.builds(
        lambda moment, zone: moment.replace(tzinfo=None).isoformat() + zone,
        st.datetimes(min_value=dt.datetime(1970, 1, 2), max_value=dt.datetime(2100, 1, 1)),
        zones,
    )


FORMATS = {"date-time": rfc3339(), "uuid": st.uuids().map(str)}


def closed(node: Any, components: dict[str, Any] | None = None) -> Any:
    """The same schemas (`components`, by default `node`) with undeclared fields forbidden
    (what a strict request allows); an allOf is merged into one object first, whose fields
    are all its parts' together."""
    components = node if components is None else components
    if isinstance(node, dict):
        if "allOf" in node:
            parts = [_resolve({"components": components}, part) for part in node["allOf"]]
            node = {k: v for k, v in node.items() if k != "allOf"} | {
                "type": "object",
                "properties": {k: v for p in parts for k, v in p.get("properties", {}).items()},
                "required": [name for p in parts for name in p.get("required", [])],
            }
        copy = {k: closed(v, components) for k, v in node.items()}
        if "properties" in copy:
            copy["additionalProperties"] = False
        return copy
    if isinstance(node, list):
        return [closed(v, components) for v in node]
    return node


PROPERTY_SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
pytestmark = pytest.mark.filterwarnings("ignore:Overriding standard format")


@pytest.mark.slow
@pytest.mark.parametrize("direction", ["response", "request"])
@pytest.mark.parametrize(("api", "name"), CASES)
@PROPERTY_SETTINGS
@given(data=st.data())
def test_structure_then_unstructure_gives_back_the_same_json(
    api: str, name: str, direction: str, data: st.DataObject
) -> None:
    spec, models, converter = APIS[api]
    cls = getattr(models, name)
    # Undeclared fields come back only from a model that keeps them: a response model's
    # additional_properties. Requests refuse them; a request-only model has no such attribute.
    keeps_extras = direction == "response" and EXTRA_FIELD in attrs.fields_dict(cls)
    components = spec["components"] if keeps_extras else closed(spec["components"])
    schema = {"$ref": f"#/components/schemas/{name}", "components": components}
    instance = data.draw(from_schema(schema, custom_formats=FORMATS))
    conv = getattr(converter, f"{direction}_converter")
    again = conv.unstructure(conv.structure(instance, cls))
    assert normalise(spec, schema, again) == normalise(spec, schema, instance)


def test_wire_names_map_both_ways() -> None:
    lead_schema = {"$ref": "#/components/schemas/Lead"}
    wire = {**example(BREAKCOLD_SPEC, lead_schema), "usersId": "u-1"}
    lead = bc_converter.response_converter.structure(wire, bc.Lead)
    assert lead.users_id == "u-1"
    assert bc_converter.response_converter.unstructure(lead)["usersId"] == "u-1"
    assert "users_id" not in bc_converter.response_converter.unstructure(lead)


def test_unset_is_omitted_and_none_is_an_explicit_null() -> None:
    request = cs.ManualLeadRequest(email="a@b.c", last_name=None)
    assert request.first_name is UNSET
    assert cs_converter.request_converter.unstructure(request) == {
        "email": "a@b.c",
        "last_name": None,
    }


def test_unknown_enum_value_in_a_response_is_kept() -> None:
    value = bc_converter.response_converter.structure("BTC", bc.ContractCurrency)
    assert isinstance(value, bc.ContractCurrency)
    assert value.value == "BTC"
    assert value != bc.ContractCurrency.USD
    with pytest.raises(ValueError, match=r"'BTC' is not a valid ContractCurrency \('USD', 'EUR'"):
        bc_converter.request_converter.structure("BTC", bc.ContractCurrency)


def test_a_value_outside_an_optional_enum_says_which_values_it_takes() -> None:
    body = {"email": "a@x.io", "contract_currency": "ZAR"}  # the field is ContractCurrency | None
    with pytest.raises(RequestValidationError) as caught:
        validate_request(bc_converter.request_converter, body, bc.CreateLeadRequest)
    (problem,) = caught.value.problems
    assert problem.startswith("'ZAR' is not a valid ContractCurrency ('USD', 'EUR', ")
    assert problem.endswith("'PLN') @ $.contract_currency")


@pytest.mark.parametrize(
    ("data", "problems"),
    [
        ({"email": 1}, ["expected str, got int @ $.email"]),
        ({}, ["required field missing @ $.email"]),
        ({"email": "a", "mail": "b"}, ["unknown field(s) ['mail'] @ $"]),
        ({"email": "a", "first_name": True}, ["expected str | null, got bool @ $.first_name"]),
    ],
)
def test_request_validation_names_the_field(data: dict[str, Any], problems: list[str]) -> None:
    with pytest.raises(RequestValidationError) as caught:
        validate_request(cs_converter.request_converter, data, cs.ManualLeadRequest)
    assert caught.value.problems == problems
    assert str(caught.value) == "invalid ManualLeadRequest: " + "; ".join(problems)


def test_numbers_are_not_coerced_from_strings_or_bools() -> None:
    conv = bc_converter.request_converter
    location = conv.structure({"latitude": 1, "longitude": 2.5}, bc.Location)
    assert location.latitude == 1.0 and isinstance(location.latitude, float)
    with pytest.raises(cattrs.ClassValidationError):
        conv.structure({"latitude": "1", "longitude": 2.5}, bc.Location)
    with pytest.raises(cattrs.ClassValidationError):
        conv.structure({"latitude": True, "longitude": 2.5}, bc.Location)


@pytest.mark.parametrize("number", [math.nan, math.inf, -math.inf])
def test_nan_and_infinity_are_refused_as_json_has_neither(number: float) -> None:
    conv = bc_converter.request_converter
    with pytest.raises(RequestValidationError) as caught:
        validate_request(conv, {"latitude": number, "longitude": 2.5}, bc.Location)
    assert caught.value.problems == [
        f"expected a finite number, got {number}: JSON has no NaN or infinity @ $.latitude"
    ]
    with pytest.raises(RequestValidationError, match="JSON has no NaN"):
        validate_request(conv, {"email": "a@b.c", "contract_value": number}, bc.CreateLeadRequest)
