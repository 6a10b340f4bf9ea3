"""Review of `leadkit diff`: verdicts checked against what the generated client does."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from leadkit.cli import main as leadkit_main
from leadkit.codegen.diff import diff_specs
from leadkit.codegen.load import load_spec
from leadkit.codegen.pipeline import generate_tree
from tests.codegen.test_diff import (
    BASE,
    BC_OP,
    BODY,
    CS_OP,
    SCHEMAS,
    Doc,
    Edit,
    _write,
    add,
    drop,
    edits,
    prop,
    put,
)

ROOT = Path(__file__).resolve().parents[2]
INVENTORY = load_spec(ROOT / "tests" / "golden" / "specs" / "inventory.yaml").document
DOCS = {**BASE, "inventory": INVENTORY}
ITEM_PART = (*SCHEMAS, "Item", "allOf", 1)
CS_ROUTE = CS_OP[1]
TWO_IDS = "/api/public/v1/campaigns/{campaign_id}/leads/{lead_id}"
LEAD_ID = {"name": "lead_id", "in": "path", "required": True, "schema": {"type": "string"}}
REQUEST_ID = {"name": "X-Request-ID", "in": "header", "schema": {"type": "string"}}


def _two_ids(doc: Doc) -> None:
    """Coldsend's operation on a route with two path parameters: get_lead's, which it
    replaces (so the sandbox reads it no more), and no longer the create an upload's rows
    are requests of (the upload has no lead_id to give it)."""
    doc["paths"][TWO_IDS] = doc["paths"].pop(CS_ROUTE)
    doc["paths"][TWO_IDS]["post"]["parameters"].append(copy.deepcopy(LEAD_ID))
    doc["x-sandbox"].pop("reads")
    for operation in doc["paths"].values():
        operation.get("post", {}).pop("x-upload", None)


def _reverse_parameters(doc: Doc) -> None:
    doc["paths"][TWO_IDS]["post"]["parameters"].reverse()


def _to_query(doc: Doc) -> None:
    """campaign_id moves from the path into the query."""
    doc["paths"]["/api/public/v1/leads/manual"] = doc["paths"].pop(CS_ROUTE)
    doc["paths"]["/api/public/v1/leads/manual"]["post"]["parameters"][0]["in"] = "query"


def _malformed_rate_limit(doc: Doc) -> None:
    doc["x-rate-limit"]["windows"] = [{"limit": 5}]


def case(
    name: str, api: str, edit: Edit, *expected: tuple[str, str, bool], before: Edit | None = None
) -> Any:
    return pytest.param(api, before, edit, list(expected), id=name)


# fmt: off
CASES = [
    # the generated method takes body= as a required keyword whatever requestBody.required says
    case("optional-body-added", "breakcold", put(*BC_OP, "requestBody", value={"content": BODY}),
         ("request_body.added", "operation create_lead.body (request)", True),
         before=edits(drop(*BC_OP, "requestBody"), drop(*BC_OP, "x-dedupe"))),
    case("body-became-required", "breakcold", put(*BC_OP, "requestBody", "required", value=True),
         ("request_body.became_required", "operation create_lead.body (request)", False),
         before=put(*BC_OP, "requestBody", "required", value=False)),
    # x-dedupe is what gives an operation its <name>_bulk method
    case("dedupe-removed", "coldsend", drop(*CS_OP, "x-dedupe"),
         ("dedupe.removed", "operation add_lead.x-dedupe", True)),
    # path parameters are positional, the others keyword-only
    case("path-parameter-to-query", "coldsend", _to_query,
         ("operation.path_changed", "operation add_lead", False),
         ("parameter.moved_from_path", "operation add_lead.parameters.campaign_id (request)",
          True)),
    case("path-parameters-reordered", "coldsend", _reverse_parameters,
         ("parameter.reordered", "operation add_lead.parameters (request)", True),
         before=_two_ids),
    # parameters are arguments by their Python name
    case("header-renamed-on-the-wire-only", "coldsend",
         put(*CS_OP, "parameters", 1, "name", value="x-request-id"),
         ("parameter.renamed_on_wire", "operation add_lead.parameters.x_request_id (request)",
          False),
         before=add(*CS_OP, "parameters", value=REQUEST_ID)),
    # allOf: Item is NewItem's class plus its own part
    case("allof-response-field-removed", "inventory",
         edits(drop(*ITEM_PART, "properties", "history")),
         ("field.removed", "model Item.history (response)", True)),
    case("allof-response-field-added-required", "inventory",
         edits(put(*ITEM_PART, "properties", "sku", value={"type": "string"}),
               add(*ITEM_PART, "required", value="sku")),
         ("field.added_required", "model Item.sku (response)", False)),
    case("allof-base-field-became-optional", "inventory", put(*SCHEMAS, "NewItem", "required",
                                                              value=[]),
         ("field.became_optional", "model Item.name (response)", True),
         ("field.became_optional", "model NewItem.name (request)", False)),
    case("allof-nested-type-changed", "inventory",
         put(*ITEM_PART, "properties", "history", "items", "properties", "note", "type",
             value="integer"),
         ("type.changed", "model Item.history[].note (response)", True)),
    # validation keywords the server applies
    case("request-max-length-tightened", "coldsend",
         put(*prop("ManualLeadRequest", "email", "maxLength"), value=100),
         ("constraint.tightened", "model ManualLeadRequest.email (request)", True),
         before=put(*prop("ManualLeadRequest", "email", "maxLength"), value=320)),
    case("request-minimum-added", "breakcold",
         put(*prop("Location", "latitude", "minimum"), value=-90),
         ("constraint.tightened", "model Location.latitude (request)", True)),
    case("request-max-items-loosened", "breakcold",
         put(*prop("CreateLeadRequest", "tags", "maxItems"), value=50),
         ("constraint.loosened", "model CreateLeadRequest.tags (request)", False),
         before=put(*prop("CreateLeadRequest", "tags", "maxItems"), value=10)),
    case("request-pattern-changed", "coldsend",
         put(*prop("ManualLeadRequest", "email", "pattern"), value="^[^@]+@[^@]+$"),
         ("constraint.changed", "model ManualLeadRequest.email (request)", True),
         before=put(*prop("ManualLeadRequest", "email", "pattern"), value="@")),
    case("request-nullable-bound-tightened", "coldsend",
         put(*prop("ManualLeadRequest", "company", "maxLength"), value=10),
         ("constraint.tightened", "model ManualLeadRequest.company (request)", True)),
    case("response-max-length-tightened", "coldsend",
         put(*prop("LeadResponse", "email", "maxLength"), value=100),
         ("constraint.tightened", "model LeadDetail.email (response)", False),
         ("constraint.tightened", "model LeadResponse.email (response)", False)),
    # x-rate-limit as the client reads it
    case("rate-limit-default-reset-spelled-out", "breakcold",
         put("x-rate-limit", "reset", value="delta-seconds"),
         before=drop("x-rate-limit", "reset")),
    case("rate-limit-default-headers-dropped", "coldsend", drop("x-rate-limit", "headers")),
    case("rate-limit-malformed", "breakcold", _malformed_rate_limit,
         ("rate_limit.invalid", "api x-rate-limit", True)),
]
# fmt: on


@pytest.mark.parametrize(("api", "before", "edit", "expected"), CASES)
def test_verdict(
    api: str, before: Edit | None, edit: Edit, expected: list[tuple[str, str, bool]], tmp_path: Path
) -> None:
    old = copy.deepcopy(DOCS[api])
    if before:
        before(old)
        load_spec(_write(old, tmp_path / "old.yaml"))
    new = copy.deepcopy(old)
    edit(new)
    load_spec(_write(new, tmp_path / "new.yaml"))
    changes = diff_specs(old, new, api)
    assert [(c.kind, str(c.location), c.breaking) for c in changes] == expected
    assert all(c.reason for c in changes)


def _client(doc: Doc, api: str, folder: Path) -> str:
    (folder / "specs").mkdir(parents=True)
    _write(doc, folder / "specs" / f"{api}.yaml")
    return generate_tree(folder / "specs")[f"{api}/client.py"]


def test_generated_client_agrees_with_the_breaking_verdicts(tmp_path: Path) -> None:
    """What the verdicts above stand on, read from the generated methods."""
    old = copy.deepcopy(BASE["coldsend"])
    _two_ids(old)
    new = copy.deepcopy(old)
    _reverse_parameters(new)
    new["paths"][TWO_IDS]["post"].pop("x-dedupe")
    before, after = (
        _client(old, "coldsend", tmp_path / "a"),
        _client(new, "coldsend", tmp_path / "b"),
    )
    breaking = {c.kind for c in diff_specs(old, new, "coldsend") if c.breaking}
    assert breaking == {"parameter.reordered", "dedupe.removed"}
    assert "self, campaign_id: UUID | str, lead_id: str, *, body:" in " ".join(before.split())
    assert "self, lead_id: str, campaign_id: UUID | str, *, body:" in " ".join(after.split())
    assert "def add_lead_bulk(" in before
    assert "def add_lead_bulk(" not in after
    optional = copy.deepcopy(BASE["breakcold"])
    optional["paths"]["/lead"]["post"]["requestBody"]["required"] = False
    client = _client(optional, "breakcold", tmp_path / "c")
    required = "self, *, body: models.CreateLeadRequest | Mapping[str, Any], timeout:"
    assert required in " ".join(client.split())  # no default: the body is still required


def test_cli_malformed_rate_limit_is_a_breaking_line_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    new = copy.deepcopy(BASE["breakcold"])
    _malformed_rate_limit(new)
    old_path = str(ROOT / "specs" / "breakcold.yaml")
    new_path = str(_write(new, tmp_path / "breakcold.yaml"))
    assert leadkit_main(["diff", old_path, new_path]) == 0
    text = capsys.readouterr().out
    assert "BREAKING   rate_limit.invalid: api x-rate-limit [new spec: needs windows" in text
    assert leadkit_main(["diff", old_path, new_path, "--format", "json", "--fail-on-breaking"]) == 1
    [change] = json.loads(capsys.readouterr().out)["apis"][0]["changes"]
    assert (change["kind"], change["breaking"]) == ("rate_limit.invalid", True)
