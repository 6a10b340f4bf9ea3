"""A sandbox from the spec alone: the golden fixture served with no code of its own, x-sandbox
read from contract.py and amended by SandboxConfig, the APIs found and mounted."""

from __future__ import annotations

import copy
import re
import sys
from collections.abc import AsyncIterator
from http import HTTPStatus
from pathlib import Path
from typing import Any, get_args

import aiohttp
import attrs
import pytest
from jsonschema import Draft202012Validator

from leadkit.apis.coldsend import ColdsendClient
from leadkit.codegen.build import build_api
from leadkit.codegen.contract import contract
from leadkit.codegen.load import LoadedSpec
from leadkit.runtime.errors import (
    AuthenticationError,
    PermissionDeniedError,
    RateLimitError,
)
from leadkit.runtime.retry import RetryPolicy
from leadkit.sandbox import Sandbox, SandboxConfig
from leadkit.sandbox.declaration import ErrorDialect, SandboxDeclaration, read_declaration
from leadkit.sandbox.dialects import DIALECTS
from leadkit.sandbox.spec import API_NAMES, read_api

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "golden" / "expected"))
import inventory  # noqa: E402  (the golden fixture package)
from inventory import models as inv  # noqa: E402
from inventory.contract import CONTRACT as INVENTORY_CONTRACT  # noqa: E402
from inventory.spec import SPEC as INVENTORY_SPEC  # noqa: E402

ONCE = RetryPolicy(max_attempts=1)


def problem_errors(body: Any) -> list[str]:
    """What in an error body does not fit the fixture's own Problem schema."""
    root = Draft202012Validator(INVENTORY_SPEC)
    validator = root.evolve(schema={"$ref": "#/components/schemas/Problem"})
    return [error.message for error in validator.iter_errors(body)]


def client(sb: Sandbox, key: str, api: str = "inventory") -> inventory.InventoryClient:
    """The golden package's own client, pointed at the sandbox, sending each call once."""
    url = sb.base_url(api)
    return inventory.InventoryClient(api_key=key, base_url=url, retry=ONCE, rate_limit=False)


@pytest.fixture
async def served() -> AsyncIterator[Sandbox]:
    """A sandbox of the golden package's contract, and nothing else."""
    async with Sandbox(apis=(read_api("inventory", INVENTORY_CONTRACT),)) as sb:
        yield sb


async def test_the_golden_fixture_creates_through_its_generated_client(served: Sandbox) -> None:
    key = served.api_key("inventory")
    assert re.fullmatch(r"inv_sandbox_[0-9a-f]{16}", key)  # its x-sandbox key-prefix
    async with client(served, key) as items:
        response = await items.create_items_with_response(
            body=[inv.NewItem(name="Chair", colour=inv.Colour.RED), inv.NewItem(name="Desk")]
        )
        fetched = await items.get_item(7)  # an integer path parameter, read as one
        assert await items.delete_item(7) is None  # 204: no body
    chair, desk = response.parsed
    assert response.status == 201
    assert (chair.name, chair.colour, desk.name) == ("Chair", inv.Colour.RED, "Desk")
    assert isinstance(chair.id, int) and chair.id != desk.id  # assigned by the server
    assert isinstance(fetched, inv.Item)
    assert "X-RateLimit-Limit" not in response.headers  # its spec declares no rate limit
    stored = served.leads("inventory")
    assert [(item["name"], item["id"]) for item in stored] == [
        ("Chair", chair.id),
        ("Desk", desk.id),
    ]  # the creates; the read and the delete changed nothing


async def test_the_golden_fixture_answers_its_declared_keys(served: Sandbox) -> None:
    async with client(served, "sk_not_inventory") as items:
        with pytest.raises(AuthenticationError) as refused:
            await items.create_items(body=[inv.NewItem(name="Lamp")])
    async with client(served, "inv_readonly") as items:
        with pytest.raises(PermissionDeniedError) as forbidden:
            await items.create_items(body=[inv.NewItem(name="Lamp")])
        assert isinstance(await items.get_item(1), inv.Item)  # reading needs no write scope
    refusal, forbiddance = refused.value.body, forbidden.value.body  # no 401/403 declared: dicts
    assert problem_errors(refusal) == problem_errors(forbiddance) == []
    assert (refusal["status"], refusal["detail"]) == (401, "Invalid API key.")
    assert (forbiddance["status"], forbiddance["detail"]) == (
        403,
        "The key lacks the scopes: write",
    )
    assert served.leads("inventory") == []


async def test_the_golden_fixture_validates_as_its_spec_says(served: Sandbox) -> None:
    headers = {"X-Token": served.api_key("inventory")}
    url = served.base_url("inventory")
    async with aiohttp.ClientSession(headers=headers) as http:
        sent = [{"name": "Lamp", "colour": "ultraviolet"}, {"dimensions": {"width": 1}}]
        async with http.post(f"{url}/items", json=sent) as answer:
            status, body = answer.status, await answer.json()
        async with http.get(f"{url}/items/seven") as answer:
            path_status, path_body = answer.status, await answer.json()
    assert (status, body["title"], problem_errors(body)) == (422, HTTPStatus(422).phrase, [])
    assert {(e["pointer"], e["detail"]) for e in body["errors"]} == {
        ("#/0/colour", "'ultraviolet' is not one of ['red', 'green', 'blue']"),
        ("#/1/name", "'name' is a required property"),
        ("#/1/dimensions/height", "'height' is a required property"),
    }
    assert (path_status, path_body["errors"]) == (
        422,
        [{"detail": "'seven' is not of type 'integer'", "parameter": "item_id"}],
    )
    assert served.leads("inventory") == []


