"""The straight-line model functions give exactly what cattrs' own functions give.

For every model of every generated package (and the golden fixture), valid bodies and
bodies with one field broken, removed or added go through the converters twice: as built
(straight-line first, cattrs' detailed function as the fallback) and with
``straight_line=False`` (cattrs alone). Results must be equal, errors word for word.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import cattrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from test_models import FORMATS, closed

from generated.breakcold import converter as bc_converter
from generated.breakcold import models as bc
from generated.breakcold.spec import SPEC as BREAKCOLD_SPEC
from generated.coldsend import converter as cs_converter
from generated.coldsend import models as cs
from generated.coldsend.spec import SPEC as COLDSEND_SPEC
from leadkit.runtime import UNSET, build_converters, validate_request
from leadkit.runtime.converters import check_request, describe_error

sys.path.insert(0, str(Path(__file__).parent / "golden" / "expected"))
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
            build_converters(conv.RENAMES, straight_line=False),
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
def test_straight_line_functions_agree_with_cattrs(
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
