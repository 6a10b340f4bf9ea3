"""bulk_upload against the sandbox: chunks within the limits, every row accounted for from its
job's final status, the journal's chunks and jobs, a stop, and the faults of the upload."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import attrs
import pytest

from leadkit.apis.coldsend.client import ADD_LEAD_UPLOAD, ColdsendClient
from leadkit.apis.coldsend.contract import CONTRACT
from leadkit.bulk import (
    NOT_SENT_REASON,
    Outcome,
    RowResult,
    bulk_upload,
    input_fields,
    open_input,
)
from leadkit.bulk import uploads as uploads_module
from leadkit.runtime import PollPolicy
from leadkit.sandbox import FaultConfig, Sandbox, SandboxConfig
from leadkit.sandbox.spec import read_api
from tests.waiting import eventually

KEY = "cs_live_bulk_upload"
FAST = PollPolicy(first=0.0, factor=1.0, cap=0.02)


def config(**options: Any) -> SandboxConfig:
    return SandboxConfig(time_scale=1000, rate_limits=False, **options)


def coldsend(sandbox: Sandbox) -> ColdsendClient:
    return ColdsendClient(api_key=KEY, base_url=sandbox.base_url("coldsend"), rate_limit=False)


async def upload(
    sandbox: Sandbox, rows: Any, campaign: str, **options: Any
) -> tuple[list[RowResult], Any]:
    """Every result of a bulk upload of `rows`, and its summary."""
    options.setdefault("polling", FAST)
    declared = options.pop("upload", ADD_LEAD_UPLOAD)
    async with coldsend(sandbox) as client:
        run = bulk_upload(client, declared, rows, path_params={"campaign_id": campaign}, **options)
        results = [result async for result in run]
    assert sorted(r.index for r in results) == list(range(len(results))), "one result per row"
    return results, run.summary


def leads(n: int, prefix: str = "lead") -> list[dict[str, Any]]:
    return [{"email": f"{prefix}{i}@example.com", "first_name": "Ada"} for i in range(n)]


async def test_rows_go_in_chunks_of_the_declared_rows_each_a_job() -> None:
    campaign = str(uuid.uuid4())
    small = attrs.evolve(ADD_LEAD_UPLOAD, max_rows=40)
    async with Sandbox(config()) as sandbox:
        results, summary = await upload(sandbox, leads(100), campaign, upload=small)
        stored = Counter(lead["email"] for lead in sandbox.leads("coldsend"))
        uploads = sandbox.stats["uploads"]
    assert uploads == 3 and summary.counts[Outcome.CREATED] == 100
    assert stored == Counter(f"lead{i}@example.com" for i in range(100))
    jobs = Counter(result.job for result in results)
    assert sorted(jobs.values()) == [20, 40, 40] and None not in jobs


async def test_invalid_rows_and_copies_are_reported_by_line_and_never_uploaded(
    tmp_path: Path,
) -> None:
    source = tmp_path / "leads.csv"
    source.write_text(
        "Email,First Name,Job Title\n"
        "ada@example.com,Ada,CTO\n"  # line 2
        ",No email,\n"  # line 3: invalid
        "ADA@example.com,Ada again,\n"  # line 4: a copy of line 2
        "grace@example.com,Grace,Admiral\n"  # line 5: the campaign has her already
        "linus@example.com,Linus,\n",
        encoding="utf-8",
    )
    campaign = str(uuid.uuid4())
    fields = input_fields(ColdsendClient.api, ADD_LEAD_UPLOAD.creates)
    async with Sandbox(config()) as sandbox:
        async with coldsend(sandbox) as client:
            await client.add_lead(campaign, body={"email": "grace@example.com"})
        results, summary = await upload(
            sandbox,
            open_input(source, fields),
            campaign,
            failures_out=tmp_path / "failed.csv",
        )
        stored = sorted(lead["email"] for lead in sandbox.leads("coldsend"))
    by_line = {result.line: result for result in results}
    assert (by_line[3].outcome, by_line[3].error) == (
        Outcome.INVALID,
        "required field missing @ $.email",
    )
    assert (by_line[4].outcome, by_line[4].error) == (
        Outcome.SKIPPED_DUPLICATE,
        "same key as line 2",
    )
    for line in (2, 5, 6):  # the job counted grace as a duplicate, without saying which row
        assert by_line[line].outcome is Outcome.CREATED_OR_EXISTS
    assert stored == ["ada@example.com", "grace@example.com", "linus@example.com"]
    assert (tmp_path / "failed.csv").read_text(encoding="utf-8").splitlines() == [
        "Email,First Name,Job Title,line,error",
        ",No email,,3,required field missing @ $.email",
    ]
    assert summary.counts[Outcome.CREATED_OR_EXISTS] == 3


def refusing(*, required: list[str] | None = None, longest_name: int | None = None) -> Any:
    """Coldsend's contract, its sandbox stricter than the spec the client was made from."""
    contract = copy.deepcopy(CONTRACT)
    request = contract["refs"]["components"]["schemas"]["ManualLeadRequest"]
    if required is not None:
        request["required"] = required
    if longest_name is not None:
        request["properties"]["first_name"]["maxLength"] = longest_name
    return read_api("coldsend", contract)