async def test_the_golden_fixture_keeps_duplicates_and_paces_as_told() -> None:
    """Its spec declares no x-dedupe and no x-rate-limit: every create is kept, none paced;
    windows the config enforces answer 429 in its dialect."""
    api = read_api("inventory", INVENTORY_CONTRACT)
    config = SandboxConfig(enforce_windows=("3/60s",))
    async with Sandbox(apis=(api,)) as sb, client(sb, sb.api_key("inventory")) as items:
        for _ in range(5):
            await items.create_items(body=[inv.NewItem(name="Same")])
        assert [item["name"] for item in sb.leads("inventory")] == ["Same"] * 5
    async with Sandbox(config, apis=(api,)) as sb, client(sb, sb.api_key("inventory")) as items:
        for _ in range(3):
            await items.get_item(1)
        with pytest.raises(RateLimitError) as limited:
            await items.get_item(1)
    body = limited.value.body
    assert isinstance(body, dict) and problem_errors(body) == []
    assert (body["status"], body["detail"]) == (429, "Rate limit exceeded.")
    assert limited.value.headers["X-RateLimit-Limit"] == "3"


def inventory_without_x_sandbox() -> dict[str, Any]:
    """The contract the generator makes from the fixture spec with its x-sandbox removed."""
    spec = copy.deepcopy(INVENTORY_SPEC)
    del spec["x-sandbox"]
    loaded = LoadedSpec(Path("inventory.yaml"), "inventory.yaml", "inventory", spec, "")
    return contract(build_api(loaded))


async def test_a_spec_without_x_sandbox_gets_the_documented_defaults() -> None:
    plain = inventory_without_x_sandbox()
    assert plain["x-sandbox"] == {
        "error-dialect": "problem",
        "validation-status": 422,
        "key-prefix": "",
        "readonly-keys": [],
        "assigned": {},
        "duplicates": "allow",
        "reads": {},
    }
    assert read_declaration(None) == read_declaration(plain["x-sandbox"]) == SandboxDeclaration()
    async with Sandbox(apis=(read_api("inventory", plain),)) as sb:
        async with client(sb, "any-key-at-all") as items:
            created = await items.create_items(body=[inv.NewItem(name="Chair")])
        async with (
            aiohttp.ClientSession() as http,
            http.get(sb.base_url("inventory") + "/items/1") as answer,
        ):
            status, refusal = answer.status, await answer.json()
    assert [item.name for item in created] == ["Chair"]
    assert (status, refusal["detail"]) == (401, "No API key: send it in the X-Token header.")


# --- SandboxConfig amends the spec's x-sandbox --------------------------------------------------


async def test_the_config_amends_a_spec_s_declaration_per_api() -> None:
    config = SandboxConfig(
        key_prefixes={"coldsend": "test_"},
        assigned={"coldsend": {"status": "QUEUED"}},
        readonly_keys={"coldsend": {"test_ro"}},
    )
    async with Sandbox(config) as sb:
        key = sb.api_key("coldsend")
        assert key.startswith("test_sandbox_")
        url = sb.base_url("coldsend")
        async with ColdsendClient(api_key=key, base_url=url, retry=ONCE) as cs:
            lead = await cs.add_lead(
                "9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d", body={"email": "a@b.co"}
            )
        async with ColdsendClient(api_key="test_ro", base_url=url, retry=ONCE) as cs:
            with pytest.raises(PermissionDeniedError):
                await cs.add_lead("9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d", body={"email": "b@b.co"})
    assert lead.status == "QUEUED"


def test_a_config_the_sandbox_cannot_apply_is_refused_without_its_keys() -> None:
    with pytest.raises(ValueError, match=r"names nowhere, which it does not serve \(it serves"):
        Sandbox(SandboxConfig(duplicates={"nowhere": "reject"}))
    with pytest.raises(ValueError, match="'cs_live_': it would be refused with 401") as caught:
        Sandbox(SandboxConfig(readonly_keys={"coldsend": {"sk_secret_ro"}}))
    assert "sk_secret_ro" not in str(caught.value)
    with pytest.raises(ValueError, match="'sometimes' is not one of"):
        SandboxConfig(duplicates={"breakcold": "sometimes"})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="a set of keys"):
        SandboxConfig(readonly_keys={"coldsend": "cs_live_ro"})


# --- which APIs, where --------------------------------------------------------------------------


def test_the_apis_served_are_the_generated_packages() -> None:
    packages = sorted(p.parent.name for p in (ROOT / "generated").glob("*/__init__.py"))
    assert tuple(packages) == API_NAMES
    assert Sandbox().apis == API_NAMES


async def test_an_api_whose_routes_are_taken_is_served_under_its_name() -> None:
    first = read_api("inventory", INVENTORY_CONTRACT)
    twin = attrs.evolve(first, name="twin")
    async with Sandbox(apis=(twin, first)) as sb:
        assert sb.base_url("inventory") == f"{sb.url}/v2"
        assert sb.base_url("twin") == f"{sb.url}/twin/v2"
        for name in ("inventory", "twin"):
            async with client(sb, sb.api_key(name), name) as items:
                await items.create_items(body=[inv.NewItem(name=name)])
        assert [item["name"] for item in sb.leads("twin")] == ["twin"]
        assert [item["name"] for item in sb.leads("inventory")] == ["inventory"]


def test_every_error_dialect_has_its_renderer() -> None:
    assert set(DIALECTS) == set(get_args(ErrorDialect))


def test_no_api_is_named_in_the_runtime_code() -> None:
    """What differs between APIs is data in their specs: leadkit/ names none of them."""
    quoted = re.compile("|".join(rf"[\"']{re.escape(name)}[\"']" for name in API_NAMES))
    named = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / "leadkit").rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if quoted.search(line)
    ]
    assert named == []
