"""Each failure kind against a purpose-built server on 127.0.0.1: the documented outcome."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from email.utils import formatdate
from typing import Any

import aiohttp
import attrs
import pytest
from aiohttp import web

from leadkit.bulk import Outcome
from leadkit.runtime import (
    AlreadyExistsError,
    OutcomeUnknownError,
    RateLimitPolicy,
    RateLimitWait,
    RequestFailed,
    RequestSent,
    RetryPolicy,
    RetryScheduled,
    Window,
)
from leadkit.runtime.errors import (
    APIConnectionError,
    APITimeoutError,
    ConflictError,
    InternalServerError,
    RateLimitError,
    ResponseValidationError,
)
from tests.transport_support import (
    CAMPAIGN,
    FAST,
    Recorder,
    breakcold,
    coldsend,
    lead_json,
    serve,
)

SHORT_READ = aiohttp.ClientTimeout(total=5, connect=1, sock_read=0.2)
BODY = {"email": "ada@example.com"}


class Store:
    """A tiny Coldsend: stores by email, 409 on a duplicate, scripted faults first."""

    def __init__(self, *faults: str) -> None:
        self.faults = list(faults)
        self.emails: list[str] = []
        self.arrivals: list[float] = []

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.arrivals.append(time.monotonic())
        email = json.loads(await request.read()).get("email", "")
        fault = self.faults.pop(0) if self.faults else ""
        if fault == "500":
            return web.json_response({"detail": "Internal Server Error"}, status=500)
        if fault == "drop" and request.transport is not None:  # sent, then no answer
            request.transport.close()
            return web.Response()
        if fault == "503":
            return web.json_response({"detail": "busy"}, status=503, headers={"Retry-After": "0.2"})
        if email in self.emails:
            return web.json_response({"detail": "Resource already exists"}, status=409)
        self.emails.append(email)
        if fault == "slow-after-store":
            await asyncio.sleep(0.5)
        if fault == "reset-after-store" and request.transport is not None:
            request.transport.close()
        if fault == "cut-2xx":  # stored, then the body breaks off
            return web.Response(status=201, text=CUT_BODY, content_type="application/json")
        return web.json_response(lead_json(email), status=201)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_request_that_never_left_is_retried_until_the_attempts_run_out() -> None:
    events = Recorder()
    async with coldsend(f"http://127.0.0.1:{free_port()}", event_hooks=[events]) as client:
        with pytest.raises(APIConnectionError) as caught:
            await client.add_lead(CAMPAIGN, body=BODY)
    assert not caught.value.sent
    assert caught.value.attempts == 4
    assert [e.reason for _, e in events.of(RetryScheduled)] == ["not-sent (backoff)"] * 3
    assert all(not e.sent for _, e in events.of(RequestFailed))


@pytest.mark.parametrize("fault", ["slow-after-store", "reset-after-store", "500"])
async def test_coldsend_retries_an_ambiguous_failure_and_reports_its_own_duplicate(
    fault: str,
) -> None:
    server = Store(fault)
    async with serve(server.handle) as url, coldsend(url, timeout=SHORT_READ) as client:
        if fault == "500":  # nothing was stored: the retry creates the lead
            response = await client.add_lead_with_response(CAMPAIGN, body=BODY)
            assert (response.status, response.attempts) == (201, 2)
        else:
            with pytest.raises(AlreadyExistsError) as caught:
                await client.add_lead(CAMPAIGN, body=BODY)
            assert caught.value.attempts == 2
            assert isinstance(caught.value, ConflictError)
            assert "earlier ambiguous attempt" in str(caught.value)
    assert server.emails == ["ada@example.com"]


async def test_an_untrusted_conflict_status_means_no_repeat_after_an_ambiguous_failure() -> None:
    server = Store("reset-after-store")
    cautious = attrs.evolve(FAST, trust_conflict_status=False)
    async with (
        serve(server.handle) as url,
        coldsend(url, retry=cautious, timeout=SHORT_READ) as client,
    ):
        with pytest.raises(OutcomeUnknownError) as caught:
            await client.add_lead(CAMPAIGN, body=BODY)
    assert caught.value.attempts == 1
    assert server.emails == ["ada@example.com"]
    assert len(server.arrivals) == 1, "the create was not repeated"


async def test_a_conflict_without_an_ambiguous_attempt_stays_a_plain_conflict() -> None:
    server = Store()
    server.emails.append("ada@example.com")
    async with serve(server.handle) as url, coldsend(url) as client:
        with pytest.raises(ConflictError) as caught:
            await client.add_lead(CAMPAIGN, body=BODY)
    assert type(caught.value) is ConflictError
    assert caught.value.attempts == 1


@pytest.mark.parametrize("fault", ["slow", "reset", "502-html"])
async def test_breakcold_never_repeats_an_ambiguous_create_and_says_the_lead_may_exist(
    fault: str,
) -> None:
    calls = 0

    async def handler(request: web.Request) -> web.StreamResponse:
        nonlocal calls
        calls += 1
        if fault == "slow":
            await asyncio.sleep(0.5)
        if fault == "reset" and request.transport is not None:
            request.transport.close()
        return web.Response(status=502, text="<html>Bad Gateway</html>", content_type="text/html")

    async with serve(handler) as url, breakcold(url, timeout=SHORT_READ) as client:
        with pytest.raises(OutcomeUnknownError) as caught:
            await client.create_lead(body=BODY)
    assert calls == 1
    assert caught.value.attempts == 1
    assert "outcome unknown, the record may exist" in str(caught.value)
    expected = {
        "slow": APITimeoutError,
        "reset": APIConnectionError,
        "502-html": InternalServerError,
    }
    assert isinstance(caught.value.cause, expected[fault])
    if fault == "502-html":
        assert "<html>Bad Gateway" in str(caught.value)


async def test_giving_up_after_an_ambiguous_attempt_is_reported_as_unknown() -> None:
    server = Store("reset-after-store", "500", "500", "500")
    async with serve(server.handle) as url, coldsend(url) as client:
        with pytest.raises(OutcomeUnknownError) as caught:
            await client.add_lead(CAMPAIGN, body=BODY)
    assert caught.value.attempts == 4
    assert server.emails == ["ada@example.com"]  # stored: "unknown", never "failed"


CUT_BODY = json.dumps(lead_json("ada@example.com"))[:40]


@pytest.mark.parametrize("before", [[], ["500"], ["500", "drop"]], ids=["first", "500", "drop"])
async def test_a_2xx_with_a_cut_body_means_created_after_any_earlier_attempts(
    before: list[str],
) -> None:
    server = Store(*before, "cut-2xx")
    async with serve(server.handle) as url, coldsend(url, timeout=SHORT_READ) as client:
        with pytest.raises(ResponseValidationError) as caught:
            await client.add_lead(CAMPAIGN, body=BODY)
        run = client.add_lead_bulk(CAMPAIGN, [{"email": "bob@example.com"}])
        server.faults = [*before, "cut-2xx"]
        [result] = [result async for result in run]
    assert (caught.value.status, caught.value.attempts) == (201, len(before) + 1)
    assert "not JSON" in str(caught.value)
    assert (result.outcome, result.model, result.status) == (Outcome.CREATED, None, 201)
    assert result.error is not None and "not JSON" in result.error
    assert result.attempts == len(before) + 1


async def test_503_is_retried_after_the_delay_the_server_asked_for() -> None:
    server = Store("503")
    events = Recorder()
    async with serve(server.handle) as url, coldsend(url, event_hooks=[events]) as client:
        response = await client.add_lead_with_response(CAMPAIGN, body=BODY)
    assert response.attempts == 2
    assert server.arrivals[1] - server.arrivals[0] >= 0.19
    [(_, scheduled)] = events.of(RetryScheduled)
    assert (scheduled.reason, scheduled.delay) == ("unavailable (server asked)", 0.2)


async def test_503_is_retried_even_on_a_create_that_is_not_safe_to_repeat() -> None:
    answers = [
        web.json_response({"message": "busy", "code": "SERVICE_UNAVAILABLE"}, status=503),
        web.json_response({"message": "exists", "code": "CONFLICT"}, status=409),
    ]

    async def handler(request: web.Request) -> web.StreamResponse:
        return answers.pop(0)

    async with serve(handler) as url, breakcold(url) as client:
        with pytest.raises(ConflictError) as caught:
            await client.create_lead(body=BODY)
    assert type(caught.value) is ConflictError  # no ambiguous attempt: a plain conflict
    assert caught.value.attempts == 2


def too_many(headers: dict[str, str], body: str) -> web.Response:
    return web.Response(status=429, text=body, headers=headers, content_type="application/json")


@pytest.mark.parametrize(
    ("make_headers", "body", "low"),
    [
        (lambda: {"Retry-After": "0.3"}, "{}", 0.29),
        (lambda: {"Retry-After": formatdate(time.time() + 1.5, usegmt=True)}, "{}", 0.45),
        (lambda: {"X-RateLimit-Reset": f"{time.time() + 0.3:.3f}"}, "{}", 0.29),
        (lambda: {}, '{"detail":"Rate limit exceeded. Retry after 1 seconds."}', 0.99),
    ],
    ids=["retry-after-seconds", "retry-after-date", "reset-unix-timestamp", "body-text"],
)
async def test_coldsend_429_waits_as_long_as_the_server_asked(
    make_headers: object, body: str, low: float
) -> None:
    arrivals: list[float] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        arrivals.append(time.monotonic())
        if len(arrivals) == 1:
            return too_many(make_headers(), body)  # type: ignore[operator]
        return web.json_response(lead_json("ada@example.com"), status=201)

    async with serve(handler) as url, coldsend(url) as client:
        response = await client.add_lead_with_response(CAMPAIGN, body=BODY)
    assert response.attempts == 2
    assert arrivals[1] - arrivals[0] >= low


TRPC_429 = {
    "message": "Rate limit exceeded.",
    "code": "TOO_MANY_REQUESTS",
    "data": {"code": "TOO_MANY_REQUESTS", "httpStatus": 429, "path": "lead.create"},
}
PUBLIC_429 = {
    "error": {
        "code": "rate_limited",
        "message": "Public API rate limit exceeded",
        "requestId": "req_01J9Z6Q2",
        "retryAfterMs": 400,
    }
}


@pytest.mark.parametrize(
    ("api", "body", "headers", "fields"),
    [
        (
            "coldsend",
            {"detail": "Rate limit exceeded. Retry after 1 seconds."},
            {},
            ("HTTPError", "detail", "Rate limit exceeded. Retry after 1 seconds."),
        ),
        (
            "breakcold",
            TRPC_429,
            {"X-RateLimit-Limit": "60", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "0.4"},
            ("ErrorBody", "code", "TOO_MANY_REQUESTS"),
        ),
        ("breakcold", PUBLIC_429, {}, ("PublicApiError", "error.retry_after_ms", 400)),
    ],
    ids=["coldsend", "breakcold-trpc", "breakcold-public-api"],
)
async def test_every_documented_429_body_is_typed_and_its_delay_is_used(
    api: str, body: dict[str, object], headers: dict[str, str], fields: tuple[str, str, object]
) -> None:
    arrivals: list[float] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        arrivals.append(time.monotonic())
        return too_many(headers, json.dumps(body))

    def create(client: Any) -> Any:
        if api == "coldsend":
            return client.add_lead(CAMPAIGN, body=BODY)
        return client.create_lead(body=BODY)

    once = RetryPolicy(max_attempts=1)  # the call gives up; the client still pauses
    make = coldsend if api == "coldsend" else breakcold
    async with serve(handler) as url, make(url, retry=once) as client:
        with pytest.raises(RateLimitError) as caught:
            await create(client)
        with pytest.raises(RateLimitError):  # the next call waits out the delay first
            await create(client)
    model, path, value = fields
    assert type(caught.value.body).__name__ == model
    found = caught.value.body
    for name in path.split("."):
        found = getattr(found, name)
    assert found == value
    said = body.get("detail") or body.get("message") or PUBLIC_429["error"]["message"]
    assert str(caught.value).endswith(f"429 RateLimitError: {said}")  # not the raw body
    waited = arrivals[1] - arrivals[0]
    expected = 1.0 if api == "coldsend" else 0.4
    assert expected - 0.01 <= waited < expected + 0.5


async def test_breakcold_reads_reset_as_seconds_from_now() -> None:
    arrivals: list[float] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        arrivals.append(time.monotonic())
        return too_many({"X-RateLimit-Reset": "0.3", "X-RateLimit-Remaining": "0"}, "{}")

    retry = RetryPolicy(max_attempts=2, backoff_base=0.01)
    async with serve(handler) as url, breakcold(url, retry=retry) as client:
        with pytest.raises(RateLimitError) as caught:
            await client.create_lead(body=BODY)
    assert caught.value.attempts == 2
    assert 0.29 <= arrivals[1] - arrivals[0] < 1.0


async def test_a_429_longer_than_the_time_budget_is_raised_at_once() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return too_many({"Retry-After": "3600"}, "{}")

    async with serve(handler) as url, coldsend(url) as client:
        started = time.monotonic()
        with pytest.raises(RateLimitError) as caught:
            await client.add_lead(CAMPAIGN, body=BODY)
    assert time.monotonic() - started < 1
    assert caught.value.attempts == 1


async def test_one_429_pauses_every_task_of_the_client_until_the_reset() -> None:
    arrivals: list[float] = []
    refused_at: list[float] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        arrivals.append(time.monotonic())
        if not refused_at:
            refused_at.append(time.monotonic())
            return too_many({"Retry-After": "0.5"}, "{}")
        return web.json_response(lead_json("ada@example.com"), status=201)

    events = Recorder()

    async def one(client: object, i: int) -> int:
        await asyncio.sleep(i * 0.04)  # tasks start one after another, before and after the 429
        response = await client.add_lead_with_response(CAMPAIGN, body=BODY)  # type: ignore[attr-defined]
        return int(response.attempts)

    async with serve(handler) as url, coldsend(url, event_hooks=[events]) as client:
        attempts = await asyncio.gather(*(one(client, i) for i in range(10)))
    assert sorted(attempts) == [1] * 9 + [2]
    assert len(arrivals) == 11
    resumed = refused_at[0] + 0.5
    assert not [t for t in arrivals[1:] if t < resumed - 0.01]  # nobody went during the pause
    assert max(arrivals) - resumed < 0.2  # and everybody went right after it
    waits = events.of(RateLimitWait)
    assert len(waits) >= 9
    assert all("429" in e.reason for _, e in waits)


async def test_remaining_zero_slows_the_client_down_before_it_is_refused() -> None:
    arrivals: list[float] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        arrivals.append(time.monotonic())
        remaining = "0" if len(arrivals) == 1 else "50"
        headers = {"X-RateLimit-Remaining": remaining, "X-RateLimit-Reset": f"{time.time() + 0.3}"}
        return web.json_response(lead_json("ada@example.com"), status=201, headers=headers)

    async with serve(handler) as url, coldsend(url) as client:
        await client.add_lead(CAMPAIGN, body=BODY)
        await asyncio.gather(*(client.add_lead(CAMPAIGN, body=BODY) for _ in range(3)))
    assert arrivals[1] - arrivals[0] >= 0.28


async def test_the_client_paces_itself_to_every_declared_window() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.json_response(lead_json("ada@example.com"), status=201)

    windows = (Window(limit=4, seconds=0.3), Window(limit=6, seconds=1.0))
    policy = RateLimitPolicy(windows=windows, reset_kind="unix-timestamp")
    events = Recorder()  # send times: a first request that opens the connection arrives late
    async with serve(handler) as url, coldsend(url, rate_limit=policy, event_hooks=[events]) as c:
        await asyncio.gather(*(c.add_lead(CAMPAIGN, body=BODY) for _ in range(8)))
    arrivals = sorted(t for t, _ in events.of(RequestSent))
    start = arrivals[0]
    assert arrivals[3] - start < 0.1  # the first four go at once
    assert 0.29 <= arrivals[4] - start < 0.5  # the next two wait for the short window
    assert arrivals[6] - start >= 0.99  # the last two wait for the long window


async def test_rate_limit_false_drops_the_windows() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.json_response(lead_json("ada@example.com"), status=201)

    events = Recorder()
    async with serve(handler) as url, coldsend(url, rate_limit=False, event_hooks=[events]) as c:
        started = time.monotonic()
        await asyncio.gather(*(c.add_lead(CAMPAIGN, body=BODY) for _ in range(150)))
    assert time.monotonic() - started < 5  # 150 > Coldsend's 100 per minute
    assert not events.of(RateLimitWait)
    assert len(events.of(RequestSent)) == 150


async def test_events_tell_the_story_of_a_retried_call_and_a_broken_hook_changes_nothing() -> None:
    def broken(event: object) -> None:
        raise RuntimeError("metrics backend down")

    server = Store("500")
    events = Recorder()
    async with serve(server.handle) as url, coldsend(url, event_hooks=[broken, events]) as client:
        response = await client.add_lead_with_response(CAMPAIGN, body=BODY)
    assert response.attempts == 2
    story = [type(e).__name__ for _, e in events.events]
    assert story == [
        "RequestSent",
        "ResponseReceived",
        "RetryScheduled",
        "RequestSent",
        "ResponseReceived",
    ]
    [(_, retry)] = events.of(RetryScheduled)
    assert retry.reason == "ambiguous (backoff)"
    assert retry.attempt == 1
    assert 0 <= retry.delay <= 0.01
