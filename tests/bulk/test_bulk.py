"""bulk_create against a real aiohttp server on 127.0.0.1: outcomes, order, resume, stop."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from aiohttp import web

from leadkit.apis.breakcold.client import CREATE_LEAD, BreakcoldClient
from leadkit.apis.coldsend.client import ADD_LEAD, ColdsendClient
from leadkit.apis.coldsend.models import LeadResponse, ManualLeadRequest
from leadkit.bulk import (
    IN_FLIGHT_REASON,
    IN_FLIGHT_RESENT_REASON,
    NOT_SENT_REASON,
    Outcome,
    RowResult,
    bulk_create,
    open_input,
    request_fields,
)
from leadkit.bulk.concurrency import AIMDLimiter
from leadkit.bulk.journal import Journal, State
from leadkit.runtime import RetryScheduled
from leadkit.runtime.api import RateLimitPolicy, Window
from leadkit.runtime.retry import RetryPolicy
from leadkit.sandbox import Sandbox
from tests.transport_support import Recorder, serve
from tests.waiting import eventually

CAMPAIGN = "3f1c2a9e-0000-4000-8000-000000000001"
NOW = "2026-01-01T00:00:00+00:00"


@attrs.define
class LeadServer:
    """Coldsend's and Breakcold's create routes, with scripted statuses and delays per e-mail."""

    stored: dict[str, dict[str, Any]] = attrs.field(factory=dict)
    requests: Counter[str] = attrs.field(factory=Counter)
    status_for: dict[str, int] = attrs.field(factory=dict)
    delay_for: dict[str, float] = attrs.field(factory=dict)
    hold: asyncio.Event | None = None
    url: str = ""

    async def coldsend(self, request: web.Request) -> web.Response:
        body = await request.json()
        email = body["email"].strip().lower()
        await self._script(email)
        if email in self.status_for:
            return web.json_response({"detail": "scripted"}, status=self.status_for[email])
        if email in self.stored:
            return web.json_response({"detail": "Resource already exists"}, status=409)
        self.stored[email] = body
        return web.json_response(
            {
                "lead_id": str(uuid.uuid4()),
                "batch_id": None,
                "email": body["email"],
                "first_name": body.get("first_name"),
                "last_name": None,
                "company": body.get("company"),
                "status": "PENDING",
                "last_contacted_at": None,
                "opened_at": None,
                "replied_at": None,
                "created_at": NOW,
            },
            status=201,
        )

    async def breakcold(self, request: web.Request) -> web.Response:
        body = await request.json()
        email = str(body.get("email", "")).lower()
        await self._script(email)
        if email in self.status_for:
            return web.json_response({"message": "scripted"}, status=self.status_for[email])
        self.stored[email or str(uuid.uuid4())] = body
        nullable = "company phone linkedin_url linkedin_company_url facebook_username"
        nullable += " youtube_username instagram_username telegram_username whatsapp_username"
        nullable += " search_query updated_at first_name icebreaker last_name website_url"
        nullable += " timezone city company_role twitter_name avatar_url icebreaker_2"
        nullable += " icebreaker_3 icebreaker_4 email_bounce_score twitter_company_name"
        nullable += " is_tracked is_deleted_at contract_value contract_currency contract_name"
        nullable += " score ai_enabled_at ai_summary ai_profile last_interaction_at"
        nullable += " id_linkedin_company id_linkedin id_space usersId company_enrich"
        lead: dict[str, Any] = dict.fromkeys(nullable.split())
        lead.update(
            id=str(uuid.uuid4()),
            email=body.get("email"),
            created_at=NOW,
            is_company=False,
            is_contract=False,
            is_deleted=False,
            order=0,
            ai_enabled=False,
            is_draft=False,
        )
        return web.json_response(lead)

    async def _script(self, email: str) -> None:
        self.requests[email] += 1
        if email in self.delay_for:
            await asyncio.sleep(self.delay_for[email])
        if self.hold is not None and email.startswith("hold"):
            await self.hold.wait()


@pytest.fixture
async def server() -> AsyncIterator[LeadServer]:
    state = LeadServer()
    app = web.Application()
    app.router.add_post("/api/public/v1/campaigns/{campaign_id}/leads/manual", state.coldsend)
    app.router.add_post("/lead", state.breakcold)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    state.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield state
    if state.hold is not None:
        state.hold.set()
    await runner.cleanup()


@pytest.fixture
async def coldsend(server: LeadServer) -> AsyncIterator[ColdsendClient]:
    client = ColdsendClient(
        api_key="cs_live_test",
        base_url=server.url,
        rate_limit=False,
        retry=RetryPolicy(max_attempts=1),
    )
    async with client:
        yield client


@pytest.fixture
async def breakcold(server: LeadServer) -> AsyncIterator[BreakcoldClient]:
    async with BreakcoldClient(api_key="bc_test", base_url=server.url, rate_limit=False) as c:
        yield c


async def _load(client: Any, rows: Any, **options: Any) -> tuple[list[RowResult], Any]:
    op = ADD_LEAD if isinstance(client, ColdsendClient) else CREATE_LEAD
    params = {"campaign_id": CAMPAIGN} if op is ADD_LEAD else {}
    run = bulk_create(client, op, rows, path_params=params, **options)
    results = [result async for result in run]
    return results, run.summary


def _by_index(results: Iterable[RowResult]) -> dict[int, tuple[Outcome, str | None]]:
    return {r.index: (r.outcome, r.key) for r in results}


async def test_every_row_gets_exactly_one_result(
    server: LeadServer, coldsend: ColdsendClient
) -> None:
    server.stored["known@x.io"] = {}
    rows = [
        {"email": "ann@x.io", "first_name": "Ann"},
        {"email": 42},
        {"email": "  ANN@x.io "},
        {"email": "known@x.io"},
        ManualLeadRequest(email="bo@x.io", company="Acme"),
        {"email": "cy@x.io", "nickname": "C"},
    ]
    results, summary = await _load(coldsend, rows)
    assert _by_index(results) == {
        0: (Outcome.CREATED, "ann@x.io"),
        1: (Outcome.INVALID, None),
        2: (Outcome.SKIPPED_DUPLICATE, "ann@x.io"),
        3: (Outcome.ALREADY_EXISTS, "known@x.io"),
        4: (Outcome.CREATED, "bo@x.io"),
        5: (Outcome.INVALID, None),
    }
    by_index = {r.index: r for r in results}
    assert isinstance(by_index[0].model, LeadResponse)
    assert by_index[0].attempts == 1
    assert by_index[1].error == "expected str, got int @ $.email"
    assert "nickname" in (by_index[5].error or "")
    assert by_index[3].status == 409
    assert server.requests == Counter({"ann@x.io": 1, "known@x.io": 1, "bo@x.io": 1})
    assert summary.counts[Outcome.CREATED] == 2
    assert summary.total == 6
    assert not summary.all_succeeded


async def test_results_come_in_completion_order_or_in_input_order(
    server: LeadServer, coldsend: ColdsendClient
) -> None:
    server.delay_for["slow@x.io"] = 0.3
    rows = [{"email": "slow@x.io"}] + [{"email": f"r{i}@x.io"} for i in range(5)]
    completion, _ = await _load(coldsend, rows)
    assert [r.index for r in completion][-1] == 0
    server.stored.clear()
    ordered, _ = await _load(coldsend, rows, ordered=True)
    assert [r.index for r in ordered] == list(range(6))


async def test_async_iterable_input(server: LeadServer, breakcold: BreakcoldClient) -> None:
    async def rows() -> AsyncIterator[dict[str, Any]]:
        for i in range(20):
            yield {"email": f"a{i}@x.io", "company": "Acme"}
            await asyncio.sleep(0)

    results, summary = await _load(breakcold, rows(), concurrency=3)
    assert summary.counts[Outcome.CREATED] == 20
    assert sorted(r.index for r in results) == list(range(20))
    assert len(server.stored) == 20


async def test_a_rerun_with_the_journal_sends_nothing_already_created(
    tmp_path: Path, server: LeadServer, coldsend: ColdsendClient
) -> None:
    journal = tmp_path / "j.sqlite"
    rows = [{"email": f"r{i}@x.io"} for i in range(30)]
    _, first = await _load(coldsend, rows, journal=journal)
    assert first.counts[Outcome.CREATED] == 30
    server.requests.clear()
    results, second = await _load(coldsend, [*rows, {"email": "new@x.io"}], journal=journal)
    assert second.counts[Outcome.CREATED] == 31
    assert second.resumed == 30
    assert all(r.resumed for r in results if r.key != "new@x.io")
    assert server.requests == Counter({"new@x.io": 1})


def _in_flight_journal(path: Path, api: str, op: str, params: dict[str, str]) -> None:
    journal = Journal(path, {"api": api, "operation": op, "path_params": params})
    journal.set("key:flying@x.io", State.SENT, position=0)
    journal.close()


async def test_an_in_flight_row_is_resent_when_a_conflict_status_is_declared(
    tmp_path: Path, server: LeadServer, coldsend: ColdsendClient
) -> None:
    _in_flight_journal(tmp_path / "j", "coldsend", "add_lead", {"campaign_id": CAMPAIGN})
    server.stored["flying@x.io"] = {}
    results, _ = await _load(coldsend, [{"email": "Flying@x.io"}], journal=tmp_path / "j")
    assert _by_index(results) == {0: (Outcome.ALREADY_EXISTS, "flying@x.io")}
    assert server.requests == Counter({"flying@x.io": 1})


async def test_a_journal_written_before_lines_were_kept_is_used_as_it_is(
    tmp_path: Path, server: LeadServer, coldsend: ColdsendClient
) -> None:
    path = tmp_path / "old.journal"
    scope = {"api": "coldsend", "operation": "add_lead", "path_params": {"campaign_id": CAMPAIGN}}
    with sqlite3.connect(path) as old:
        old.execute("CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT)")
        old.execute(
            "CREATE TABLE rows (key TEXT PRIMARY KEY, state TEXT NOT NULL,"
            " run INTEGER NOT NULL, position INTEGER, reason TEXT)"
        )
        old.execute("INSERT INTO meta VALUES ('scope', ?), ('run', '1')", (json.dumps(scope),))
        old.execute("INSERT INTO rows VALUES ('key:done@x.io', 'created', 1, 0, NULL)")
    old.close()
    rows = [{"email": "done@x.io"}, {"email": "new@x.io"}, {"email": "new@x.io"}]
    results, _ = await _load(coldsend, rows, journal=path, ordered=True, concurrency=1)
    assert [(r.outcome, r.resumed, r.error) for r in results] == [
        (Outcome.CREATED, True, None),
        (Outcome.CREATED, False, None),
        (Outcome.SKIPPED_DUPLICATE, False, "same key as row index 1"),
    ]
    assert server.requests == Counter({"new@x.io": 1})


async def test_an_in_flight_row_is_not_resent_when_the_conflict_status_is_not_trusted(
    tmp_path: Path, server: LeadServer
) -> None:
    _in_flight_journal(tmp_path / "j", "coldsend", "add_lead", {"campaign_id": CAMPAIGN})
    cautious = RetryPolicy(max_attempts=1, trust_conflict_status=False)
    async with ColdsendClient(
        api_key="cs_live_test", base_url=server.url, rate_limit=False, retry=cautious
    ) as client:
        results, _ = await _load(client, [{"email": "flying@x.io"}], journal=tmp_path / "j")
    assert [(r.outcome, r.error) for r in results] == [(Outcome.FAILED, IN_FLIGHT_REASON)]
    assert server.requests == Counter()


async def test_an_in_flight_row_is_not_resent_without_a_conflict_status(
    tmp_path: Path, server: LeadServer, breakcold: BreakcoldClient
) -> None:
    _in_flight_journal(tmp_path / "j", "breakcold", "create_lead", {})
    rows = [{"email": "flying@x.io"}, {"email": "other@x.io"}]
    results, _ = await _load(breakcold, rows, journal=tmp_path / "j", ordered=True)
    assert [(r.outcome, r.error, r.resumed) for r in results] == [
        (Outcome.FAILED, IN_FLIGHT_REASON, True),
        (Outcome.CREATED, None, False),
    ]
    assert server.requests == Counter({"other@x.io": 1})


async def test_a_row_waiting_for_the_rate_limiter_is_not_journalled_as_sent(
    tmp_path: Path, server: LeadServer
) -> None:
    one_a_minute = RateLimitPolicy(windows=(Window(limit=1, seconds=60.0),))
    journal = tmp_path / "j"
    rows = [{"email": "first@x.io"}, {"email": "waiting@x.io"}]
    async with BreakcoldClient(
        api_key="bc_test", base_url=server.url, rate_limit=one_a_minute
    ) as paced:
        run = bulk_create(paced, CREATE_LEAD, rows, journal=journal)
        results = []
        async for result in run:
            results.append(result)
            run.stop(grace=0.05)  # the second row is waiting for its slot
    assert _by_index(results) == {
        0: (Outcome.CREATED, "first@x.io"),
        1: (Outcome.FAILED, "waiting@x.io"),
    }
    assert results[1].error == NOT_SENT_REASON
    assert server.requests == Counter({"first@x.io": 1})
    again, _ = await _load_breakcold_unpaced(server, rows, journal)
    assert _by_index(again) == {
        0: (Outcome.CREATED, "first@x.io"),
        1: (Outcome.CREATED, "waiting@x.io"),
    }
    assert server.requests == Counter({"first@x.io": 1, "waiting@x.io": 1}), "none sent twice"


async def test_stop_cancels_a_row_still_waiting_for_the_rate_limiter_at_once(
    tmp_path: Path, server: LeadServer
) -> None:
    one_a_minute = RateLimitPolicy(windows=(Window(limit=1, seconds=60.0),))
    rows = [{"email": "first@x.io"}, {"email": "waiting@x.io"}]
    async with BreakcoldClient(
        api_key="bc_test", base_url=server.url, rate_limit=one_a_minute
    ) as paced:
        run = bulk_create(paced, CREATE_LEAD, rows, journal=tmp_path / "j")
        started = asyncio.get_running_loop().time()
        results = [result async for result in _stopping_after_first(run, grace=30.0)]
    assert asyncio.get_running_loop().time() - started < 5, "the grace is for rows on the wire"
    assert [r.error for r in results] == [None, NOT_SENT_REASON]


async def test_a_row_refused_with_429_when_stopped_is_unsent_and_a_rerun_sends_it(
    tmp_path: Path, server: LeadServer
) -> None:
    server.status_for["busy@x.io"] = 429
    journal = tmp_path / "j"
    rows = [{"email": "first@x.io"}, {"email": "busy@x.io"}]
    slow_retries = RetryPolicy(backoff_base=60.0, backoff_cap=60.0)
    events = Recorder()
    async with BreakcoldClient(
        api_key="bc_test",
        base_url=server.url,
        rate_limit=False,
        retry=slow_retries,
        event_hooks=[events],
    ) as client:
        run = bulk_create(client, CREATE_LEAD, rows, journal=journal, ordered=True)
        results = []
        async for result in run:
            results.append(result)
            # the 429 arrived and its retry waits: stop now
            await eventually(lambda: bool(events.of(RetryScheduled)), "the 429's retry")
            run.stop(grace=30.0)
    assert [(r.outcome, r.error) for r in results] == [
        (Outcome.CREATED, None),
        (Outcome.FAILED, NOT_SENT_REASON),
    ]
    del server.status_for["busy@x.io"]
    again, _ = await _load_breakcold_unpaced(server, rows, journal)
    assert [r.outcome for r in sorted(again, key=lambda r: r.index)] == [Outcome.CREATED] * 2
    assert server.requests == Counter({"first@x.io": 1, "busy@x.io": 2}), "refused, then sent"


async def _stopping_after_first(run: Any, grace: float) -> AsyncIterator[RowResult]:
    async for result in run:
        yield result
        run.stop(grace=grace)


async def _load_breakcold_unpaced(
    server: LeadServer, rows: list[dict[str, Any]], journal: Path
) -> tuple[list[RowResult], Any]:
    async with BreakcoldClient(api_key="bc_test", base_url=server.url, rate_limit=False) as c:
        return await _load(c, rows, journal=journal)


async def test_the_failures_file_can_be_loaded_back(
    tmp_path: Path, server: LeadServer, coldsend: ColdsendClient
) -> None:
    server.status_for["rejected@x.io"] = 422
    failures = tmp_path / "failures.jsonl"
    rows = [{"email": "ok@x.io"}, {"email": "rejected@x.io", "company": "Acme"}, {"email": 1}]
    _, summary = await _load(coldsend, rows, failures_out=failures, ordered=True)
    assert summary.counts[Outcome.FAILED] == summary.counts[Outcome.INVALID] == 1
    lines = [json.loads(line) for line in failures.read_text().splitlines()]
    assert [line["_leadkit"]["outcome"] for line in lines] == ["failed", "invalid"]
    assert "422" in lines[0]["_leadkit"]["reason"]
    del server.status_for["rejected@x.io"]
    fields = bulk_fields()
    results, _ = await _load(coldsend, open_input(failures, fields), ordered=True)
    assert [(r.outcome, r.line) for r in results] == [(Outcome.CREATED, 1), (Outcome.INVALID, 2)]
    assert server.stored["rejected@x.io"] == {"email": "rejected@x.io", "company": "Acme"}


def bulk_fields() -> Any:
    from leadkit.bulk import request_fields

    return request_fields(ColdsendClient.api, ADD_LEAD.body_type)


async def test_stop_reads_no_more_input_and_cancels_after_the_grace(
    server: LeadServer, coldsend: ColdsendClient
) -> None:
    server.hold = asyncio.Event()
    more = asyncio.Event()

    async def rows() -> AsyncIterator[dict[str, Any]]:
        yield {"email": "done@x.io"}
        yield {"email": "hold@x.io"}
        await more.wait()
        yield {"email": "never@x.io"}

    run = bulk_create(coldsend, ADD_LEAD, rows(), path_params={"campaign_id": CAMPAIGN})
    results = []
    async for result in run:
        results.append(result)
        run.stop(grace=0.05)
    assert _by_index(results) == {
        0: (Outcome.CREATED, "done@x.io"),
        1: (Outcome.FAILED, "hold@x.io"),
    }
    assert results[1].error == IN_FLIGHT_RESENT_REASON  # Coldsend's 409 makes a resend safe
    assert run.summary is not None
    assert run.summary.unread_from == 2
    assert run.summary.stop_reason == "stopped"
    assert "never@x.io" not in server.requests


async def test_an_input_that_fails_midway_raises_its_error_to_the_consumer(
    server: LeadServer, coldsend: ColdsendClient
) -> None:
    def rows() -> Iterator[dict[str, Any]]:
        yield {"email": "first@x.io"}
        raise RuntimeError("the export broke")

    run = bulk_create(coldsend, ADD_LEAD, rows(), path_params={"campaign_id": CAMPAIGN})
    with pytest.raises(RuntimeError, match="the export broke"):
        async for _ in run:
            pass
    assert run.summary is not None
    assert run.summary.unread_from == 1, "the row after the last one read is the first unread"


async def test_an_authentication_error_stops_the_run(
    server: LeadServer, coldsend: ColdsendClient
) -> None:
    server.status_for.update({f"r{i}@x.io": 401 for i in range(50)})
    results, summary = await _load(coldsend, [{"email": f"r{i}@x.io"} for i in range(50)])
    assert {r.outcome for r in results} == {Outcome.FAILED}
    assert summary.unread_from is not None and summary.unread_from < 50
    assert summary.total == summary.unread_from
    assert "401" in (summary.stop_reason or "")


async def test_a_404_stops_the_run_only_when_the_path_names_the_missing_resource(
    server: LeadServer, coldsend: ColdsendClient, breakcold: BreakcoldClient
) -> None:
    server.status_for.update({"gone@x.io": 404})
    rows = [{"email": "gone@x.io"}, *({"email": f"r{i}@x.io"} for i in range(20))]
    _, summary = await _load(breakcold, rows, ordered=True)
    assert summary.unread_from is None and summary.counts[Outcome.CREATED] == 20
    _, summary = await _load(coldsend, rows, ordered=True)  # the campaign does not exist
    assert summary.unread_from is not None and "404" in (summary.stop_reason or "")


async def test_a_dry_run_sends_nothing(server: LeadServer, coldsend: ColdsendClient) -> None:
    rows = [{"email": "a@x.io"}, {"email": "A@x.io"}, {}]
    results, summary = await _load(coldsend, rows, dry_run=True, ordered=True)
    assert [r.outcome for r in results] == [
        Outcome.VALID,
        Outcome.SKIPPED_DUPLICATE,
        Outcome.INVALID,
    ]
    assert not server.requests
    assert summary.counts[Outcome.VALID] == 1


async def test_aimd_halves_once_per_round_and_grows_by_one_per_round() -> None:
    limiter = AIMDLimiter(8)
    tickets = [await limiter.acquire() for _ in range(8)]
    assert limiter.in_flight == 8
    limiter.release(tickets[0], congested=True)
    limiter.release(tickets[1], congested=True)
    assert limiter.limit == 4.0
    waiter = asyncio.ensure_future(limiter.acquire())
    for ticket in tickets[2:6]:
        limiter.release(ticket, congested=False)
    await asyncio.sleep(0)
    assert limiter.in_flight == 3
    assert waiter.done()
    assert 4.0 < limiter.limit < 5.0
    grown = limiter.limit
    limiter.give_back()  # a place that sent nothing: no verdict on the limit
    assert (limiter.in_flight, limiter.limit) == (2, grown)
    with pytest.raises(ValueError, match="at least 1"):
        AIMDLimiter(0)


async def test_the_generated_bulk_method_loads_into_the_sandbox(sandbox: Sandbox) -> None:
    campaign = "6f1c2a9e-0000-4000-8000-00000000abcd"
    rows = [{"email": "a@example.com"}, {"email": "A@example.com "}, {"email": 3}]
    base_url = sandbox.base_url("coldsend")
    async with ColdsendClient(api_key="cs_live_bulk", base_url=base_url) as client:
        run = client.add_lead_bulk(campaign, rows, ordered=True)
        outcomes = [result.outcome async for result in run]
    assert outcomes == [Outcome.CREATED, Outcome.SKIPPED_DUPLICATE, Outcome.INVALID]
    stored = sandbox.leads("coldsend")
    assert [(lead["email"], lead["campaign_id"]) for lead in stored] == [
        ("a@example.com", campaign)
    ]


async def test_a_run_never_iterated_can_be_closed_and_frees_its_journal(
    tmp_path: Path, coldsend: ColdsendClient
) -> None:
    journal, failures = tmp_path / "j", tmp_path / "failures.jsonl"
    params = {"campaign_id": CAMPAIGN}
    run = bulk_create(coldsend, ADD_LEAD, [], path_params=params, journal=journal,
                      failures_out=failures)  # fmt: skip
    run.close()
    run.close()  # twice is harmless
    again = bulk_create(coldsend, ADD_LEAD, [{"email": "a@x.io"}], path_params=params,
                        journal=journal)  # fmt: skip
    assert [r.outcome async for r in again] == [Outcome.CREATED], "the journal lock was freed"


async def test_a_failures_file_that_cannot_be_opened_frees_the_journal(
    tmp_path: Path, coldsend: ColdsendClient
) -> None:
    journal, params, rows = tmp_path / "j", {"campaign_id": CAMPAIGN}, [{"email": "a@x.io"}]
    with pytest.raises(ValueError, match=r"name it \.jsonl"):
        bulk_create(coldsend, ADD_LEAD, rows, path_params=params, journal=journal,
                    failures_out=tmp_path / "failures.csv")  # fmt: skip
    again = bulk_create(coldsend, ADD_LEAD, rows, path_params=params, journal=journal)
    assert [r.outcome async for r in again] == [Outcome.CREATED], "the journal lock was freed"


async def test_a_run_can_be_iterated_only_once(coldsend: ColdsendClient) -> None:
    params = {"campaign_id": CAMPAIGN}
    run = bulk_create(coldsend, ADD_LEAD, [{"email": "a@x.io"}], path_params=params, dry_run=True)
    assert [r.outcome async for r in run] == [Outcome.VALID]
    with pytest.raises(RuntimeError, match=r"^a BulkRun can be iterated only once$"):
        aiter(run)


@pytest.mark.parametrize("journal", [None, "j.sqlite"])
async def test_a_lone_surrogate_in_a_servers_message_is_written_and_read_back(
    tmp_path: Path, journal: str | None
) -> None:
    async def refuse(request: web.Request) -> web.Response:
        text = '{"message": "name \\ud800 is invalid", "code": "BAD_REQUEST"}'  # valid JSON
        return web.Response(status=400, text=text, content_type="application/json")

    failures = tmp_path / "failures.jsonl"
    async with serve(refuse) as url, BreakcoldClient(api_key="bc_test", base_url=url) as client:
        journal_path = journal and tmp_path / journal
        rows = [{"email": "a@x.io"}, {"email": "a@x.io"}]
        options = {"failures_out": failures, "journal": journal_path, "concurrency": 1}
        results, _ = await _load(client, rows, ordered=True, **options)
    result, copy = results
    assert result.outcome is Outcome.FAILED and "\ud800" in (result.error or "")
    assert copy.outcome is Outcome.FAILED
    line = failures.read_text(encoding="utf-8").splitlines()[0]
    assert json.loads(line)["_leadkit"]["reason"] == result.error


async def test_a_consumer_that_stops_iterating_still_gets_every_read_row_counted(
    tmp_path: Path,
) -> None:
    async def slow(request: web.Request) -> web.Response:
        email = json.loads(await request.read())["email"]
        await asyncio.sleep(0.05 if email == "u0@x.io" else 1.0)
        return web.json_response({"id": "1", "email": email}, status=200)

    failures = tmp_path / "failures.jsonl"
    rows = [{"email": f"u{i}@x.io"} for i in range(20)]
    async with serve(slow) as url, BreakcoldClient(api_key="bc", base_url=url) as client:
        run = bulk_create(client, CREATE_LEAD, rows, concurrency=4, failures_out=failures)
        taken = []
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.5):  # the consumer gives up on the run
                taken += [result async for result in run]
    assert run.summary is not None and run.summary.unread_from is not None
    assert run.summary.total == run.summary.unread_from > len(taken)  # none of those left out
    assert len(failures.read_text().splitlines()) == run.summary.counts[Outcome.FAILED]


async def test_a_row_json_cannot_hold_is_still_written_to_the_failures_file(
    tmp_path: Path, coldsend: ColdsendClient
) -> None:
    failures = tmp_path / "failures.jsonl"
    rows = [{"email": "a@x.io", "custom_fields": {(1, 2): "pair"}}, {"email": "b@x.io"}]
    results, _ = await _load(coldsend, rows, failures_out=failures)
    assert [r.outcome for r in sorted(results, key=lambda r: r.index)] == [
        Outcome.INVALID,
        Outcome.CREATED,
    ]
    (line,) = failures.read_text().splitlines()
    meta = json.loads(line)["_leadkit"]
    assert meta["index"] == 0 and "(1, 2)" in meta["raw"]


def _strict_json(text: str) -> Any:
    def refuse(constant: str) -> None:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


async def test_nan_and_infinity_in_an_invalid_row_are_written_as_strict_json(
    tmp_path: Path, breakcold: BreakcoldClient
) -> None:
    failures = tmp_path / "failures.jsonl"
    rows = [
        {"email": "a@x.io", "contract_value": float("nan")},
        {"email": "b@x.io", "attributes": {"k": [float("-inf")]}},
        {"email": "c@x.io"},
    ]
    results, _ = await _load(breakcold, rows, failures_out=failures, ordered=True)
    assert [r.outcome for r in results] == [Outcome.INVALID, Outcome.INVALID, Outcome.CREATED]
    lines = [_strict_json(line)["_leadkit"] for line in failures.read_text().splitlines()]
    assert [meta["raw"] for meta in lines] == [
        '{"email": "a@x.io", "contract_value": NaN}',
        '{"email": "b@x.io", "attributes": {"k": [-Infinity]}}',
    ]
    again = list(open_input(failures, request_fields(BreakcoldClient.api, CREATE_LEAD.body_type)))
    assert [row.data for row in again] == [None, None]  # not sent as the text "NaN"
    assert again[0].error == (
        "line 1: an earlier load could not send it (expected a finite number, got nan: "
        "JSON has no NaN or infinity @ $.contract_value); fix it in the source file"
    )
    assert again[1].raw == lines[1]["raw"]
