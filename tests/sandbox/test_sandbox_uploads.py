"""The sandbox serves Coldsend's CSV upload from the spec's x-upload: a job per file, through
its documented statuses, with counts, per-row errors and duplicates; get_lead sees the leads."""

from __future__ import annotations

import copy
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from leadkit.apis.coldsend import (
    APIStatusError,
    ColdsendClient,
    JobFailedError,
    NotFoundError,
    models,
)
from leadkit.apis.coldsend.contract import CONTRACT
from leadkit.runtime import PollPolicy
from leadkit.sandbox import FaultConfig, Sandbox, SandboxConfig
from leadkit.sandbox.spec import read_api

KEY = "cs_live_upload_test"
FAST = PollPolicy(first=0.0, factor=1.0, cap=0.01)
UPLOAD_PATH = "/api/public/v1/campaigns/{}/leads"


def campaign() -> str:
    return str(uuid.uuid4())


def csv_file(*rows: str, header: str = "Email,First Name,Company,Job Title") -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


@pytest.fixture
async def fast() -> AsyncIterator[Sandbox]:
    """A sandbox whose jobs run 1,000 times faster than real time."""
    async with Sandbox(SandboxConfig(time_scale=1000, rate_limits=False)) as sandbox:
        yield sandbox


def client(sandbox: Sandbox) -> ColdsendClient:
    return ColdsendClient(api_key=KEY, base_url=sandbox.base_url("coldsend"), rate_limit=False)


MAPPING = {"email": "Email", "first_name": "First Name", "company": "Company"}


async def test_a_job_goes_through_the_documented_statuses_to_its_counts() -> None:
    """100 rows at 50 per sandbox second, twice real time: a second of IN_PROGRESS, polled
    every few milliseconds."""
    config = SandboxConfig(time_scale=2, rate_limits=False, upload_rate=50)
    rows = [f"s{i}@example.com,Ada,Engines,CTO" for i in range(100)]
    seen: list[tuple[str, int]] = []
    async with Sandbox(config) as sandbox, client(sandbox) as coldsend:
        final = await coldsend.upload_leads_and_wait(
            campaign(),
            file=csv_file(*rows),
            mapping=MAPPING,
            polling=FAST,
            on_progress=lambda s: seen.append((s.status, s.progress_percentage)),
        )
        stats = dict(sandbox.stats)
    statuses = [status for i, (status, _) in enumerate(seen) if i == 0 or seen[i - 1][0] != status]
    assert statuses == ["PENDING", "VALIDATING", "IN_PROGRESS", "COMPLETED"]
    progress = [percent for _, percent in seen]
    assert progress == sorted(progress) and set(progress) - {0, 100}, "it moves in between"
    assert (final.total_count, final.processed_count, final.success_count) == (100, 100, 100)
    assert (final.duplicate_count, final.error_count, final.errors) == (0, 0, [])
    assert final.started_at is not None and final.completed_at is not None
    assert (stats["uploads"], stats["created"], stats["polls"]) == (1, 100, len(seen))


async def test_mapped_columns_are_fields_the_others_custom_fields_and_get_lead_reads_them(
    fast: Sandbox,
) -> None:
    here, elsewhere = campaign(), campaign()
    async with client(fast) as coldsend:
        final = await coldsend.upload_leads_and_wait(
            here,
            file=csv_file("ada@example.com,Ada,Engines,CTO", header="E-mail,Given,Org,Job Title"),
            mapping={"email": "E-mail", "first_name": "Given"},
            polling=FAST,
        )
        assert final.success_count == 1
        [stored] = fast.leads("coldsend")
        assert (stored["email"], stored["first_name"], stored["campaign_id"]) == (
            "ada@example.com",
            "Ada",
            here,
        )
        assert stored["custom_fields"] == {"Org": "Engines", "Job Title": "CTO"}
        lead = await coldsend.get_lead(here.upper(), stored["lead_id"])
        assert isinstance(lead, models.LeadDetail)
        assert (str(lead.lead_id), lead.email, lead.custom_fields) == (
            stored["lead_id"],
            "ada@example.com",
            {"Org": "Engines", "Job Title": "CTO"},
        )
        for other in ((elsewhere, stored["lead_id"]), (here, str(uuid.uuid4()))):
            with pytest.raises(NotFoundError):
                await coldsend.get_lead(*other)


