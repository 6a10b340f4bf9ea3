"""Issue 7: the semantic, classified report of what a spec change means for client users."""

from __future__ import annotations

import copy
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from leadkit.cli import main as leadkit_main
from leadkit.codegen.__main__ import main as codegen_main
from leadkit.codegen.build import build_api
from leadkit.codegen.diff import committed_spec, diff_specs, render_json, render_text, tree_report
from leadkit.codegen.diff.spec_diff import read_leniently
from leadkit.codegen.errors import SpecError
from leadkit.codegen.load import LoadedSpec, load_spec
from leadkit.codegen.pipeline import generate_tree
from leadkit.codegen.regen import regenerate
from tests.processes import run

ROOT = Path(__file__).resolve().parents[2]
BASE = {
    name: load_spec(ROOT / "specs" / f"{name}.yaml").document for name in ("coldsend", "breakcold")
}

Doc = dict[str, Any]
Edit = Callable[[Doc], None]

SCHEMAS = ("components", "schemas")
CS_OP = ("paths", "/api/public/v1/campaigns/{campaign_id}/leads/manual", "post")
BC_OP = ("paths", "/lead", "post")


def _node(doc: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        doc = doc[key]
    return doc


def put(*path: Any, value: Any) -> Edit:
    """Set the value at `path`."""
    return lambda doc: _node(doc, path[:-1]).__setitem__(path[-1], value)


def drop(*path: Any) -> Edit:
    """Delete the key at `path`, or the item `path[-1]` from the list at `path[:-1]`."""

    def edit(doc: Doc) -> None:
        holder = _node(doc, path[:-1])
        if isinstance(holder, list):
            holder.remove(path[-1])
        else:
            del holder[path[-1]]

    return edit


def add(*path: Any, value: Any) -> Edit:
    """Append `value` to the list at `path`."""
    return lambda doc: _node(doc, path).append(value)


def move(*path: str, to: str) -> Edit:
    """Rename the key at `path` to `to`."""
    return lambda doc: _node(doc, path[:-1]).__setitem__(to, _node(doc, path[:-1]).pop(path[-1]))


def edits(*steps: Edit) -> Edit:
    """Several edits, in order."""

    def edit(doc: Doc) -> None:
        for step in steps:
            step(doc)

    return edit


def prop(model: str, *rest: str) -> tuple[str, ...]:
    return (*SCHEMAS, model, "properties", *rest)


def req(model: str) -> tuple[str, ...]:
    return (*SCHEMAS, model, "required")


def case(
    name: str, api: str, edit: Edit, *expected: tuple[str, str, bool], before: Edit | None = None
) -> Any:
    """One row: `before` applies to both specs, `edit` makes the new one; expected changes."""
    return pytest.param(api, before, edit, list(expected), id=name)


THREAD_INTENT = put(*prop("LeadResponse", "thread_intent"), value={"type": ["string", "null"]})
STATUS_ENUM = put(*prop("LeadResponse", "status", "enum"), value=["SENT", "OPENED"])
SOURCE = {"name": "source", "in": "query", "schema": {"type": "string"}}
LEAD = {"$ref": "#/components/schemas/Lead"}
ERROR_BODY = {"$ref": "#/components/schemas/ErrorBody"}
BODY = {"application/json": {"schema": {"$ref": "#/components/schemas/CreateLeadRequest"}}}


def response(schema: Any) -> dict[str, Any]:
    return {"description": "d", "content": {"application/json": {"schema": schema}}}


# fmt: off
CASES = [
    # fields of models, in each direction
    case("response-field-added", "coldsend", THREAD_INTENT,
         ("field.added", "model LeadDetail.thread_intent (response)", False),
         ("field.added", "model LeadResponse.thread_intent (response)", False)),
    case("response-field-added-required", "coldsend",
         edits(THREAD_INTENT, add(*req("LeadResponse"), value="thread_intent")),
         ("field.added_required", "model LeadDetail.thread_intent (response)", False),
         ("field.added_required", "model LeadResponse.thread_intent (response)", False)),
    case("response-field-removed", "coldsend",
         edits(drop(*prop("LeadResponse", "status")), drop(*req("LeadResponse"), "status")),
         ("field.removed", "model LeadDetail.status (response)", True),
         ("field.removed", "model LeadResponse.status (response)", True)),
    case("request-field-added", "coldsend",
         put(*prop("ManualLeadRequest", "phone"), value={"type": "string"}),
         ("field.added", "model ManualLeadRequest.phone (request)", False)),
    case("request-field-added-required", "coldsend",
         edits(put(*prop("ManualLeadRequest", "phone"), value={"type": "string"}),
               add(*req("ManualLeadRequest"), value="phone")),
         ("field.added_required", "model ManualLeadRequest.phone (request)", True)),
    case("request-field-removed", "coldsend", drop(*prop("ManualLeadRequest", "first_name")),
         ("field.removed", "model ManualLeadRequest.first_name (request)", True)),
    case("request-field-became-required", "coldsend",
         add(*req("ManualLeadRequest"), value="company"),
         ("field.became_required", "model ManualLeadRequest.company (request)", True)),
    case("request-field-became-optional", "coldsend", drop(*req("ManualLeadRequest"), "email"),
         ("field.became_optional", "model ManualLeadRequest.email (request)", False)),
    case("response-field-became-optional", "coldsend", drop(*req("LeadResponse"), "created_at"),
         ("field.became_optional", "model LeadDetail.created_at (response)", True),
         ("field.became_optional", "model LeadResponse.created_at (response)", True)),
    case("response-field-became-required", "coldsend",
         add(*req("LeadResponse"), value="sequence_step"),
         ("field.became_required", "model LeadDetail.sequence_step (response)", False),
         ("field.became_required", "model LeadResponse.sequence_step (response)", False)),
    # nullability
    case("response-became-nullable", "coldsend",
         put(*prop("LeadResponse", "email", "type"), value=["string", "null"]),
         ("type.became_nullable", "model LeadDetail.email (response)", True),
         ("type.became_nullable", "model LeadResponse.email (response)", True)),
    case("response-became-non-nullable", "coldsend",
         put(*prop("LeadResponse", "first_name", "type"), value="string"),
         ("type.became_non_nullable", "model LeadDetail.first_name (response)", False),
         ("type.became_non_nullable", "model LeadResponse.first_name (response)", False)),
    case("request-became-nullable", "coldsend",
         put(*prop("ManualLeadRequest", "email", "type"), value=["string", "null"]),
         ("type.became_nullable", "model ManualLeadRequest.email (request)", False)),
    case("request-became-non-nullable", "coldsend",
         put(*prop("ManualLeadRequest", "first_name", "type"), value="string"),
         ("type.became_non_nullable", "model ManualLeadRequest.first_name (request)", True)),
    # types
    case("request-type-widened", "breakcold",
         put(*prop("CreateLeadRequest", "phone", "type"), value=["string", "number"]),
         ("type.widened", "model CreateLeadRequest.phone (request)", False)),
    case("request-type-narrowed", "breakcold",
         put(*prop("CreateLeadRequest", "contract_value", "type"), value="string"),
         ("type.narrowed", "model CreateLeadRequest.contract_value (request)", True)),
    case("request-type-narrowed-behind-refs", "breakcold",
         put(*prop("Location", "latitude", "type"), value="integer"),
         ("type.narrowed", "model Location.latitude (request)", True)),
    case("request-union-widened", "breakcold",
         add(*SCHEMAS, "AttributeValue", "anyOf", value={"type": "integer"}),
         ("type.widened", "model AttributeValue (request)", False)),
    case("request-enum-introduced", "coldsend",
         put(*prop("ManualLeadRequest", "email", "enum"), value=["a@example.com"]),
         ("type.narrowed", "model ManualLeadRequest.email (request)", True)),
    case("response-type-changed", "breakcold",
         put(*prop("Lead", "order", "type"), value="string"),
         ("type.changed", "model Lead.order (response)", True)),
    case("response-type-widened", "breakcold",
         put(*prop("Lead", "order", "type"), value="number"),
         ("type.widened", "model Lead.order (response)", True)),
    case("error-type-narrowed", "coldsend",
         put(*prop("ValidationErrorItem", "loc", "items", "type"), value="string"),
         ("type.narrowed", "model ValidationErrorItem.loc[] (error)", False)),
    case("parameter-type-changed", "coldsend",
         put(*CS_OP, "parameters", 0, "schema", value={"type": "integer"}),
         ("type.changed", "operation add_lead.parameters.campaign_id (request)", True)),
    # enums and defaults
    case("request-enum-value-added", "breakcold",
         add(*SCHEMAS, "ContractCurrency", "enum", value="SEK"),
         ("enum.value_added", "model ContractCurrency (request)", False)),
    case("request-enum-value-removed", "breakcold",
         drop(*SCHEMAS, "ContractCurrency", "enum", "PLN"),
         ("enum.value_removed", "model ContractCurrency (request)", True)),
    case("response-enum-value-added", "coldsend",
         add(*prop("LeadResponse", "status", "enum"), value="BOUNCED"),
         ("enum.value_added", "model LeadDetail.status (response)", False),
         ("enum.value_added", "model LeadResponse.status (response)", False), before=STATUS_ENUM),
    case("response-enum-value-removed", "coldsend",
         drop(*prop("LeadResponse", "status", "enum"), "SENT"),
         ("enum.value_removed", "model LeadDetail.status (response)", False),
         ("enum.value_removed", "model LeadResponse.status (response)", False), before=STATUS_ENUM),
    case("request-default-changed", "breakcold",
         put(*prop("CreateLeadRequest", "is_draft", "default"), value=True),
         ("default.changed", "model CreateLeadRequest.is_draft (request)", False)),
    case("response-default-removed", "coldsend",
         drop(*prop("LeadResponse", "sequence_step", "default")),
         ("default.changed", "model LeadDetail.sequence_step (response)", False),
         ("default.changed", "model LeadResponse.sequence_step (response)", False)),
    case("default-0-became-false", "coldsend",
         put(*prop("LeadResponse", "sequence_step", "default"), value=False),
         ("default.changed", "model LeadDetail.sequence_step (response)", False),
         ("default.changed", "model LeadResponse.sequence_step (response)", False),
         before=put(*prop("LeadResponse", "sequence_step", "type"), value=["integer", "boolean"])),
    case("enum-1-became-true", "coldsend",
         put(*prop("LeadResponse", "sequence_step", "enum"), value=[0, True]),
         ("enum.value_added", "model LeadDetail.sequence_step (response)", False),
         ("enum.value_removed", "model LeadDetail.sequence_step (response)", False),
         ("enum.value_added", "model LeadResponse.sequence_step (response)", False),
         ("enum.value_removed", "model LeadResponse.sequence_step (response)", False),
         before=put(*prop("LeadResponse", "sequence_step", "enum"), value=[0, 1])),
    # operations
    case("path-changed", "breakcold", move("paths", "/lead", to="/leads"),
         ("operation.path_changed", "operation create_lead", False)),
    case("method-changed", "breakcold", move(*BC_OP, to="put"),
         ("operation.method_changed", "operation create_lead", False)),
    case("operation-removed", "breakcold", put("paths", value={}),
         ("operation.removed", "operation create_lead", True)),
    case("operation-added", "breakcold",
         put("paths", "/leads", value={"get": {"operationId": "list_leads",
                                               "responses": {"200": response(LEAD)}}}),
         ("operation.added", "operation list_leads", False)),
    case("parameter-added", "coldsend", add(*CS_OP, "parameters", value=SOURCE),
         ("parameter.added", "operation add_lead.parameters.source (request)", False)),
    case("parameter-added-required", "coldsend",
         add(*CS_OP, "parameters", value={**SOURCE, "required": True}),
         ("parameter.added_required", "operation add_lead.parameters.source (request)", True)),
    case("parameter-removed", "coldsend", drop(*CS_OP, "parameters", SOURCE),
         ("parameter.removed", "operation add_lead.parameters.source (request)", True),
         before=add(*CS_OP, "parameters", value=SOURCE)),
    case("parameter-became-required", "coldsend",
         put(*CS_OP, "parameters", 1, "required", value=True),
         ("parameter.became_required", "operation add_lead.parameters.source (request)", True),
         before=add(*CS_OP, "parameters", value=SOURCE)),
    case("parameter-moved", "coldsend", put(*CS_OP, "parameters", 1, "in", value="header"),
         ("parameter.moved", "operation add_lead.parameters.source (request)", False),
         before=add(*CS_OP, "parameters", value=SOURCE)),
    case("request-body-became-optional", "coldsend",
         put(*CS_OP, "requestBody", "required", value=False),
         ("request_body.became_optional", "operation add_lead.body (request)", False)),
    case("parameter-became-optional", "coldsend",
         put(*CS_OP, "parameters", 1, "required", value=False),
         ("parameter.became_optional", "operation add_lead.parameters.source (request)", False),
         before=add(*CS_OP, "parameters", value={**SOURCE, "required": True})),
    case("request-body-added", "breakcold",
         put(*BC_OP, "requestBody", value={"content": BODY}),
         ("request_body.added", "operation create_lead.body (request)", True),
         before=drop(*BC_OP, "requestBody")),
    case("request-body-added-required", "breakcold",
         put(*BC_OP, "requestBody", value={"required": True, "content": BODY}),
         ("request_body.added_required", "operation create_lead.body (request)", True),
         before=drop(*BC_OP, "requestBody")),
    case("request-body-became-required", "breakcold",
         put(*BC_OP, "requestBody", "required", value=True),
         ("request_body.became_required", "operation create_lead.body (request)", False),
         before=put(*BC_OP, "requestBody", "required", value=False)),
    case("request-body-removed", "breakcold", drop(*BC_OP, "requestBody"),
         ("request_body.removed", "operation create_lead.body (request)", True)),
    case("request-body-model-changed", "breakcold",
         put(*BC_OP, "requestBody", "content", "application/json", "schema", value=LEAD),
         ("type.changed", "operation create_lead.body (request)", True)),
    case("success-code-added", "breakcold", put(*BC_OP, "responses", "201", value=response(LEAD)),
         ("success_code.added", "operation create_lead.responses.201 (response)", False)),
    case("success-code-added-new-type", "breakcold",
         put(*BC_OP, "responses", "202", value=response(ERROR_BODY)),
         ("success_code.added_new_type", "operation create_lead.responses.202 (response)", True)),
    case("success-code-removed", "coldsend", drop(*CS_OP, "responses", "201"),
         ("success_code.removed", "operation add_lead.responses.201 (response)", False)),
    case("success-schema-changed", "breakcold",
         put(*BC_OP, "responses", "200", value=response(ERROR_BODY)),
         ("type.changed", "operation create_lead.responses.200 (response)", True)),
    case("error-schema-changed", "coldsend",
         put(*CS_OP, "responses", "403", value={"$ref": "#/components/responses/Error"}),
         ("type.changed", "operation add_lead.errors.403 (error)", True)),
    case("error-field-removed", "breakcold",
         edits(drop(*prop("ErrorBody", "code")), drop(*req("ErrorBody"), "code")),
         ("field.removed", "model ErrorBody.code (error)", True)),
    case("error-code-added", "breakcold",
         put(*BC_OP, "responses", "422", value={"$ref": "#/components/responses/Error"}),
         ("error_code.added", "operation create_lead.errors.422 (error)", False)),
    case("error-code-removed", "coldsend", drop(*CS_OP, "responses", "503"),
         ("error_code.removed", "operation add_lead.errors.503 (error)", True)),
    case("dedupe-changed", "coldsend", put(*CS_OP, "x-dedupe", "conflict-status", value=422),
         ("dedupe.changed", "operation add_lead.x-dedupe", False)),
    case("dedupe-added", "breakcold", put(*BC_OP, "x-dedupe", value={"field": "email"}),
         ("dedupe.added", "operation create_lead.x-dedupe", False),
         before=drop(*BC_OP, "x-dedupe")),
    case("dedupe-removed", "breakcold", drop(*BC_OP, "x-dedupe"),
         ("dedupe.removed", "operation create_lead.x-dedupe", True)),
    case("dedupe-not-a-mapping", "breakcold", put(*BC_OP, "x-dedupe", value="email"),
         ("dedupe.changed", "operation create_lead.x-dedupe", False)),
    # the API as a whole
    case("server-changed", "coldsend", put("servers", 0, "url", value="https://api.coldsend.io"),
         ("server.base_url_changed", "api servers", False)),
    case("auth-header-changed", "coldsend",
         put(*("components", "securitySchemes", "ApiKeyAuth", "name"), value="X-Key"),
         ("auth.header_changed", "api security", False)),
    case("auth-env-var-changed", "coldsend",
         put(*("components", "securitySchemes", "ApiKeyAuth", "x-env-var"), value="CS_KEY"),
         ("auth.env_var_changed", "api security", True)),
    case("auth-scheme-changed", "breakcold",
         put(*("components", "securitySchemes", "ApiKeyAuth"),
             value={"type": "http", "scheme": "bearer", "x-env-var": "BREAKCOLD_API_KEY"}),
         ("auth.header_changed", "api security", False),
         ("auth.scheme_changed", "api security", False)),
    case("rate-limit-tightened", "coldsend", put("x-rate-limit", "windows", 0, "limit", value=50),
         ("rate_limit.tightened", "api x-rate-limit", False)),
    case("rate-limit-window-added", "breakcold",
         add("x-rate-limit", "windows", value={"limit": 5, "seconds": 1}),
         ("rate_limit.tightened", "api x-rate-limit", False)),
    case("rate-limit-window-removed", "coldsend",
         put("x-rate-limit", "windows", value=[{"limit": 100, "seconds": 60}]),
         ("rate_limit.loosened", "api x-rate-limit", False)),
    case("rate-limit-reset-changed", "breakcold",
         put("x-rate-limit", "reset", value="unix-timestamp"),
         ("rate_limit.reset_changed", "api x-rate-limit", False)),
    case("rate-limit-header-changed", "breakcold",
         put("x-rate-limit", "headers", "reset", value="RateLimit-Reset"),
         ("rate_limit.header_changed", "api x-rate-limit", False)),
    case("rate-limit-retry-pattern-changed", "coldsend",
         put("x-rate-limit", "retry-after-body-pattern", value=r"after (\d+)s"),
         ("rate_limit.retry_pattern_changed", "api x-rate-limit", False)),
    case("rate-limit-retry-pointer-unit-changed", "breakcold",
         put("x-rate-limit", "retry-after-body", "unit", value="s"),
         ("rate_limit.retry_pattern_changed", "api x-rate-limit", False)),
    case("rate-limit-added", "breakcold",
         put("x-rate-limit", value=BASE["breakcold"]["x-rate-limit"]),
         ("rate_limit.added", "api x-rate-limit", False), before=drop("x-rate-limit")),
    case("rate-limit-removed", "breakcold", drop("x-rate-limit"),
         ("rate_limit.removed", "api x-rate-limit", False)),
    # several at once: API first, then operations, then models
    case("ordering", "coldsend",
         edits(THREAD_INTENT, drop(*CS_OP, "responses", "503"),
               put("servers", 0, "url", value="https://api.coldsend.io")),
         ("server.base_url_changed", "api servers", False),
         ("error_code.removed", "operation add_lead.errors.503 (error)", True),
         ("field.added", "model LeadDetail.thread_intent (response)", False),
         ("field.added", "model LeadResponse.thread_intent (response)", False)),
]
# fmt: on


def _write(doc: Doc, path: Path) -> Path:
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def edited(api: str, edit: Edit) -> Doc:
    """A copy of the base spec of `api` with `edit` applied."""
    doc = copy.deepcopy(BASE[api])
    edit(doc)
    return doc


def _spec_pair(api: str, edit: Edit, tmp_path: Path) -> tuple[str, str]:
    """Paths of the base spec of `api` and of an edited copy."""
    old = _write(BASE[api], tmp_path / "old.yaml")
    return str(old), str(_write(edited(api, edit), tmp_path / "new.yaml"))


@pytest.mark.parametrize(("api", "before", "edit", "expected"), CASES)
def test_each_kind_of_change_is_found_and_classified(
    api: str, before: Edit | None, edit: Edit, expected: list[tuple[str, str, bool]], tmp_path: Path
) -> None:
    old = copy.deepcopy(BASE[api])
    if before:
        before(old)
        load_spec(_write(old, tmp_path / "old.yaml"))  # still a valid spec
    new = copy.deepcopy(old)
    edit(new)
    load_spec(_write(new, tmp_path / "new.yaml"))
    changes = diff_specs(old, new)
    assert [(c.kind, str(c.location), c.breaking) for c in changes] == expected
    assert all(c.reason for c in changes)


@pytest.mark.parametrize("api", sorted(BASE))
def test_identical_specs_give_an_empty_report(api: str) -> None:
    assert diff_specs(BASE[api], copy.deepcopy(BASE[api])) == ()
    assert json.loads(render_json({api: ()})) == {
        "breaking": 0,
        "apis": [{"api": api, "breaking": 0, "changes": []}],
    }
    assert render_text({api: ()}) == f"{api}: no API changes"


ORDER_PROBE = """
from pathlib import Path
from leadkit.codegen.diff import diff_specs
from leadkit.codegen.load import load_spec
old = load_spec(Path("specs/breakcold.yaml")).document
new = load_spec(Path("specs/breakcold.yaml")).document
new["components"]["schemas"]["ContractCurrency"]["enum"] += ["SEK", "NOK", "DKK", "HUF"]
print(" ".join(change.detail for change in diff_specs(old, new)))
"""


@pytest.mark.slow
def test_changes_at_one_place_come_in_one_order_whatever_the_hash_seed() -> None:
    outputs = {
        run(
            sys.executable,
            "-c",
            ORDER_PROBE,
            env={**os.environ, "PYTHONHASHSEED": seed},
            cwd=ROOT,
            check=True,
        ).stdout
        for seed in ("0", "1", "2")
    }
    assert outputs == {"'DKK' 'HUF' 'NOK' 'SEK'\n"}


def test_env_var_is_compared_as_the_client_reads_it() -> None:
    implicit = edited("coldsend", drop("components", "securitySchemes", "ApiKeyAuth", "x-env-var"))
    assert diff_specs(BASE["coldsend"], implicit, "coldsend") == ()
    [change] = diff_specs(BASE["coldsend"], implicit, "renamed")
    assert (change.kind, change.detail) == (
        "auth.env_var_changed",
        "COLDSEND_API_KEY -> RENAMED_API_KEY",
    )


def test_text_report_names_kind_location_detail_and_reason() -> None:
    new = edited("coldsend", THREAD_INTENT)
    text = render_text({"coldsend": diff_specs(BASE["coldsend"], new)})
    assert text.splitlines() == [
        "coldsend: 2 API changes, 0 breaking",
        "  compatible field.added: model LeadDetail.thread_intent (response) "
        "[string | null]: a new attribute; existing callers ignore it",
        "  compatible field.added: model LeadResponse.thread_intent (response) "
        "[string | null]: a new attribute; existing callers ignore it",
    ]


def test_cli_exit_codes_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old, new = _spec_pair("coldsend", drop(*req("LeadResponse"), "created_at"), tmp_path)
    assert leadkit_main(["diff", old, old, "--fail-on-breaking"]) == 0
    assert "no API changes" in capsys.readouterr().out
    assert leadkit_main(["diff", old, new]) == 0
    assert "BREAKING" in capsys.readouterr().out
    assert leadkit_main(["diff", old, new, "--fail-on-breaking", "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["breaking"] == 2  # LeadResponse, and LeadDetail built on it
    changes = report["apis"][0]["changes"]
    assert {change["kind"] for change in changes} == {"field.became_optional"}
    assert [(c["scope"], c["name"], c["path"]) for c in changes] == [
        ("model", "LeadDetail", "created_at"),
        ("model", "LeadResponse", "created_at"),
    ]
    assert {change["direction"] for change in changes} == {"response"}


def test_cli_reads_the_default_key_variable_from_the_new_spec_file_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    implicit = edited("coldsend", drop("components", "securitySchemes", "ApiKeyAuth", "x-env-var"))
    new = _write(implicit, tmp_path / "coldsend.yaml")
    assert leadkit_main(["diff", str(ROOT / "specs" / "coldsend.yaml"), str(new)]) == 0
    assert "no API changes" in capsys.readouterr().out


def test_cli_compatible_change_passes_fail_on_breaking(tmp_path: Path) -> None:
    old, new = _spec_pair("coldsend", THREAD_INTENT, tmp_path)
    assert leadkit_main(["diff", old, new, "--fail-on-breaking"]) == 0


@pytest.mark.parametrize(
    "text", ["openapi: [unclosed", "openapi: 3.1.0\ninfo: {title: x}\npaths: {}\n"]
)
def test_cli_broken_spec_exits_2(
    text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(text, encoding="utf-8")
    assert leadkit_main(["diff", str(ROOT / "specs" / "coldsend.yaml"), str(broken)]) == 2
    err = capsys.readouterr().err
    assert "broken.yaml" in err
    assert "fix the spec" in err


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the project's specs, generated/ and golden specs; the checkout is not written."""
    for folder in ("specs", "generated", "tests/golden/specs"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    return tmp_path


def test_committed_spec_reads_the_embedded_literal(project: Path) -> None:
    spec = committed_spec(project / "generated" / "coldsend" / "spec.py")
    assert spec["paths"].keys() == BASE["coldsend"]["paths"].keys()


def test_tree_report_compares_committed_specs_with_specs_folder(project: Path) -> None:
    _write(edited("coldsend", THREAD_INTENT), project / "specs" / "coldsend.yaml")
    (project / "specs" / "breakcold.yaml").rename(project / "specs" / "pipedrive.yaml")
    report = tree_report(project / "specs", project / "generated")
    summary = {api: [(c.kind, str(c.location)) for c in cs] for api, cs in report.items()}
    assert summary == {
        "breakcold": [("api.removed", "api")],
        "coldsend": [
            ("field.added", "model LeadDetail.thread_intent (response)"),
            ("field.added", "model LeadResponse.thread_intent (response)"),
        ],
        "pipedrive": [("api.added", "api")],
    }


def test_tree_report_knows_the_default_env_var(project: Path) -> None:
    implicit = edited("coldsend", drop("components", "securitySchemes", "ApiKeyAuth", "x-env-var"))
    _write(implicit, project / "specs" / "coldsend.yaml")
    report = tree_report(project / "specs", project / "generated")
    assert report == {"breakcold": (), "coldsend": ()}


def test_check_prints_the_semantic_report(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(edited("coldsend", THREAD_INTENT), project / "specs" / "coldsend.yaml")
    argv = ["--specs", str(project / "specs"), "--out", str(project / "generated"), "--check"]
    assert codegen_main(argv) == 1
    err = capsys.readouterr().err
    assert "field.added: model LeadResponse.thread_intent (response)" in err
    assert "breakcold: no API changes" in err


@pytest.mark.slow
def test_regen_reports_regenerates_and_refreshes_golden(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(edited("coldsend", THREAD_INTENT), project / "specs" / "coldsend.yaml")
    assert regenerate(project) == 0
    out = capsys.readouterr().out
    assert "field.added: model LeadResponse.thread_intent (response)" in out
    assert "thread_intent" in (project / "generated" / "coldsend" / "models.py").read_text()
    assert (project / "tests" / "golden" / "expected" / "inventory" / "client.py").exists()
    assert all(
        not changes for changes in tree_report(project / "specs", project / "generated").values()
    )
    argv = ["--specs", str(project / "specs"), "--out", str(project / "generated"), "--check"]
    assert codegen_main(argv) == 0


@pytest.mark.slow
def test_regen_rewrites_a_damaged_committed_spec_module(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec_module = project / "generated" / "coldsend" / "spec.py"
    spec_module.write_text(spec_module.read_text()[:500])
    assert regenerate(project) == 0
    out = capsys.readouterr().out
    assert "unknown: generated/coldsend/spec.py cannot be read: not valid Python" in out
    assert committed_spec(spec_module)["paths"].keys() == BASE["coldsend"]["paths"].keys()


@pytest.mark.parametrize(
    "edit",
    [
        # the client strips a trailing slash from the base URL
        put("servers", 0, "url", value="https://api.coldsend.pro/"),
        # the same class, the body schema inlined where it was a $ref
        put(
            *CS_OP, "requestBody", "content", "application/json", "schema", "description", value="d"
        ),
    ],
    ids=["trailing-slash", "ref-sibling"],
)
def test_a_change_the_generated_client_does_not_see_is_no_change(edit: Edit) -> None:
    """The report compares the IRs the generator renders: what changes neither the models nor
    the client is not reported."""
    new = edited("coldsend", edit)
    assert diff_specs(BASE["coldsend"], new, "coldsend") == ()
    assert generate_tree_of(BASE["coldsend"]) == generate_tree_of(new)


def test_a_format_the_client_does_not_type_is_a_server_rule() -> None:
    """The model keeps `str` for an email format (a diff of the documents said type.changed);
    the server checks it: a new constraint, breaking in a request."""
    new = edited("coldsend", put(*prop("ManualLeadRequest", "email", "format"), value="email"))
    assert generate_tree_of(BASE["coldsend"]) == generate_tree_of(new)
    [change] = diff_specs(BASE["coldsend"], new, "coldsend")
    assert (change.kind, str(change.location), change.detail, change.breaking) == (
        "constraint.tightened",
        "model ManualLeadRequest.email (request)",
        "format: none -> 'email'",
        True,
    )


CLIENT_FILES = ("__init__.py", "client.py", "converter.py", "models.py", "serde.py")
"""What a client user imports; the embedded spec and the sandbox's contract left out."""


def generate_tree_of(doc: Doc) -> dict[str, str]:
    """The client files of the package generated from `doc` (as coldsend), headers left out."""
    with tempfile.TemporaryDirectory() as folder:
        _write(doc, Path(folder) / "coldsend.yaml")
        files = generate_tree(Path(folder))
    return {
        path: text.split("\n", 1)[1]
        for path, text in files.items()
        if path.removeprefix("coldsend/") in CLIENT_FILES
    }


def test_what_the_generator_refuses_is_still_compared() -> None:
    """Read leniently: a spec the generator refuses (the body lacks the x-dedupe field) is
    compared as written, and its refusals are kept in the IR."""
    before = edited("breakcold", drop(*BC_OP, "requestBody"))
    old = read_leniently(before, "breakcold", "old")
    assert [p.message for p in old.problems] == ["'email' is not a property of the request body"]
    with pytest.raises(SpecError, match="not a property of the request body"):
        build_api(LoadedSpec(Path("breakcold.yaml"), "x", "breakcold", before, ""))
    [change] = diff_specs(before, BASE["breakcold"], "breakcold")
    assert change.kind == "request_body.added_required"
