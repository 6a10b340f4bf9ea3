"""What an asyncio application meets at the client's edges: a full connection pool, close,
path values that would change the path or are dates, an exception's chain, a 429 a call
gives up on."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from leadkit.bulk import Outcome
from leadkit.runtime import RateLimitWait, RequestFailed, RequestSent, RetryPolicy
from leadkit.runtime.client import path_values
from leadkit.runtime.errors import APIError, RateLimitError
from tests.transport_support import CAMPAIGN, KEY, Recorder, breakcold, coldsend, lead_json, serve
from tests.waiting import eventually

BODY = {"email": "ada@example.com"}


class Slow:
    """Answers every create after `delay` seconds; counts what it received."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.received = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.received += 1
        email = json.loads(await request.read())["email"]
        await asyncio.sleep(self.delay)
        return web.json_response(lead_json(email), status=201)


async def test_waiting_for_a_pooled_connection_is_neither_sent_nor_a_connect_timeout() -> None:
    server, events = Slow(0.3), Recorder()
    timeout = aiohttp.ClientTimeout(total=10, connect=0.1)  # far less than a turn in the pool
    async with (
        serve(server.handle) as url,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=2)) as session,
        coldsend(
            url, session=session, timeout=timeout, rate_limit=False, event_hooks=[events]
        ) as client,
    ):
        emails = [f"u{i}@example.com" for i in range(6)]
        await asyncio.gather(*(client.add_lead(CAMPAIGN, body={"email": e}) for e in emails))
    assert events.of(RequestFailed) == []  # no connect timeout while waiting for the pool
    assert len(events.of(RequestSent)) == server.received == 6


async def test_a_stopped_bulk_run_resends_the_rows_that_waited_for_a_connection(
    tmp_path: Any,
) -> None:
    server, journal = Slow(2.0), tmp_path / "load.journal"
    rows = [{"email": f"u{i}@example.com"} for i in range(6)]
    connector = aiohttp.TCPConnector(limit=2)
    async with (
        serve(server.handle) as url,
        aiohttp.ClientSession(connector=connector) as session,
        breakcold(url, session=session, rate_limit=False) as client,
    ):
        run = client.create_lead_bulk(rows, concurrency=6, journal=journal)
        asyncio.get_running_loop().call_later(0.3, run.stop, 0.0)
        results = [result async for result in run]
    assert server.received == 2  # the pool held two; four rows never left
    assert [r.error for r in results].count("stopped before it was sent") == 4
    rerun = Slow(0.0)
    async with serve(rerun.handle) as url, breakcold(url, rate_limit=False) as client:
        again = [r async for r in client.create_lead_bulk(rows, concurrency=6, journal=journal)]
    assert rerun.received == 4  # the four that never left; the two that did are not resent
    assert sorted(r.outcome for r in again) == sorted([Outcome.CREATED] * 4 + [Outcome.FAILED] * 2)


async def test_a_closed_client_refuses_calls_until_opened_again() -> None:
    async with serve(Slow(0.0).handle) as url:
        client = coldsend(url)
        async with client:
            await client.add_lead(CAMPAIGN, body=BODY)
        with pytest.raises(RuntimeError, match="ColdsendClient is closed"):
            await client.add_lead(CAMPAIGN, body=BODY)
        async with client:  # a new `async with` opens it again
            assert (await client.add_lead(CAMPAIGN, body=BODY)).email == BODY["email"]


@pytest.mark.parametrize("value", ["", ".", ".."])
async def test_a_path_value_that_would_change_the_path_is_refused(value: str) -> None:
    server = Slow(0.0)
    async with serve(server.handle) as url, coldsend(url) as client:
        with pytest.raises(ValueError, match="would change the request's path"):
            await client.add_lead(value, body=BODY)
        with pytest.raises(ValueError, match="would change the request's path"):
            client.add_lead_bulk(value, [BODY])
    assert server.received == 0


def _chain(error: BaseException | None) -> list[BaseException]:
    seen: list[BaseException] = []
    while error is not None and error not in seen:
        seen.append(error)
        error = error.__cause__ or error.__context__
    return seen


def test_dates_in_a_path_query_or_header_are_iso_8601() -> None:
    at = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    values = path_values({"at": at, "day": at.date(), "on": True, "n": 3})
    assert values == (
        ("at", "2024-01-02T03:04:05+00:00"),  # str() gave "2024-01-02 03:04:05+00:00"
        ("day", "2024-01-02"),
        ("on", "true"),
        ("n", "3"),
    )


async def test_no_exception_in_a_failed_calls_chain_holds_the_key() -> None:
    async def broken(request: web.Request) -> web.StreamResponse:
        await request.read()
        response = web.StreamResponse(status=201, headers={"Content-Length": "100"})
        await response.prepare(request)
        await response.write(b'{"lead_id": ')  # then the connection ends: a short body
        assert request.transport is not None
        request.transport.close()
        return response

    async with serve(broken) as url, breakcold(url) as client:
        with pytest.raises(APIError) as caught:
            await client.create_lead(body={"email": "ada@example.com"})
    chain = _chain(caught.value)
    assert all(KEY not in repr(error) and KEY not in str(vars(error)) for error in chain)
    assert not any(isinstance(error, aiohttp.ClientError) for error in chain)


async def test_a_429_a_call_gives_up_on_still_pauses_the_other_calls() -> None:
    arrivals: list[float] = []

    async def limited(request: web.Request) -> web.Response:
        arrivals.append(time.monotonic())
        return web.json_response({"detail": "Rate limit exceeded."}, status=429,
                                 headers={"Retry-After": "600"})  # fmt: skip

    retry = RetryPolicy(max_attempts=3, max_elapsed=5.0)  # 600 s is past what it will wait
    events = Recorder()
    async with serve(limited) as url, coldsend(url, retry=retry, event_hooks=[events]) as client:
        with pytest.raises(RateLimitError):
            await client.add_lead(CAMPAIGN, body=BODY)
        waited = len(events.of(RateLimitWait))
        later = asyncio.create_task(client.add_lead(CAMPAIGN, body=BODY))
        await eventually(lambda: len(events.of(RateLimitWait)) > waited, "a rate-limit wait")
        [(_, wait)] = events.of(RateLimitWait)[waited:]
        assert wait.delay > 590  # it waits for the server's 600 s
        assert not later.done() and len(arrivals) == 1
        later.cancel()


async def test_bulk_rows_are_all_reported_created_through_a_small_pool() -> None:
    async with (
        serve(Slow(0.01).handle) as url,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=3)) as session,
        coldsend(url, session=session, rate_limit=False) as client,
    ):
        rows = [{"email": f"u{i}@example.com"} for i in range(40)]
        results = [r async for r in client.add_lead_bulk(CAMPAIGN, rows, concurrency=16)]
    assert sorted(r.outcome for r in results) == [Outcome.CREATED] * 40