async def test_refused_rows_are_errors_with_their_numbers_and_duplicates_are_counted(
    fast: Sandbox,
) -> None:
    here = campaign()
    rows = [
        "ada@example.com,Ada,Engines,CTO",  # 1: created
        ",No,Email,Here",  # 2: refused, no email
        "ADA@example.com ,Ada again,,",  # 3: a duplicate within the file
        "grace@example.com,Grace,Navy,Admiral",  # 4: the campaign has her already
        "linus@example.com,Linus,Kernel,Dev,one cell too many",  # 5: refused
        "barbara@example.com,,,",  # 6: created
    ]
    async with client(fast) as coldsend:
        await coldsend.add_lead(here, body={"email": "Grace@example.com"})
        final = await coldsend.upload_leads_and_wait(
            here, file=csv_file(*rows), mapping=MAPPING, polling=FAST
        )
    counts = (final.total_count, final.success_count, final.duplicate_count, final.error_count)
    assert counts == (6, 2, 2, 2)
    assert final.errors == [
        {"row": 2, "message": "email: required"},
        {"row": 5, "email": "linus@example.com", "message": "5 cells, the header has 4 columns"},
    ]
    stored = sorted(lead["email"] for lead in fast.leads("coldsend"))
    assert stored == ["Grace@example.com", "ada@example.com", "barbara@example.com"]


async def test_a_file_that_cannot_be_rows_fails_its_job_with_the_reason(fast: Sandbox) -> None:
    cases = {
        csv_file("ada@example.com", header="Mail"): "the file has no column for email",
        b"": "the file is empty: it needs a header row",
        b"Email\n\xff\xfe@example.com\n": "the file is not UTF-8 text (byte 6)",
    }
    async with client(fast) as coldsend:
        for file, reason in cases.items():
            with pytest.raises(JobFailedError) as failed:
                await coldsend.upload_leads_and_wait(campaign(), file=file, polling=FAST)
            status = failed.value.status
            assert status.status == "FAILED" and status.completed_at is not None
            [item] = status.errors
            assert item["message"].startswith(reason)
        with pytest.raises(JobFailedError) as failed:
            mapped = {"email": "E-mail"}  # the file's column is Email
            await coldsend.upload_leads_and_wait(
                campaign(), file=csv_file("a@example.com,,,"), mapping=mapped, polling=FAST
            )
        assert failed.value.status.errors == [
            {"message": "the mapping's email is the column 'E-mail', which the file does not have"}
        ]
    assert fast.leads("coldsend") == []


def limited(**limits: int) -> Any:
    """Coldsend's contract with the upload's limits changed."""
    contract = copy.deepcopy(CONTRACT)
    [upload] = [op["upload"] for op in contract["operations"] if op.get("upload")]
    upload.update(limits)
    return read_api("coldsend", contract)


@pytest.mark.parametrize(
    ("limits", "said"),
    [
        ({"max_rows": 2}, "the file has 3 rows, over the limit of 2"),
        ({"max_bytes": 100}, "the file is over the limit of 100 bytes"),
    ],
)
async def test_a_file_over_a_limit_is_refused_with_413_and_starts_nothing(
    limits: dict[str, int], said: str
) -> None:
    rows = [
        f"r{i}@example.com,Ada,Analytical Engines Ltd,Chief Technology Officer" for i in range(3)
    ]
    async with Sandbox(SandboxConfig(rate_limits=False), apis=(limited(**limits),)) as sandbox:
        async with client(sandbox) as coldsend:
            with pytest.raises(APIStatusError) as refused:
                await coldsend.upload_leads(campaign(), file=csv_file(*rows), mapping=MAPPING)
        assert (refused.value.status, refused.value.body) == (413, models.HTTPError(detail=said))
        assert sandbox.stats["uploads"] == 0 and sandbox.stats["status:413"] == 1


async def _post(sandbox: Sandbox, data: Any, path: str | None = None) -> tuple[int, Any]:
    url = sandbox.base_url("coldsend") + (path or UPLOAD_PATH.format(campaign()))
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=data, headers={"X-API-Key": KEY}) as response,
    ):
        return response.status, await response.json()


