"""The specs: valid OpenAPI 3.1, and field by field what the vendors' reference pages say.

The vendors' pages are written down as data in tests/specs/vendor_reference/ (see the comment at
the top of each file); these tests read only those files and specs/.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_spec_validator import validate

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = Path(__file__).resolve().parent / "vendor_reference"
APIS = ("breakcold", "coldsend")


@cache
def load(api: str) -> dict[str, Any]:
    """The spec of `api` (read once; tests do not change it)."""
    spec: dict[str, Any] = yaml.safe_load((ROOT / "specs" / f"{api}.yaml").read_text())
    return spec


@cache
def reference(api: str) -> dict[str, Any]:
    """What the vendor documents for `api` (read once; tests do not change it)."""
    data: dict[str, Any] = yaml.safe_load((REFERENCE / f"{api}.yaml").read_text())
    return data


def test_specs_are_valid_openapi_31() -> None:
    for api in APIS:
        spec = load(api)
        assert spec["openapi"] == "3.1.0"
        validate(spec)


def resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """`node`, following `$ref`s within `spec`."""
    while "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def operation(spec: dict[str, Any], operation_id: str) -> tuple[str, str, dict[str, Any]]:
    """The method, path and operation object of `operation_id`."""
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and op.get("operationId") == operation_id:
                return method.upper(), path, op
    raise AssertionError(f"no operation {operation_id} in the spec")


def operations() -> list[Any]:
    return [
        pytest.param(api, op_id, id=f"{api}-{op_id}")
        for api in APIS
        for op_id in reference(api)["operations"]
    ]


def fields() -> list[Any]:
    return [
        pytest.param(api, op_id, part, name, documented, id=f"{api}-{op_id}-{part}-{name}")
        for api in APIS
        for op_id, op in reference(api)["operations"].items()
        for part in ("request", "response")
        if part in op
        for name, documented in op[part]["fields"].items()
    ]


def flattened(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """A schema resolved, the properties and required names of its allOf parts merged in."""
    node = resolve(spec, node)
    properties, required = dict(node.get("properties", {})), list(node.get("required", []))
    for part in node.get("allOf", []):
        flat = flattened(spec, part)
        properties |= flat.get("properties", {})
        required += flat.get("required", [])
    return {**node, "properties": properties, "required": required}


def request_media(api: str, operation_id: str) -> dict[str, Any]:
    """The media type object of an operation's request body, as the reference names it."""
    _, _, op = operation(load(api), operation_id)
    content = reference(api)["operations"][operation_id]["request"]["content"]
    media: dict[str, Any] = resolve(load(api), op["requestBody"])["content"][content]
    return media


def schemas(api: str, operation_id: str) -> dict[str, dict[str, Any]]:
    """The request body schema and the success response schema of an operation (the parts
    the reference documents), resolved."""
    spec, facts = load(api), reference(api)["operations"][operation_id]
    _, _, op = operation(spec, operation_id)
    found = {}
    if "request" in facts:
        found["request"] = flattened(spec, request_media(api, operation_id)["schema"])
    if "response" in facts:
        success = resolve(spec, op["responses"][_success_status(op)])
        found["response"] = flattened(spec, success["content"]["application/json"]["schema"])
    return found


def _success_status(op: dict[str, Any]) -> str:
    statuses: list[str] = [status for status in op["responses"] if status.startswith("2")]
    return min(statuses)


def _opens_with(text: str | None, documented: str) -> bool:
    return (text or "").startswith(documented)