async def test_rows_the_job_refuses_fail_with_its_reason_and_the_rest_are_created(
    tmp_path: Path,
) -> None:
    """A server stricter than the spec: first names of at most 5 characters."""
    rows = [{"email": "ada@example.com", "first_name": "Ada"}]
    rows += [{"email": "margaret@example.com", "first_name": "Margaret"}]
    rows += [{"email": "grace@example.com"}]
    strict = refusing(longest_name=5)
    async with Sandbox(config(), apis=(strict,)) as sandbox:
        results, _ = await upload(
            sandbox, rows, str(uuid.uuid4()), failures_out=tmp_path / "failed.jsonl"
        )
    outcomes = {result.index: (result.outcome, result.error) for result in results}
    assert outcomes == {
        0: (Outcome.CREATED, None),
        1: (Outcome.FAILED, "first_name: 'Margaret' is too long"),
        2: (Outcome.CREATED, None),
    }
    [failed] = [json.loads(line) for line in (tmp_path / "failed.jsonl").read_text().splitlines()]
    assert failed["email"] == "margaret@example.com"
    assert failed["_leadkit"]["reason"] == "first_name: 'Margaret' is too long"


async def test_a_failed_job_fails_each_of_its_rows_with_its_reason() -> None:
    """A server that needs a column the loader's file does not have (no row gives one)."""
    strict = refusing(required=["email", "company"])
    async with Sandbox(config(), apis=(strict,)) as sandbox:
        results, summary = await upload(sandbox, leads(3), str(uuid.uuid4()))
    assert summary.counts[Outcome.FAILED] == 3
    [reason] = {result.error for result in results}
    assert reason is not None
    assert " ended FAILED: the file has no column for company (its header: " in reason


async def test_an_upload_whose_answer_is_lost_is_uploaded_again_and_nothing_is_stored_twice() -> (
    None
):
    """The sandbox stores the first upload's rows and drops its answer (seeded: that request
    alone); the second upload's job counts each row a duplicate."""
    faults = FaultConfig(seed=2, drop_after=0.1)  # the first request, then none of the next 24
    polling = PollPolicy(first=0.05, cap=0.1)  # a handful of polls
    async with Sandbox(config(faults=faults)) as sandbox:
        results, _ = await upload(sandbox, leads(30), str(uuid.uuid4()), polling=polling)
        stored = Counter(lead["email"] for lead in sandbox.leads("coldsend"))
        stats = dict(sandbox.stats)
    assert (stats["fault:drop_after"], stats["uploads"]) == (1, 2)
    assert set(stored.values()) == {1} and len(stored) == 30
    assert {result.outcome for result in results} == {Outcome.CREATED_OR_EXISTS}


async def _stopped_while_its_job_runs(
    sandbox: Sandbox, client: ColdsendClient, rows: Any, campaign: str, journal: Path
) -> list[RowResult]:
    """The results of a run stopped (no grace) once its job has been polled."""
    run = bulk_upload(
        client,
        ADD_LEAD_UPLOAD,
        rows,
        path_params={"campaign_id": campaign},
        journal=journal,
        polling=FAST,
    )
    results: list[RowResult] = []

    async def consume() -> None:
        async for result in run:
            results.append(result)

    consumer = asyncio.create_task(consume())
    await eventually(lambda: sandbox.stats["polls"] >= 1, "a poll of the job")
    run.stop(0.0, "stopped by the test")
    await consumer
    assert run.summary.stop_reason == "stopped by the test"
    return results