def form(**parts: tuple[bytes | str, str]) -> aiohttp.FormData:
    data = aiohttp.FormData(quote_fields=False)
    for name, (value, content_type) in parts.items():
        filename = "leads.csv" if name == "file" else None
        data.add_field(name, value, content_type=content_type, filename=filename)
    return data


async def test_a_request_that_is_not_an_upload_form_is_a_422_in_the_apis_words(
    fast: Sandbox,
) -> None:
    cases = [
        (form(mapping=('{"email": "Email"}', "application/json")), ["body", "file"], "missing"),
        (
            form(file=(csv_file(), "text/csv"), mapping=("{email", "application/json")),
            ["body", 0],
            "json_invalid",
        ),
        (
            form(file=(csv_file(), "text/csv"), mapping=('{"email": 5}', "application/json")),
            ["body", "mapping", "email"],
            "string_type",
        ),
        (b'{"file": "x"}', ["body"], "model_attributes_type"),
    ]
    for data, loc, kind in cases:
        status, body = await _post(fast, data)
        assert status == 422, body
        [item] = body["detail"]
        assert (item["loc"], item["type"]) == (loc, kind)
    status, body = await _post(fast, form(file=(csv_file(), "text/csv")), UPLOAD_PATH.format("x"))
    assert (status, body["detail"][0]["loc"]) == (422, ["path", "campaign_id"])
    assert fast.stats["uploads"] == 0


async def test_a_form_part_with_a_broken_header_is_a_422_not_a_500(fast: Sandbox) -> None:
    """A part header with a control character, as schemathesis sends: refused as the body."""
    body = b'--b\r\nContent-Disposition: form-data; name="\xf1\x03"\r\n\r\nnull\r\n--b--\r\n'
    url = fast.base_url("coldsend") + UPLOAD_PATH.format(campaign())
    headers = {"X-API-Key": KEY, "Content-Type": "multipart/form-data; boundary=b"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers=headers) as response,
    ):
        status, answer = response.status, await response.json()
    assert status == 422, answer
    [item] = answer["detail"]
    assert (item["loc"], item["type"]) == (["body"], "model_attributes_type")
    assert fast.stats["uploads"] == 0


async def test_the_status_of_a_job_it_does_not_have_is_a_404(fast: Sandbox) -> None:
    here = campaign()
    async with client(fast) as coldsend:
        accepted = await coldsend.upload_leads(here, file=csv_file("a@example.com,,,"))
        assert (await coldsend.upload_leads_job(here, accepted.job_id)).status == "COMPLETED"
        for where in ((campaign(), accepted.job_id), (here, uuid.uuid4())):
            with pytest.raises(NotFoundError) as unknown:
                await coldsend.get_upload_progress(*where)
            assert unknown.value.body == models.HTTPError(detail="Upload job not found")
        fast.reset()
        with pytest.raises(NotFoundError):
            await coldsend.get_upload_progress(here, accepted.job_id)


async def _status(method: str, url: str, data: Any = None) -> int | None:
    """The status of one request on a connection of its own; None when it was dropped."""
    async with aiohttp.ClientSession() as session:
        try:
            async with session.request(method, url, data=data, headers={"X-API-Key": KEY}) as r:
                return r.status
        except aiohttp.ClientError:
            return None


@pytest.mark.parametrize("fault", ["error_5xx", "malformed", "drop_before", "drop_after"])
async def test_faults_apply_to_the_upload_and_to_the_poll(fault: str) -> None:
    config = SandboxConfig(
        time_scale=1000, rate_limits=False, faults=FaultConfig(seed=3, **{fault: 1.0})
    )
    async with Sandbox(config) as sandbox:
        url = sandbox.base_url("coldsend") + UPLOAD_PATH.format(campaign())
        data = form(file=(csv_file("ada@example.com,Ada,,"), "text/csv"))
        uploaded = await _status("POST", url, data)
        assert sandbox.stats[f"fault:{fault}"] == 1
        assert sandbox.stats["uploads"] == (fault == "drop_after"), "taken, the answer lost"
        [job] = sandbox.state.jobs.jobs or [str(uuid.uuid4())]  # an unknown one: a 404
        polled = await _status("GET", f"{url}/upload/{job}")  # aiohttp repeats a dropped GET
        assert sandbox.stats[f"fault:{fault}"] >= 2
    dropped = fault.startswith("drop")
    for status in (uploaded, polled):
        assert status in ((None,) if dropped else (500, 502, 503))