@pytest.mark.parametrize(("api", "operation_id"), operations())
def test_every_documented_operation_is_in_the_spec_as_documented(
    api: str, operation_id: str
) -> None:
    spec, documented = load(api), reference(api)
    facts = documented["operations"][operation_id]
    page = documented["pages"][facts["page"]]
    method, path, op = operation(spec, operation_id)
    assert op["summary"] == page["title"]
    assert f"{method} {spec['servers'][0]['url']}{path}" == page["request"]
    security = op.get("security", spec.get("security", []))
    assert security and {} not in security, "the page requires the key"
    [scheme] = {name for requirement in security for name in requirement}
    auth = spec["components"]["securitySchemes"][scheme]
    assert (auth["type"], auth["in"], auth["name"]) == ("apiKey", "header", facts["auth"]["header"])
    if "description" in facts["auth"]:
        assert _opens_with(auth.get("description"), facts["auth"]["description"])
    parameters = {p["name"]: resolve(spec, p) for p in op.get("parameters", [])}
    assert set(parameters) == set(facts.get("parameters", {}))
    for name, param in facts.get("parameters", {}).items():
        assert parameters[name]["in"] == param["in"]
        assert parameters[name].get("required", False) == param.get("required", False)
        assert parameters[name]["schema"]["type"] == param["type"]
        assert parameters[name]["schema"].get("format") == param.get("format")
    if "request" in facts:
        assert facts["request"]["content"] in resolve(spec, op["requestBody"])["content"]
    else:
        assert "requestBody" not in op
    success = resolve(spec, op["responses"][_success_status(op)])
    if "status_text" in facts.get("response", {}):
        assert success["description"] == facts["response"]["status_text"]
    for part, schema in schemas(api, operation_id).items():
        assert set(schema["properties"]) == set(facts[part]["fields"]), f"{part} fields differ"
        if "description" in facts[part]:
            assert _opens_with(schema.get("description"), facts[part]["description"])


@pytest.mark.parametrize(("api", "operation_id", "part", "name", "documented"), fields())
def test_every_documented_field_is_in_the_spec_as_documented(
    api: str, operation_id: str, part: str, name: str, documented: dict[str, Any]
) -> None:
    spec, facts = load(api), reference(api)
    page = documented.get("page", facts["operations"][operation_id]["page"])
    assert page in facts["pages"], f"{name}: no page {page!r} under `pages`"
    model = schemas(api, operation_id)[part]
    assert name in model["properties"], f"{name} is documented but not in the spec"
    prop = resolve(spec, model["properties"][name])
    if "type" in documented:
        types = prop.get("type")
        type_list = [types] if isinstance(types, str) else list(types or [])
        assert documented["type"] in type_list
        assert ("null" in type_list) == documented.get("nullable", False)
        assert prop.get("format") == documented.get("format")
    assert (name in model.get("required", [])) == documented.get("required", False)
    for fact in ("default", "enum"):
        assert prop.get(fact) == documented.get(fact), f"the spec's {fact} is not the page's"
    if "values" in documented:
        assert prop.get("examples") == documented["values"]
    if "encoding" in documented:
        encoding = request_media(api, operation_id).get("encoding", {}).get(name, {})
        assert encoding.get("contentType") == documented["encoding"]
    if "properties" in documented:
        assert list(prop.get("properties", {})) == documented["properties"]
    if "title" in documented:
        assert prop.get("title") == documented["title"]
    if "description" in documented:
        assert _opens_with(prop.get("description"), documented["description"])


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
    _, _, upload = operation(coldsend, "upload_leads")
    statuses = reference("coldsend")["operations"]["get_upload_progress"]["response"]["fields"]
    poll = upload["x-poll"]
    assert (poll["operation"], poll["id"], poll["status"]) == (
        "get_upload_progress",
        "job_id",
        "status",
    )
    assert set(poll["failed"]) <= set(poll["done"]) <= set(statuses["status"]["values"])
    assert poll["done"] == ["COMPLETED", "FAILED"]
    assert {"200", "201"} <= set(create["responses"])
    schemes = coldsend["components"]["securitySchemes"], breakcold["components"]["securitySchemes"]
    assert [s["ApiKeyAuth"]["name"] for s in schemes] == ["X-API-Key", "X-API-KEY"]