async def test_a_rerun_with_the_journal_waits_for_the_job_instead_of_uploading_again(
    tmp_path: Path,
) -> None:
    """The first run stops while its job runs (20 rows a second); the second polls that job,
    uploads nothing, and resumes every row from the journal."""
    journal, campaign, rows = tmp_path / "j.sqlite", str(uuid.uuid4()), leads(40)
    slow = SandboxConfig(rate_limits=False, upload_rate=20)
    async with Sandbox(slow) as sandbox, coldsend(sandbox) as client:
        first = await _stopped_while_its_job_runs(sandbox, client, rows, campaign, journal)
        [job] = {result.job for result in first}
        assert {result.error for result in first} == {
            f"its upload job {job} was still running when the load stopped; a rerun with the "
            "journal waits for it"
        }
        second = bulk_upload(
            client,
            ADD_LEAD_UPLOAD,
            rows,
            path_params={"campaign_id": campaign},
            journal=journal,
            polling=FAST,
        )
        again = [result async for result in second]
        stats = dict(sandbox.stats)
        stored = Counter(lead["email"] for lead in sandbox.leads("coldsend"))
    assert stats["uploads"] == 1, "the job was waited for, not uploaded again"
    assert sorted(result.index for result in again) == list(range(40))
    assert {(r.outcome, r.resumed) for r in again} == {(Outcome.CREATED, True)}
    assert set(stored.values()) == {1} and len(stored) == 40


async def test_a_job_the_server_forgot_is_uploaded_again(tmp_path: Path) -> None:
    journal, campaign, rows = tmp_path / "j.sqlite", str(uuid.uuid4()), leads(40)
    slow = SandboxConfig(rate_limits=False, upload_rate=20)
    async with Sandbox(slow) as sandbox, coldsend(sandbox) as client:
        await _stopped_while_its_job_runs(sandbox, client, rows, campaign, journal)
        sandbox.reset()  # a restarted server: no jobs, no leads
        run = bulk_upload(
            client,
            ADD_LEAD_UPLOAD,
            rows,
            path_params={"campaign_id": campaign},
            journal=journal,
            polling=PollPolicy(first=0.2, cap=0.5),
        )
        again = [result async for result in run]
        stats = dict(sandbox.stats)
    assert stats["uploads"] == 1 and stats["status:404"] == 1
    assert {(r.outcome, r.resumed) for r in again} == {(Outcome.CREATED, False)}


async def test_a_stop_leaves_running_jobs_to_a_rerun_and_reports_unsent_rows_not_sent(
    tmp_path: Path,
) -> None:
    """Chunks of 2 rows, one upload at a time, 2 rows a second: stopped while the first job
    runs, its rows wait for a rerun; the next chunk, full and waiting for its turn, and the row
    read after it were never sent; the rest were not read."""
    journal, campaign = tmp_path / "j.sqlite", str(uuid.uuid4())
    pairs = attrs.evolve(ADD_LEAD_UPLOAD, max_rows=2)
    async with Sandbox(SandboxConfig(rate_limits=False, upload_rate=2)) as sandbox:
        async with coldsend(sandbox) as client:
            run = bulk_upload(
                client,
                pairs,
                leads(10),
                path_params={"campaign_id": campaign},
                journal=journal,
                uploads=1,
                polling=FAST,
            )
            results: list[RowResult] = []

            async def consume() -> None:
                async for result in run:
                    results.append(result)

            consumer = asyncio.create_task(consume())
            await eventually(lambda: sandbox.stats["polls"] >= 1, "a poll of the first job")
            run.stop(0.0, "stopped by the test")
            await consumer
        assert sandbox.stats["uploads"] == 1
    reasons = {r.index: r.error for r in results}
    [job] = {r.job for r in results if r.job}
    running = f"its upload job {job} was still running when the load stopped; a rerun with "
    assert reasons == {
        0: running + "the journal waits for it",
        1: running + "the journal waits for it",
        2: NOT_SENT_REASON,
        3: NOT_SENT_REASON,
        4: NOT_SENT_REASON,
    }
    assert run.summary.unread_from == 5


