"""The generated structure and unstructure functions give exactly what cattrs' own give.

For every model of every generated package (and the golden fixture), valid bodies and
bodies with one field broken, removed or added go through the converters twice: as the
package builds them (its generated `serde` functions first, cattrs' detailed function as the
fallback) and as `build_converters` alone makes them (cattrs only). Results must be equal,
errors word for word.
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from types import ModuleType
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
from leadkit.apis.coldsend import converter as cs_converter
from leadkit.apis.coldsend import models as cs
from leadkit.apis.coldsend.spec import SPEC as COLDSEND_SPEC
from leadkit.runtime import UNSET, build_converters, validate_request
from leadkit.runtime.converters import describe_error, wire_names
from leadkit.runtime.request_bodies import check_request
from leadkit.runtime.serde import uuid_text
from tests.generated.test_models import FORMATS, closed
from tests.spec_examples import example

sys.path.insert(0, str(Path(__file__).parents[1] / "golden" / "expected"))
from inventory import converter as inv_converter
from inventory import models as inv
from inventory.spec import SPEC as INVENTORY_SPEC

PACKAGES: dict[str, tuple[dict[str, Any], ModuleType, ModuleType]] = {
    "coldsend": (COLDSEND_SPEC, cs, cs_converter),
    "breakcold": (BREAKCOLD_SPEC, bc, bc_converter),
    "inventory": (INVENTORY_SPEC, inv, inv_converter),
}
CASES = [
    (api, name, direction)
    for api, (spec, models, _) in PACKAGES.items()
    for name in spec["components"]["schemas"]
    if hasattr(getattr(models, name, None), "__attrs_attrs__")
    for direction in ("request", "response")
]
REFERENCE = {
    api: dict(
        zip(
            ("request", "response"),
            build_converters(conv.RENAMES),
            strict=True,
        )
    )
    for api, (_, _, conv) in PACKAGES.items()
}
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)
LEAD = {"$ref": "#/components/schemas/LeadResponse"}
pytestmark = pytest.mark.filterwarnings("ignore:Overriding standard format")


def outcome(conv: cattrs.Converter, data: Any, cls: type) -> tuple[str, Any]:
    """("ok", the model, its wire form and the wire key order) or ("error", every message
    cattrs gives)."""
    try:
        obj = conv.structure(data, cls)
    except cattrs.BaseValidationError as exc:
        return "error", cattrs.transform_error(exc, path="$", format_exception=describe_error)
    except (TypeError, ValueError, KeyError) as exc:
        return "error", [f"{type(exc).__name__}: {exc}"]
    wire = conv.unstructure(obj)
    return "ok", (obj, wire, list(wire))


def broken(instance: dict[str, Any], draw: st.DrawFn) -> dict[str, Any]:
    """`instance` with one field given another JSON value, removed, or one key added."""
    copy = dict(instance)
    how = draw(st.sampled_from(["replace", "remove", "add"]))
    if how == "add" or not copy:
        copy[draw(st.text(max_size=6))] = draw(JSON)
    elif how == "remove":
        del copy[draw(st.sampled_from(sorted(copy)))]
    else:
        copy[draw(st.sampled_from(sorted(copy)))] = draw(JSON)
    return copy


@pytest.mark.slow
@pytest.mark.parametrize(("api", "name", "direction"), CASES)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_generated_functions_agree_with_cattrs(
    api: str, name: str, direction: str, data: st.DataObject
) -> None:
    spec, models, converters = PACKAGES[api]
    # Requests refuse undeclared keys, so most drawn requests come from closed schemas; the
    # fixture's allOf models cannot be closed (each part would refuse the other's fields).
    open_schema = direction == "response" or api == "inventory"
    components = spec["components"] if open_schema else closed(spec["components"])
    schema = {"$ref": f"#/components/schemas/{name}", "components": components}
    instance = data.draw(from_schema(schema, custom_formats=FORMATS))
    if data.draw(st.booleans()):
        instance = data.draw(st.composite(lambda draw: broken(instance, draw))())
    cls = getattr(models, name)
    ours = outcome(getattr(converters, f"{direction}_converter"), instance, cls)
    assert ours == outcome(REFERENCE[api][direction], instance, cls)


def test_an_unset_value_in_a_mapping_leaves_the_field_out_as_in_a_model() -> None:
    body = {"email": "a@b.c", "first_name": UNSET}
    checked = validate_request(cs_converter.request_converter, body, cs.ManualLeadRequest)
    assert checked == cs.ManualLeadRequest(email="a@b.c")
    assert check_request(cs_converter.request_converter, body, cs.ManualLeadRequest).data == {
        "email": "a@b.c"
    }


def test_the_converters_use_the_generated_functions_of_every_class() -> None:
    for api, (_, models, converters) in PACKAGES.items():
        serde = sys.modules[converters.__name__.rsplit(".", 1)[0] + ".serde"]
        classes = [
            c for c in vars(models).values() if attrs.has(c) and c.__module__ == models.__name__
        ]
        assert set(serde.STRICT) == set(serde.LENIENT) == set(serde.UNSTRUCTURE) == set(classes)
        for cls in classes:
            request, response = converters.request_converter, converters.response_converter
            assert request.get_structure_hook(cls) is serde.STRICT[cls], (api, cls)
            assert response.get_structure_hook(cls) is serde.LENIENT[cls], (api, cls)
            for conv in (request, response):
                assert conv.get_unstructure_hook(cls) is serde.UNSTRUCTURE[cls], (api, cls)


def test_a_subclass_a_user_makes_is_structured_as_itself() -> None:
    """The generated functions are each for exactly their class."""

    @attrs.define(kw_only=True)
    class MyLead(cs.LeadResponse):
        pass

    lead = cs_converter.response_converter.structure(example(COLDSEND_SPEC, LEAD), MyLead)
    assert type(lead) is MyLead


def test_generated_classes_can_be_made_without_their_init() -> None:
    """Structure functions set the attributes of `object.__new__(cls)`: safe only while a
    class has nothing its __init__ or __setattr__ would run (validators, converters, hooks)."""
    for _, models, _ in PACKAGES.values():
        for cls in vars(models).values():
            if not (attrs.has(cls) and cls.__module__ == models.__name__):
                continue
            assert cls.__setattr__ is object.__setattr__, cls
            assert not hasattr(cls, "__attrs_post_init__"), cls
            assert not hasattr(cls, "__attrs_pre_init__"), cls
            for field in attrs.fields(cls):
                assert (field.validator, field.converter, field.on_setattr) == (None, None, None)


WRONG_KINDS: list[Any] = [None, True, 0, 1.5, "x", [], ["x"], [1], [True], {}, {"a": 1}, {1: "a"}]
"""One value of each kind a field's inline check tells apart (bool is no int, a key no str...)."""
FIELD_CASES = [
    (api, cls.__name__, field.name)
    for api, (_, models, _) in PACKAGES.items()
    for cls in vars(models).values()
    if attrs.has(cls) and cls.__module__ == models.__name__
    for field in attrs.fields(cls)
    if field.name != "additional_properties"
]


