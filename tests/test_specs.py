"""The specs: valid OpenAPI 3.1, and field by field what the vendors' reference pages say."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_spec_validator import validate

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT.parent / "shared" / "seeds"
SPECS = {"coldsend": "000_77e7d94317648984.txt", "breakcold": "004_2a4415c86f7f39f2.txt"}
MODELS = {
    "coldsend": ("ManualLeadRequest", "LeadResponse"),
    "breakcold": ("CreateLeadRequest", "Lead"),
}
TYPE_LINE = re.compile(
    r"^(?:[\w ]+ · )?(?P<type>string|integer|boolean|object|enum)(?:<(?P<format>[\w-]+)>)?"
    r"(?P<null> \| null)?$"
)
NAME_LINE = re.compile(r"^[A-Za-z_]\w*$")


def load(api: str) -> dict[str, Any]:
    return yaml.safe_load((ROOT / "specs" / f"{api}.yaml").read_text())


def seed_fields(api: str, section: str) -> dict[str, dict[str, Any]]:
    """Fields listed in the 'Body' or 'Response' part of a seed page."""
    text = (SEEDS / SPECS[api]).read_text()
    body = text.split("\nBody\n", 1)[1]
    part = body.split("\nResponse\n", 1)[0 if section == "Body" else 1]
    lines = [line.strip().rstrip(",") for line in part.splitlines() if line.strip()]
    fields: dict[str, dict[str, Any]] = {}
    current: dict[str, Any] | None = None
    for line in lines:
        typed = TYPE_LINE.match(line)
        if typed and current is not None and "type" not in current:
            current.update(typed.groupdict())
        elif line == "required" and current is not None:
            current["required"] = True
        elif line.startswith("default:") and current is not None:
            current["default"] = yaml.safe_load(line.removeprefix("default:"))
        elif current is not None and current.get("type") == "enum" and line.isupper():
            current.setdefault("enum", []).append(line)
        elif NAME_LINE.match(line) and line not in ("application", "json"):
            current = fields.setdefault(line, {})
    return fields


def test_specs_are_valid_openapi_31() -> None:
    for api in SPECS:
        spec = load(api)
        assert spec["openapi"] == "3.1.0"
        validate(spec)


def _schema(spec: dict[str, Any], name: str) -> dict[str, Any]:
    schema: dict[str, Any] = spec["components"]["schemas"][name]
    return schema


def _resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = _schema(spec, node["$ref"].rsplit("/", 1)[1])
    return node


@pytest.mark.parametrize("api", sorted(SPECS))
@pytest.mark.parametrize("section", ["Body", "Response"])
def test_every_seed_field_is_in_the_spec_as_documented(api: str, section: str) -> None:
    spec = load(api)
    model = _schema(spec, MODELS[api][section == "Response"])
    properties = model["properties"]
    seed = seed_fields(api, section)
    assert set(seed) == set(properties), "fields differ from the seed page"
    required = set(model.get("required", []))
    for name, documented in seed.items():
        prop = _resolve(spec, properties[name])
        types = prop.get("type")
        type_list = [types] if isinstance(types, str) else list(types or [])
        if "type" in documented:
            kind = "string" if documented["type"] == "enum" else documented["type"]
            assert kind in type_list, name
            assert ("null" in type_list) == bool(documented["null"]), name
            if documented["format"] and documented["type"] != "enum":
                assert prop.get("format") == documented["format"], name
        assert (name in required) == documented.get("required", False), name
        if "default" in documented:
            assert prop.get("default") == documented["default"], name
        if "enum" in documented:
            assert prop["enum"] == documented["enum"], name


def test_the_x_extensions_carry_the_documented_facts() -> None:
    coldsend, breakcold = load("coldsend"), load("breakcold")
    assert coldsend["x-rate-limit"]["windows"] == [
        {"limit": 100, "seconds": 60},
        {"limit": 1000, "seconds": 3600},
    ]
    assert coldsend["x-rate-limit"]["reset"] == "unix-timestamp"
    assert re.search(
        coldsend["x-rate-limit"]["retry-after-body-pattern"],
        "Rate limit exceeded. Retry after 60 seconds.",
    )
    assert breakcold["x-rate-limit"]["windows"] == [{"limit": 60, "seconds": 60}]
    assert breakcold["x-rate-limit"]["reset"] == "delta-seconds"
    create = coldsend["paths"]["/api/public/v1/campaigns/{campaign_id}/leads/manual"]["post"]
    assert create["x-dedupe"] == {"field": "email", "conflict-status": 409}
    assert {"200", "201"} <= set(create["responses"])
    schemes = coldsend["components"]["securitySchemes"], breakcold["components"]["securitySchemes"]
    assert [s["ApiKeyAuth"]["name"] for s in schemes] == ["X-API-Key", "X-API-KEY"]