async def test_a_refused_key_stops_the_run_and_fails_the_chunk() -> None:
    async with Sandbox(config()) as sandbox:
        client = ColdsendClient(api_key="wrong", base_url=sandbox.base_url("coldsend"))
        async with client:
            run = bulk_upload(
                client, ADD_LEAD_UPLOAD, leads(5), path_params={"campaign_id": str(uuid.uuid4())}
            )
            results = [result async for result in run]
    assert {r.outcome for r in results} == {Outcome.FAILED}
    assert run.summary.stop_reason.startswith("stopped after a fatal error: ")
    assert "401" in run.summary.stop_reason


async def test_a_dry_run_checks_every_row_and_uploads_none() -> None:
    async with Sandbox(config()) as sandbox:
        _, summary = await upload(
            sandbox, [*leads(5), {"email": 5}], str(uuid.uuid4()), dry_run=True
        )
        assert sandbox.stats["uploads"] == 0
    assert (summary.counts[Outcome.VALID], summary.counts[Outcome.INVALID]) == (5, 1)


async def test_a_failures_file_that_cannot_be_opened_frees_the_upload_journal(
    tmp_path: Path,
) -> None:
    journal, params = tmp_path / "j", {"campaign_id": str(uuid.uuid4())}
    async with Sandbox(config()) as sandbox, coldsend(sandbox) as client:
        with pytest.raises(ValueError, match=r"name it \.jsonl"):
            bulk_upload(client, ADD_LEAD_UPLOAD, leads(2), path_params=params, journal=journal,
                        failures_out=tmp_path / "failures.csv")  # fmt: skip
        again = bulk_upload(
            client, ADD_LEAD_UPLOAD, leads(2), path_params=params, journal=journal, polling=FAST
        )
        assert [r.outcome async for r in again] == [Outcome.CREATED] * 2, "the lock was freed"


async def test_an_upload_run_can_be_iterated_only_once() -> None:
    async with Sandbox(config()) as sandbox, coldsend(sandbox) as client:
        params = {"campaign_id": str(uuid.uuid4())}
        run = bulk_upload(client, ADD_LEAD_UPLOAD, leads(2), path_params=params, dry_run=True)
        assert [r.outcome async for r in run] == [Outcome.VALID] * 2
        with pytest.raises(RuntimeError, match=r"^an UploadRun can be iterated only once$"):
            aiter(run)


async def test_a_jobs_rows_are_reported_as_the_consumer_takes_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At most `_QUEUED_RESULTS` (here 8) results wait for the consumer: a chunk of 200
    rows is not reported all at once when its job ends."""
    monkeypatch.setattr(uploads_module, "_QUEUED_RESULTS", 8)
    async with Sandbox(config()) as sandbox, coldsend(sandbox) as client:
        campaign = {"campaign_id": str(uuid.uuid4())}
        run = bulk_upload(client, ADD_LEAD_UPLOAD, leads(200), path_params=campaign, polling=FAST)
        waiting, outcomes = [], Counter[Outcome]()
        async for result in run:
            waiting.append(run._queue.qsize())
            outcomes[result.outcome] += 1
            await asyncio.sleep(0)  # the chunk's report runs on meanwhile
    assert outcomes == {Outcome.CREATED: 200}
    assert max(waiting) <= 8


async def test_a_consumer_that_leaves_mid_report_still_has_each_row_counted_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The rows of an ended job not reported when the consumer leaves fail, saying so."""
    monkeypatch.setattr(uploads_module, "_QUEUED_RESULTS", 8)
    async with Sandbox(config()) as sandbox, coldsend(sandbox) as client:
        campaign = {"campaign_id": str(uuid.uuid4())}
        failures = tmp_path / "failed.jsonl"
        run = bulk_upload(
            client,
            ADD_LEAD_UPLOAD,
            leads(200),
            path_params=campaign,
            polling=FAST,
            failures_out=failures,
        )
        async with contextlib.aclosing(aiter(run)) as results:  # leaves at once
            async for result in results:
                if result.index == 49:
                    break
    counts = run.summary.counts
    assert run.summary.total == 200
    assert counts[Outcome.CREATED] >= 50 and counts[Outcome.FAILED] > 0
    assert counts[Outcome.CREATED] + counts[Outcome.FAILED] == 200
    reasons = {json.loads(line)["_leadkit"]["reason"] for line in failures.open()}
    [reason] = reasons
    assert reason.startswith("its upload job ") and "had ended, its rows not all reported" in reason
