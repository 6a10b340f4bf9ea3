"""Rows of one run with the same key: a later copy shares the first copy's fate, waiting for it."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from aiohttp import web

from leadkit.apis.coldsend.client import ADD_LEAD, ColdsendClient
from leadkit.bulk import (
    IN_FLIGHT_RESENT_REASON,
    BulkRun,
    Outcome,
    RowResult,
    bulk_create,
    open_input,
    request_fields,
)
from leadkit.runtime.retry import RetryPolicy
from tests.transport_support import lead_json, serve
from tests.waiting import eventually

CAMPAIGN = "3f1c2a9e-0000-4000-8000-000000000002"
FIELDS = request_fields(ColdsendClient.api, ADD_LEAD.body_type)


@attrs.define
class Script:
    """Coldsend's create route: 201, or a scripted status; e-mails starting 'hold' wait."""

    refuse: set[str] = attrs.field(factory=set)
    hold: asyncio.Event = attrs.field(factory=asyncio.Event)
    requests: Counter[str] = attrs.field(factory=Counter)

    async def handle(self, request: web.Request) -> web.Response:
        email = json.loads(await request.read())["email"].strip().lower()
        self.requests[email] += 1
        if email.startswith("hold"):
            await self.hold.wait()
        if email in self.refuse:
            return web.json_response({"detail": "scripted outage"}, status=500)
        return web.json_response(lead_json(email), status=201)


@pytest.fixture
async def script() -> AsyncIterator[tuple[Script, ColdsendClient]]:
    state = Script()
    async with serve(state.handle) as url:
        retry = RetryPolicy(max_attempts=1)
        async with ColdsendClient(
            api_key="cs_live_test", base_url=url, rate_limit=False, retry=retry
        ) as client:
            yield state, client
        state.hold.set()


def _run(client: ColdsendClient, rows: Any, **options: Any) -> BulkRun:
    return bulk_create(client, ADD_LEAD, rows, path_params={"campaign_id": CAMPAIGN}, **options)


async def _load(client: ColdsendClient, rows: Any, **options: Any) -> list[RowResult]:
    run = _run(client, rows, **options)
    results = [result async for result in run]
    assert run.summary is not None and run.summary.total == len(results)
    return sorted(results, key=lambda r: r.index)


def _outcomes(results: list[RowResult]) -> list[tuple[Outcome, str | None]]:
    return [(r.outcome, r.error) for r in results]


@pytest.mark.parametrize("journal", [False, True], ids=["no-journal-file", "journal-file"])
async def test_a_copy_of_a_row_that_failed_fails_too_and_goes_to_the_failures_file(
    tmp_path: Path, script: tuple[Script, ColdsendClient], journal: bool
) -> None:
    server, client = script
    server.refuse.add("bad@x.io")
    failures = tmp_path / "failures.jsonl"
    rows = [
        {"email": "bad@x.io"},
        {"email": "ok@x.io"},
        {"email": "BAD@x.io "},
        {"email": "ok@x.io"},
    ]
    run = _run(
        client,
        rows,
        concurrency=1,  # the first copies are done before their copies are read
        failures_out=failures,
        journal=tmp_path / "j.sqlite" if journal else None,
    )
    results = sorted([r async for r in run], key=lambda r: r.index)
    reason = results[0].error
    assert reason is not None and "500" in reason
    assert _outcomes(results) == [
        (Outcome.FAILED, reason),
        (Outcome.CREATED, None),
        (Outcome.FAILED, f"same key as row index 0, which failed: {reason}"),
        (Outcome.SKIPPED_DUPLICATE, "same key as row index 1"),
    ]
    assert run.summary is not None and not run.summary.all_succeeded
    assert run.summary.counts[Outcome.FAILED] == 2
    written = [json.loads(line) for line in failures.read_text().splitlines()]
    assert [(w["email"], w["_leadkit"]["index"]) for w in written] == [
        ("bad@x.io", 0),
        ("BAD@x.io ", 2),
    ]
    assert server.requests == Counter({"bad@x.io": 1, "ok@x.io": 1})


async def test_a_copy_waits_for_the_first_copy_in_flight_and_takes_its_outcome(
    script: tuple[Script, ColdsendClient],
) -> None:
    server, client = script
    server.refuse.add("hold-bad@x.io")
    rows = [
        {"email": "hold-bad@x.io"},
        {"email": "hold-ok@x.io"},
        {"email": "hold-bad@x.io"},
        {"email": "hold-ok@x.io"},
        {"email": "free@x.io"},
    ]
    run = _run(client, rows, concurrency=4)
    seen: list[RowResult] = []
    async for result in run:
        seen.append(result)
        if result.index == 4:  # the copies were read before it; none has a result yet
            assert [r.index for r in seen] == [4]
            server.hold.set()
    order = [r.index for r in seen]
    assert order.index(2) > order.index(0) and order.index(3) > order.index(1)
    results = sorted(seen, key=lambda r: r.index)
    assert results[2].outcome is Outcome.FAILED
    assert results[2].error == f"same key as row index 0, which failed: {results[0].error}"
    assert (results[3].outcome, results[3].error) == (
        Outcome.SKIPPED_DUPLICATE,
        "same key as row index 1",
    )
    assert server.requests == Counter({"hold-bad@x.io": 1, "hold-ok@x.io": 1, "free@x.io": 1})