@pytest.mark.parametrize(("api", "name", "field"), FIELD_CASES)
def test_each_field_given_each_kind_of_json_value_agrees_with_cattrs(
    api: str, name: str, field: str
) -> None:
    """Deterministic where the property test above draws: every field of every class, with
    a value of every JSON kind, both directions, results and errors equal."""
    spec, models, converters = PACKAGES[api]
    cls = getattr(models, name)
    valid = (
        example(spec, {"$ref": f"#/components/schemas/{name}"})
        if name in spec["components"]["schemas"]
        else {}
    )
    wire = wire_names(cls, converters.RENAMES)[field]
    cases = [{**valid, wire: value} for value in [*WRONG_KINDS, UNSET]]
    cases.append({**valid, "undeclared": 1})
    for data in cases:
        for direction in ("request", "response"):
            ours = outcome(getattr(converters, f"{direction}_converter"), data, cls)
            assert ours == outcome(REFERENCE[api][direction], data, cls), (direction, data)


def test_uuid_text_writes_what_str_writes() -> None:
    """The unstructure functions' faster `str` of a UUID, the converters' hook."""

    class Named(uuid.UUID):
        def __str__(self) -> str:
            return "named"

    odd = object.__new__(uuid.UUID)  # a number no UUID has: UUID.__str__ still writes it
    object.__setattr__(odd, "int", 2**130)
    values = [uuid.uuid4(), uuid.UUID(int=0), uuid.UUID(int=2**128 - 1), Named(int=1), odd]
    assert [uuid_text(value) for value in values] == [str(value) for value in values]
