"""The generator's x-upload and x-sandbox reads: each refusal names its pointer; what is read
reaches the client (for the loader) and contract.py (for the sandbox)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from leadkit.apis.coldsend import client as coldsend_client
from leadkit.apis.coldsend import models
from leadkit.apis.coldsend.contract import CONTRACT
from leadkit.codegen.build import build_api
from leadkit.codegen.contract import contract
from leadkit.codegen.errors import SpecError
from leadkit.codegen.load import load_spec
from tests.codegen.test_diff import Edit, _write, drop, edits, put

ROOT = Path(__file__).resolve().parents[2]
COLDSEND = load_spec(ROOT / "specs" / "coldsend.yaml").document

UPLOAD = ("paths", "/api/public/v1/campaigns/{campaign_id}/leads", "post")
AT = "#/paths/~1api~1public~1v1~1campaigns~1{campaign_id}~1leads/post/x-upload"
DECLARED = (*UPLOAD, "x-upload")
ADD_LEAD = ("paths", "/api/public/v1/campaigns/{campaign_id}/leads/manual", "post")
SCHEMAS = ("components", "schemas")


def case(name: str, edit: Edit, pointer: str, message: str) -> Any:
    return pytest.param(edit, pointer, message, id=name)


# fmt: off
REFUSED = [
    case("not-a-mapping", put(*DECLARED, value="add_lead"), AT,
         "x-upload must be a mapping of creates, file, mapping, format, max-rows, max-bytes, "
         "statuses, counts, errors"),
    case("unknown-key", put(*DECLARED, "chunk", value=5), f"{AT}/chunk",
         "unknown key; x-upload takes creates, file, mapping, format, max-rows, max-bytes, "
         "statuses, counts, errors"),
    case("no-poll", drop(*UPLOAD, "x-poll"), AT,
         "an upload is a job: declare x-poll on the operation too"),
    case("creates-unknown", put(*DECLARED, "creates", value="add_leads"), f"{AT}/creates",
         "no operation 'add_leads'; name the create's operationId"),
    case("creates-a-get", put(*DECLARED, "creates", value="get_lead"), f"{AT}/creates",
         "get_lead must be a POST whose body is an object"),
    case("creates-without-dedupe", drop(*ADD_LEAD, "x-dedupe"), f"{AT}/creates",
         "add_lead needs an x-dedupe on a required field: a row uploaded again is recognised "
         "by it"),
    case("creates-dedupe-optional",
         edits(put(*ADD_LEAD, "x-dedupe", "field", value="company"),
               put(*SCHEMAS, "ManualLeadRequest", "required", value=["email"])),
         f"{AT}/creates",
         "add_lead needs an x-dedupe on a required field: a row uploaded again is recognised "
         "by it"),
    case("file-not-a-file-part", put(*DECLARED, "file", value="mapping"), f"{AT}/file",
         "upload_leads has no file part 'mapping'"),
    case("mapping-not-a-json-part", put(*DECLARED, "mapping", value="file"), f"{AT}/mapping",
         "upload_leads has no JSON part 'file'"),
    case("mapping-names-another-field",
         put(*SCHEMAS, "LeadUploadMapping", "properties", "phone", value={"type": "string"}),
         f"{AT}/mapping", "the mapping's field 'phone' is not a field of add_lead"),
    case("format", put(*DECLARED, "format", value="xlsx"), f"{AT}/format", "must be one of csv"),
    case("max-rows", put(*DECLARED, "max-rows", value=0), f"{AT}/max-rows",
         "must be a positive integer, not 0"),
    case("max-bytes", put(*DECLARED, "max-bytes", value="50 MB"), f"{AT}/max-bytes",
         "must be a positive integer, not '50 MB'"),
    case("statuses-missing-a-phase", drop(*DECLARED, "statuses", "validating"),
         f"{AT}/statuses",
         "must give the status of each of queued, validating, running, completed, failed"),
    case("statuses-running-ends-the-job", put(*DECLARED, "statuses", "running", value="COMPLETED"),
         f"{AT}/statuses/running", "'COMPLETED' ends the job by x-poll's done/failed"),
    case("statuses-completed-does-not-end", put(*DECLARED, "statuses", "completed", value="DONE"),
         f"{AT}/statuses/completed", "'DONE' does not end the job by x-poll's done/failed"),
    case("counts-missing-duplicates", drop(*DECLARED, "counts", "duplicates"), f"{AT}/counts",
         "must name the status fields of total, created, duplicates, errors at least"),
    case("counts-not-an-integer", put(*DECLARED, "counts", "created", value="status"),
         f"{AT}/counts/created", "the status has no integer field 'status'"),
    case("counts-unknown", put(*DECLARED, "counts", "skipped", value="error_count"),
         f"{AT}/counts/skipped",
         "unknown count; name total, processed, created, duplicates, errors, percentage, "
         "started, completed"),
    case("errors-not-a-list", put(*DECLARED, "errors", "field", value="status"),
         f"{AT}/errors/field", "the status has no list field 'status'"),
    case("errors-row-keys", put(*DECLARED, "errors", "row", value=[]), f"{AT}/errors/row",
         "must be a non-empty list of item keys"),
    case("errors-first-row", put(*DECLARED, "errors", "first-row", value=-1),
         f"{AT}/errors/first-row", "must be 0 or more, not -1"),
    case("reads-not-a-get", put("x-sandbox", "reads", value={"add_lead": "lead_id"}),
         "#/x-sandbox/reads/add_lead", "no GET operation 'add_lead' in this spec"),
    case("reads-not-a-parameter", put("x-sandbox", "reads", value={"get_lead": "id"}),
         "#/x-sandbox/reads/get_lead", "get_lead has no path parameter 'id'"),
    case("reads-not-a-property", put("x-sandbox", "reads", value={"get_upload_progress": "job_id"}),
         "#/x-sandbox/reads/get_upload_progress",
         "no record a create stores has a property 'job_id'"),
]
# fmt: on


@pytest.mark.parametrize(("edit", "pointer", "message"), REFUSED)
def test_each_refusal_names_the_pointer(
    edit: Edit, pointer: str, message: str, tmp_path: Path
) -> None:
    doc = copy.deepcopy(COLDSEND)
    edit(doc)
    spec = load_spec(_write(doc, tmp_path / "coldsend.yaml"))  # valid OpenAPI all the same
    with pytest.raises(SpecError) as caught:
        build_api(spec)
    assert (caught.value.pointer, caught.value.message) == (pointer, message)


def test_the_declaration_reaches_the_client_for_the_loader() -> None:
    upload = coldsend_client.ADD_LEAD_UPLOAD
    assert upload.operation is coldsend_client.UPLOAD_LEADS
    assert upload.creates is coldsend_client.ADD_LEAD
    assert upload.poll is coldsend_client.UPLOAD_LEADS_POLL
    assert (upload.job_id, upload.file, upload.mapping) == ("job_id", "file", "mapping")
    assert (upload.max_rows, upload.max_bytes) == (10_000, 50 * 2**20)
    counts = upload.counts
    assert (counts.total, counts.created, counts.duplicates, counts.errors) == (
        "total_count",
        "success_count",
        "duplicate_count",
        "error_count",
    )
    assert {a.name for a in models.LeadUploadProgress.__attrs_attrs__} >= {
        counts.total,
        counts.created,
        counts.duplicates,
        counts.errors,
        upload.errors,
    }
    assert (upload.error_row[0], upload.error_message[0], upload.first_row) == ("row", "message", 1)


def test_the_declaration_reaches_the_contract_for_the_sandbox() -> None:
    [upload] = [op["upload"] for op in CONTRACT["operations"] if op.get("upload")]
    assert upload["creates"] == "add_lead"
    assert upload["statuses"] == {
        "queued": "PENDING",
        "validating": "VALIDATING",
        "running": "IN_PROGRESS",
        "completed": "COMPLETED",
        "failed": "FAILED",
    }
    assert upload["poll"] == {
        "operation": "get_upload_progress",
        "id": "job_id",
        "status": "status",
    }
    assert upload["errors"]["field"] == "errors"
    [add_lead] = [op for op in CONTRACT["operations"] if op["name"] == "add_lead"]
    assert add_lead["extra_columns"] == "custom_fields"
    assert CONTRACT["x-sandbox"]["reads"] == {"get_lead": "lead_id"}


def test_a_spec_without_x_upload_has_none(tmp_path: Path) -> None:
    doc = copy.deepcopy(COLDSEND)
    del doc["paths"][UPLOAD[1]]["post"]["x-upload"]
    api = build_api(load_spec(_write(doc, tmp_path / "coldsend.yaml")))
    assert api.uploads == ()
    assert not [op for op in contract(api)["operations"] if "upload" in op]