async def test_copies_waiting_for_a_row_in_flight_hold_the_window(
    script: tuple[Script, ColdsendClient],
) -> None:
    server, client = script
    read = 0

    def rows() -> Iterator[dict[str, str]]:
        nonlocal read
        for _ in range(1000):
            read += 1
            yield {"email": "hold@x.io"}

    run = _run(client, rows(), concurrency=2)
    results = aiter(run)
    waiting = asyncio.ensure_future(anext(results))
    await eventually(lambda: server.requests["hold@x.io"] == 1, "the row at the server")
    for _ in range(100):  # turns of the loop in which a reader without a window reads on
        await asyncio.sleep(0)
    assert not waiting.done()
    assert read <= 4 * 2 + 16  # the window: the copies are not all read into memory
    server.hold.set()
    first = await waiting
    rest = [result async for result in results]
    assert first.outcome is Outcome.CREATED
    assert Counter(r.outcome for r in rest) == {Outcome.SKIPPED_DUPLICATE: 999}
    assert server.requests == Counter({"hold@x.io": 1})


async def test_a_copy_of_a_row_cut_off_by_a_stop_fails_with_it(
    script: tuple[Script, ColdsendClient],
) -> None:
    _, client = script
    rows = [{"email": "hold@x.io"}, {"email": "hold@x.io"}, {"email": "free@x.io"}]
    run = _run(client, rows, concurrency=2)
    seen: list[RowResult] = []
    async for result in run:
        seen.append(result)
        if result.index == 2:
            run.stop(grace=0.1)
    results = sorted(seen, key=lambda r: r.index)
    assert _outcomes(results) == [
        (Outcome.FAILED, IN_FLIGHT_RESENT_REASON),
        (Outcome.FAILED, f"same key as row index 0, which failed: {IN_FLIGHT_RESENT_REASON}"),
        (Outcome.CREATED, None),
    ]
    assert run.summary is not None and run.summary.counts[Outcome.SKIPPED_DUPLICATE] == 0


async def test_the_failures_file_of_a_failed_key_loads_back_with_every_copy_accounted_for(
    tmp_path: Path, script: tuple[Script, ColdsendClient]
) -> None:
    server, client = script
    server.refuse.add("bad@x.io")
    leads, failures = tmp_path / "leads.csv", tmp_path / "failures.jsonl"
    leads.write_text("email,company\nbad@x.io,Acme\nok@x.io,\n\nBad@X.io,Acme again\n")
    results = await _load(client, open_input(leads, FIELDS), failures_out=failures)
    assert [(r.line, r.outcome) for r in results] == [
        (2, Outcome.FAILED),
        (3, Outcome.CREATED),
        (5, Outcome.FAILED),
    ]
    assert (results[2].error or "").startswith("same key as line 2, which failed: ")
    server.refuse.clear()
    again = await _load(client, open_input(failures, FIELDS))
    assert _outcomes(again) == [
        (Outcome.CREATED, None),
        (Outcome.SKIPPED_DUPLICATE, "same key as line 1"),
    ]
    assert server.requests["bad@x.io"] == 2


async def test_a_rerun_with_the_journal_sends_the_failed_key_once_and_skips_its_copy(
    tmp_path: Path, script: tuple[Script, ColdsendClient]
) -> None:
    server, client = script
    server.refuse.add("bad@x.io")
    journal = tmp_path / "j.sqlite"
    rows = [{"email": "bad@x.io"}, {"email": "bad@x.io"}]
    first = await _load(client, rows, journal=journal, concurrency=1)
    assert [r.outcome for r in first] == [Outcome.FAILED, Outcome.FAILED]
    server.refuse.clear()
    second = await _load(client, rows, journal=journal, concurrency=1)
    assert _outcomes(second) == [
        (Outcome.CREATED, None),
        (Outcome.SKIPPED_DUPLICATE, "same key as row index 0"),
    ]
    third = await _load(client, rows, journal=journal, concurrency=1)
    assert [(r.outcome, r.resumed) for r in third] == [
        (Outcome.CREATED, True),
        (Outcome.SKIPPED_DUPLICATE, False),
    ]
    assert server.requests == Counter({"bad@x.io": 2})


async def test_a_dry_run_reports_copies_as_duplicates(
    script: tuple[Script, ColdsendClient],
) -> None:
    server, client = script
    results = await _load(client, [{"email": "a@x.io"}, {"email": "A@x.io"}], dry_run=True)
    assert _outcomes(results) == [
        (Outcome.VALID, None),
        (Outcome.SKIPPED_DUPLICATE, "same key as row index 0"),
    ]
    assert not server.requests
