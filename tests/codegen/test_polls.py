"""The generator's checks of multipart bodies and x-poll: each refusal names its pointer."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from leadkit.codegen.build import build_api
from leadkit.codegen.errors import SpecError
from leadkit.codegen.load import load_spec
from tests.codegen.test_diff import Edit, _write, add, drop, edits, move, put

ROOT = Path(__file__).resolve().parents[2]
INVENTORY = load_spec(ROOT / "tests" / "golden" / "specs" / "inventory.yaml").document

IMPORT = ("paths", "/imports", "post")
POLL = (*IMPORT, "x-poll")
IMPORT_PARTS = (*IMPORT, "requestBody", "content", "multipart/form-data", "schema", "properties")
GET_IMPORT = ("paths", "/imports/{importId}", "get")
PHOTO_FORM = ("paths", "/items/{item_id}/photos", "post", "requestBody", "content")
PHOTO_FORM = (*PHOTO_FORM, "multipart/form-data")
PHOTO_PARTS = (*PHOTO_FORM, "schema", "properties")
ITEM_ID = {"name": "item_id", "in": "path", "required": True, "schema": {"type": "integer"}}
POLL_AT = "#/paths/~1imports/post/x-poll"
PARTS_AT = "#/paths/~1items~1{item_id}~1photos/post/requestBody/content/multipart~1form-data"


def _nested_import(doc: dict[str, Any]) -> None:
    """get_import moves under /items/{item_id}: a path parameter start_import lacks."""
    item = doc["paths"].pop("/imports/{importId}")
    item["get"]["parameters"].insert(0, copy.deepcopy(ITEM_ID))
    doc["paths"]["/items/{item_id}/imports/{importId}"] = item


def case(name: str, edit: Edit, pointer: str, message: str) -> Any:
    return pytest.param(edit, pointer, message, id=name)


# fmt: off
REFUSED = [
    # x-poll
    case("poll-not-a-mapping", put(*POLL, value="get_import"), POLL_AT,
         "x-poll must be a mapping: operation, id, status, done (and failed, progress)"),
    case("poll-unknown-key", put(*POLL, "every", value=5), f"{POLL_AT}/every",
         "unknown key; x-poll takes operation, id, status, done, failed, progress"),
    case("poll-unknown-operation", put(*POLL, "operation", value="get_imports"),
         f"{POLL_AT}/operation",
         "no operation 'get_imports' in this spec; name the status operation's operationId"),
    case("poll-operation-not-a-get", put(*POLL, "operation", value="start_import"),
         f"{POLL_AT}/operation", "start_import must be a GET without a body: it is repeated"),
    case("poll-operation-needs-a-query-parameter",
         put(*GET_IMPORT, "parameters", value=[
             {"name": "importId", "in": "path", "required": True, "schema": {"type": "string"}},
             {"name": "verbose", "in": "query", "required": True, "schema": {"type": "boolean"}},
         ]),
         f"{POLL_AT}/operation",
         "get_import needs the query parameter 'verbose', which polling cannot fill"),
    case("poll-operation-needs-another-path-parameter", _nested_import, f"{POLL_AT}/operation",
         "get_import's path parameter 'item_id' is not one of start_import's, so "
         "start_import_and_wait cannot fill it"),
    case("poll-id-not-a-path-parameter", put(*POLL, "id", value="jobId"), f"{POLL_AT}/id",
         "get_import takes no path parameter 'jobId'"),
    case("poll-id-not-in-the-start-response",
         put(*IMPORT, "responses", "202", "content", "application/json", "schema", "required",
             value=[]),
         f"{POLL_AT}/id", "the 202 response of start_import has no required field 'importId'"),
    case("poll-status-not-a-field", put(*POLL, "status", value="phase"), f"{POLL_AT}/status",
         "the status has no field 'phase'"),
    case("poll-progress-not-a-number", put(*POLL, "progress", value="state"),
         f"{POLL_AT}/progress", "the status has no number field 'state'"),
    case("poll-done-missing", drop(*POLL, "done"), f"{POLL_AT}/done",
         "needs a list of the statuses that end the job"),
    case("poll-done-not-a-status", add(*POLL, "done", value="cancelled"), f"{POLL_AT}/done",
         "'cancelled' is not a value of 'state'"),
    case("poll-failed-not-done", put(*POLL, "failed", value=["aborted"]), f"{POLL_AT}/failed",
         "must list statuses of `done`"),
    case("poll-argument-clashes", put(*IMPORT_PARTS, "max_wait", value={"type": "integer"}),
         POLL_AT, "the argument 'max_wait' would clash with start_import_and_wait's own"),
    case("poll-method-name-taken",
         put("paths", "/jobs", value={"get": {"operationId": "start_import_job",
                                              "responses": {"204": {"description": "ok"}}}}),
         "#/paths/~1jobs/get/operationId",
         "operation 'start_import_job' would define 'start_import_job', which operation "
         "'start_import' (POST /imports) defines too; rename it"),
    # multipart bodies
    case("part-an-array", put(*PHOTO_PARTS, "tags", value={"type": "array", "items": {}}),
         f"{PARTS_AT}/schema/properties/tags",
         "a repeated part (an array) is not supported; send it as one JSON part "
         "(encoding contentType: application/json)"),
    case("part-object-as-text", put(*PHOTO_FORM, "encoding", "meta",
                                    value={"contentType": "text/plain"}),
         f"{PARTS_AT}/schema/properties/meta",
         "a part of type object cannot be sent as text/plain"),
    case("encoding-of-no-part", put(*PHOTO_FORM, "encoding", "nope",
                                    value={"contentType": "text/plain"}),
         f"{PARTS_AT}/encoding/nope", "there is no part 'nope'"),
    case("form-not-an-object", put(*PHOTO_FORM, "schema", value={"type": "string"}),
         f"{PARTS_AT}/schema",
         "a multipart/form-data body needs an object schema with properties, one per part"),
    case("part-named-like-a-parameter", put(*PHOTO_PARTS, "item_id", value={"type": "string"}),
         f"{PARTS_AT}/schema/properties/item_id",
         "part 'item_id' would be the argument 'item_id', which path parameter 'item_id' would "
         "be too; rename one"),
    case("part-named-body", move(*PHOTO_PARTS, "caption", to="body"),
         f"{PARTS_AT}/schema/properties/body",
         "part 'body' would be the argument 'body', which the generated methods use themselves; "
         "rename one"),
]
# fmt: on


@pytest.mark.parametrize(("edit", "pointer", "message"), REFUSED)
def test_each_refusal_names_the_pointer(
    edit: Edit, pointer: str, message: str, tmp_path: Path
) -> None:
    doc = copy.deepcopy(INVENTORY)
    edit(doc)
    spec = load_spec(_write(doc, tmp_path / "inventory.yaml"))  # valid OpenAPI all the same
    with pytest.raises(SpecError) as caught:
        build_api(spec)
    assert (caught.value.pointer, caught.value.message) == (pointer, message)


def test_the_fixture_and_the_specs_are_accepted() -> None:
    api = build_api(load_spec(ROOT / "tests" / "golden" / "specs" / "inventory.yaml"))
    [start] = [op for op in api.operations if op.poll]
    assert start.poll is not None
    assert (start.name, start.poll.operation, start.poll.id_attr) == (
        "start_import",
        "get_import",
        "import_id",
    )
    coldsend = build_api(load_spec(ROOT / "specs" / "coldsend.yaml"))
    [upload] = [op for op in coldsend.operations if op.parts]
    assert [(p.wire_name, p.kind, p.content_type, p.required) for p in upload.parts] == [
        ("file", "file", "text/csv", True),
        ("mapping", "json", "application/json", False),
    ]


def test_a_multipart_form_is_arguments_not_a_model() -> None:
    api = build_api(load_spec(ROOT / "tests" / "golden" / "specs" / "inventory.yaml"))
    pointers = {model.pointer for model in api.models}
    assert not [p for p in pointers if p.endswith("multipart~1form-data/schema")]
    assert "#/components/schemas/PhotoMeta" in pointers  # a JSON part's model stays


def test_part_defaults_follow_openapi(tmp_path: Path) -> None:
    """No encoding: a binary string is a file (octet-stream, or its contentMediaType), an
    object JSON, a scalar text."""
    api = build_api(load_spec(ROOT / "tests" / "golden" / "specs" / "inventory.yaml"))
    [photo] = [op for op in api.operations if op.name == "upload_photo"]
    kinds = {p.python_name: (p.kind, p.content_type) for p in photo.parts}
    assert kinds == {
        "image": ("file", "image/png"),
        "caption": ("text", "text/plain"),
        "taken_at": ("text", "text/plain"),
        "meta": ("json", "application/json"),
        "thumbnail": ("file", "application/octet-stream"),
    }
    doc = copy.deepcopy(INVENTORY)
    edits(drop(*PHOTO_FORM, "encoding"))(doc)
    again = build_api(load_spec(_write(doc, tmp_path / "inventory.yaml")))
    [photo] = [op for op in again.operations if op.name == "upload_photo"]
    assert photo.parts[0].content_type == "image/png"  # the contentMediaType
