"""`leadkit diff` on multipart bodies (each part an argument) and on x-poll declarations."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from leadkit.codegen.diff import diff_specs
from leadkit.codegen.load import load_spec
from tests.codegen.test_diff import BASE, Edit, _write, add, drop, edits, move, prop, put

ROOT = Path(__file__).resolve().parents[2]
INVENTORY = load_spec(ROOT / "tests" / "golden" / "specs" / "inventory.yaml").document
DOCS = {**BASE, "inventory": INVENTORY}

UPLOAD = ("paths", "/api/public/v1/campaigns/{campaign_id}/leads", "post")
FORM = (*UPLOAD, "requestBody", "content", "multipart/form-data")
PARTS = (*FORM, "schema", "properties")
PHOTO_PARTS = (
    *("paths", "/items/{item_id}/photos", "post", "requestBody", "content"),
    *("multipart/form-data", "schema", "properties"),
)
IMPORT = ("paths", "/imports", "post")
SOURCE = {"type": "string"}
MAPPING_AS_JSON = {
    "application/json": {"schema": {"$ref": "#/components/schemas/LeadUploadMapping"}}
}
TEXT = {"type": "string"}


def case(name: str, api: str, edit: Edit, *expected: tuple[str, str, bool]) -> Any:
    return pytest.param(api, edit, list(expected), id=name)


def at(part: str) -> str:
    return f"operation upload_leads.body.{part} (request)"


# fmt: off
CASES = [
    # parts are keyword arguments, by their Python name
    case("part-added", "coldsend", put(*PARTS, "source", value=SOURCE),
         ("part.added", at("source"), False)),
    case("part-added-required", "coldsend",
         edits(put(*PARTS, "source", value=SOURCE),
               add(*FORM, "schema", "required", value="source")),
         ("part.added_required", at("source"), True)),
    case("part-removed", "coldsend",
         edits(drop(*PARTS, "mapping"), drop(*FORM, "encoding", "mapping")),
         ("part.removed", at("mapping"), True)),
    case("part-became-required", "coldsend", add(*FORM, "schema", "required", value="mapping"),
         ("part.became_required", at("mapping"), True)),
    case("part-became-optional", "coldsend", put(*FORM, "schema", "required", value=[]),
         ("part.became_optional", at("file"), False)),
    case("file-part-became-text", "coldsend", put(*PARTS, "file", value={"type": "string"}),
         ("part.kind_changed", at("file"), True)),
    case("json-part-became-text", "coldsend",
         edits(put(*PARTS, "mapping", value=TEXT), drop(*FORM, "encoding", "mapping")),
         ("part.kind_changed", at("mapping"), True)),
    case("file-part-media-type-changed", "coldsend",
         put(*FORM, "encoding", "file", "contentType", value="application/octet-stream"),
         ("part.media_type_changed", at("file"), False)),
    case("part-renamed-on-the-wire-only", "inventory", move(*PHOTO_PARTS, "takenAt", to="taken_at"),
         ("part.renamed_on_wire", "operation upload_photo.body.taken_at (request)", False)),
    # what a JSON or text part holds: compared as request types
    case("json-part-field-became-nullable", "coldsend",
         put(*prop("LeadUploadMapping", "email", "type"), value=["string", "null"]),
         ("type.became_nullable", "model LeadUploadMapping.email (request)", False)),
    case("json-part-field-removed", "coldsend", drop(*prop("LeadUploadMapping", "company")),
         ("field.removed", "model LeadUploadMapping.company (request)", True)),
    case("text-part-type-changed", "inventory",
         put(*PHOTO_PARTS, "caption", value={"type": "integer"}),
         ("type.changed", "operation upload_photo.body.caption (request)", True)),
    case("text-part-type-widened", "inventory",
         put(*PHOTO_PARTS, "caption", "type", value=["string", "integer"]),
         ("type.widened", "operation upload_photo.body.caption (request)", False)),
    # the body as a whole
    case("multipart-body-became-json", "coldsend",
         put(*UPLOAD, "requestBody", "content", value=MAPPING_AS_JSON),
         ("request_body.media_type_changed", "operation upload_leads.body (request)", True)),
    # x-poll
    case("poll-done-changed", "coldsend",
         put(*UPLOAD, "x-poll", "done", value=["COMPLETED", "FAILED", "CANCELLED"]),
         ("poll.changed", "operation upload_leads.x-poll", False)),
    case("poll-progress-dropped", "inventory", drop(*IMPORT, "x-poll", "progress"),
         ("poll.changed", "operation start_import.x-poll", False)),
    case("poll-target-changed", "coldsend", put(*UPLOAD, "x-poll", "operation", value="get_lead"),
         ("poll.target_changed", "operation upload_leads.x-poll", True)),
    case("poll-removed", "coldsend", drop(*UPLOAD, "x-poll"),
         ("poll.removed", "operation upload_leads.x-poll", True)),
    case("poll-not-a-mapping", "inventory", put(*IMPORT, "x-poll", value="get_import"),
         ("poll.changed", "operation start_import.x-poll", False)),
]
# fmt: on


@pytest.mark.parametrize(("api", "edit", "expected"), CASES)
def test_each_change_to_parts_and_polls_is_found_and_classified(
    api: str, edit: Edit, expected: list[tuple[str, str, bool]], tmp_path: Path
) -> None:
    old = copy.deepcopy(DOCS[api])
    new = copy.deepcopy(old)
    edit(new)
    load_spec(_write(new, tmp_path / "new.yaml"))  # still valid OpenAPI
    changes = diff_specs(old, new, api)
    assert [(c.kind, str(c.location), c.breaking) for c in changes] == expected
    assert all(c.reason for c in changes)


def test_a_json_part_without_encoding_is_json_by_default() -> None:
    """OpenAPI's default for an object part is application/json: the same client."""
    new = copy.deepcopy(BASE["coldsend"])
    drop(*FORM, "encoding", "mapping")(new)
    assert diff_specs(BASE["coldsend"], new, "coldsend") == ()


def test_a_poll_added_is_new_methods() -> None:
    old = copy.deepcopy(INVENTORY)
    drop(*IMPORT, "x-poll")(old)
    [change] = diff_specs(old, INVENTORY, "inventory")
    assert (change.kind, str(change.location), change.breaking) == (
        "poll.added",
        "operation start_import.x-poll",
        False,
    )
