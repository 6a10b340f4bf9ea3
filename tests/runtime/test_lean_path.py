"""The lean success path and the full path give the same results and the same errors.

Every call below runs twice against the same scripted answers: once with nothing listening
(the lean path: no event hooks, no debug logging) and once with an event hook (the full
path). The results, the errors (every field), the attempts the server saw, the journal
hooks' calls and the rate limiter's state afterwards must be the same.
"""

from __future__ import annotations

import asyncio
import email.utils
import gzip
import json
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

import attrs
import pytest
from aiohttp import web

from leadkit.apis.breakcold.client import CREATE_LEAD
from leadkit.apis.coldsend.client import ADD_LEAD
from leadkit.runtime import APIError, ApiResponse, RetryPolicy
from leadkit.runtime.api import OperationSpec
from leadkit.runtime.client import BaseClient
from leadkit.runtime.events import RequestSent, ResponseReceived
from tests.transport_support import CAMPAIGN, KEY, Recorder, breakcold, coldsend, lead_json, serve

RETRY = RetryPolicy(max_attempts=3, max_elapsed=10.0, backoff_base=0.01, backoff_cap=0.02)
BODY = {"email": "ada@example.com", "first_name": "Ada"}
LEAD = lead_json("ada@example.com")


@attrs.frozen
class Answer:
    """One scripted answer: a status, a body (JSON or bytes), headers, or a fault."""

    status: int = 201
    body: Any = attrs.field(factory=lambda: LEAD)
    headers: dict[str, str] = attrs.field(factory=dict)
    fault: str = ""  # "cut": the body breaks off; "gzip": compressed; "huge": past the cap


def _raw(answer: Answer) -> bytes:
    if isinstance(answer.body, bytes):
        return answer.body
    return json.dumps(answer.body).encode()


def _soon() -> str:
    """An HTTP date one second ahead (the format's resolution)."""
    return email.utils.formatdate(time.time() + 1, usegmt=True)


def _reset_now() -> str:
    return str(int(time.time()))


SCENARIOS: dict[str, list[Answer]] = {
    "201": [Answer()],
    "200": [Answer(status=200)],
    "201 with a key echoed in body and header": [
        Answer(body={**LEAD, "company": f"echo {KEY}"}, headers={"X-Echo": KEY})
    ],
    "201 with a 19-digit number": [Answer(body=b'{"lead_id": 1234567890123456789012}')],
    "201 not JSON": [Answer(body=b"<html>ok</html>")],
    "201 empty": [Answer(body=b"")],
    "201 whitespace": [Answer(body=b"  \n")],
    "201 NaN where a string belongs": [Answer(body=b'{"lead_id": NaN}')],
    "201 not matching": [Answer(body={**LEAD, "status": 7})],
    "201 a list": [Answer(body=[LEAD])],
    "201 nested too deep": [Answer(body=b"[" * 5000 + b"]" * 5000)],
    "201 gzip": [Answer(fault="gzip")],
    "201 too long": [Answer(fault="huge")],
    "202 undeclared": [Answer(status=202)],
    "204 undeclared": [Answer(status=204, body=b"")],
    "400": [Answer(status=400, body={"detail": "bad request"})],
    "422 with field errors": [
        Answer(
            status=422,
            body={"detail": [{"loc": ["body", "email"], "msg": "not an email", "type": "x"}]},
        )
    ],
    "401 echoing the key": [
        Answer(status=401, body={"detail": f"key {KEY} invalid"}, headers={"X-Key": KEY})
    ],
    "403": [Answer(status=403, body={"detail": "forbidden"})],
    "404 html": [Answer(status=404, body=b"<html>missing</html>")],
    "429 Retry-After seconds, then 201": [
        Answer(status=429, body={"detail": "slow"}, headers={"Retry-After": "0"}),
        Answer(),
    ],
    "429 Retry-After date, then 201": [
        Answer(status=429, body={"detail": "slow"}, headers={"Retry-After": "@soon"}),
        Answer(),
    ],
    "429 Reset header, then 201": [
        Answer(status=429, body={"detail": "slow"}, headers={"X-RateLimit-Reset": "@now"}),
        Answer(),
    ],
    "429 body pattern, then 201": [
        Answer(status=429, body={"detail": "Rate limit exceeded. Retry after 0 seconds."}),
        Answer(),
    ],
    "429 three times": [Answer(status=429, body={"detail": "x"}, headers={"Retry-After": "0"})] * 3,
    "500, then 201": [Answer(status=500, body={"detail": "oops"}), Answer()],
    "503 three times": [Answer(status=503, body=b"busy", headers={"Retry-After": "0"})] * 3,
    "cut body, then 409": [Answer(fault="cut"), Answer(status=409, body={"detail": "exists"})],
    "cut body three times": [Answer(fault="cut")] * 3,
    "201 teaching a window": [
        Answer(
            headers={
                "X-RateLimit-Limit": "50",
                "X-RateLimit-Remaining": "49",
                "X-RateLimit-Reset": "@now+60",
            }
        )
    ],
    "201 with Remaining 0": [
        Answer(
            headers={
                "X-RateLimit-Limit": "100",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": "@now+30",
            }
        )
    ],
}


def _headers(answer: Answer) -> dict[str, str]:
    values = {"@soon": _soon(), "@now": _reset_now(), "@now+60": str(int(time.time()) + 60)}
    values["@now+30"] = str(int(time.time()) + 30)
    return {name: values.get(value, value) for name, value in answer.headers.items()}


class Script:
    """A server answering each request with the next scripted answer."""

    def __init__(self, answers: list[Answer]) -> None:
        self.answers = list(answers)
        self.seen = 0

    async def handle(self, request: web.Request) -> web.StreamResponse:
        await request.read()
        self.seen += 1
        answer = self.answers.pop(0)
        headers = {"Content-Type": "application/json", **_headers(answer)}
        if answer.fault == "cut":
            response = web.StreamResponse(status=201, headers={"Content-Length": "400"})
            await response.prepare(request)
            await response.write(b'{"lead_id": ')
            assert request.transport is not None
            request.transport.close()
            return response
        if answer.fault == "gzip":
            headers["Content-Encoding"] = "gzip"
            return web.Response(
                status=answer.status, body=gzip.compress(_raw(answer)), headers=headers
            )
        if answer.fault == "huge":
            response = web.StreamResponse(status=answer.status, headers=headers)
            await response.prepare(request)
            for _ in range(5):
                await response.write(b" " * (1024 * 1024))
            await response.write_eof()
            return response
        return web.Response(status=answer.status, body=_raw(answer), headers=headers)


def _fields(value: Any) -> Any:
    """What a result or an error shows, field by field (times left out)."""
    if isinstance(value, ApiResponse):
        return ("response", value.status, dict(value.headers), value.parsed, value.attempts,
                value.learned)  # fmt: skip
    assert isinstance(value, APIError), f"not an APIError: {value!r}"
    shown = {k: v for k, v in vars(value).items() if k not in ("elapsed", "headers", "cause")}
    shown["headers"] = dict(getattr(value, "headers", {}) or {})
    cause = getattr(value, "cause", None)
    return (type(value), str(value), shown, _fields(cause) if cause is not None else None)


def _without_date(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() != "date"}


async def _run(
    answers: list[Answer],
    make: Callable[..., BaseClient],
    op: OperationSpec[Any],
    path_params: dict[str, Any],
    *,
    listen: bool,
) -> dict[str, Any]:
    """Make one call against `answers`; everything it shows."""
    script = Script(answers)
    events = Recorder()
    journal: list[str] = []
    hooks = [events] if listen else []
    async with serve(script.handle) as url, make(url, retry=RETRY, event_hooks=hooks) as client:
        assert client._sender.lean is not listen
        try:
            outcome: Any = await client.call(
                op,
                path_params=path_params,
                body=BODY,
                before_send=lambda: journal.append("sent"),
                unsent_again=lambda: journal.append("unsent"),
            )
        except APIError as error:
            outcome = error
        limiter = client._sender.limiter
        state = (limiter.windows, limiter._budget, limiter._pause, limiter.free_now(1))
    shown = _fields(outcome)
    if isinstance(outcome, ApiResponse):
        shown = (*shown[:2], _without_date(shown[2]), *shown[3:])
    else:
        shown[2]["headers"] = _without_date(shown[2]["headers"])
    if listen:  # the full path reported each attempt, and each answer it read
        assert len(events.of(RequestSent)) == script.seen
        assert len(events.of(ResponseReceived)) <= script.seen
    return {"outcome": shown, "requests": script.seen, "journal": journal, "limiter": state}


CLIENTS = {
    "coldsend": (coldsend, ADD_LEAD, {"campaign_id": CAMPAIGN}),
    "breakcold": (breakcold, CREATE_LEAD, {}),
}


@pytest.mark.parametrize("api", CLIENTS)
@pytest.mark.parametrize("scenario", SCENARIOS)
async def test_the_lean_and_the_full_path_show_the_same(scenario: str, api: str) -> None:
    make, op, path_params = CLIENTS[api]
    lean = await _run(SCENARIOS[scenario], make, op, path_params, listen=False)
    full = await _run(SCENARIOS[scenario], make, op, path_params, listen=True)
    assert lean == full
    assert KEY not in repr(lean)


async def test_debug_logging_takes_the_full_path(caplog: pytest.LogCaptureFixture) -> None:
    async with serve(Script([Answer()]).handle) as url, coldsend(url) as client:
        assert client._sender.lean
        with caplog.at_level(logging.DEBUG, logger="leadkit"):
            assert not client._sender.lean
            await client.add_lead(CAMPAIGN, body=BODY)
        assert client._sender.lean
    assert any("attempt 1 -> 201" in record.getMessage() for record in caplog.records)


async def test_the_lean_path_serves_calls_at_once() -> None:
    """Many calls at once on the lean path: each gets its own answer, none is lost."""

    async def echo(request: web.Request) -> web.Response:
        sent = json.loads(await request.read())
        return web.json_response(lead_json(sent["email"]), status=201)

    async with serve(echo) as url, coldsend(url, rate_limit=False) as client:
        emails = [f"u{i}@example.com" for i in range(50)]
        leads = await asyncio.gather(
            *(client.add_lead(CAMPAIGN, body={"email": e}) for e in emails)
        )
    assert [lead.email for lead in leads] == emails


async def test_urls_and_headers_made_once_follow_each_calls_values() -> None:
    """The URL and headers a client keeps between calls never stand in for other values."""
    seen: list[tuple[str, str | None, str | None]] = []

    async def record(request: web.Request) -> web.Response:
        await request.read()
        seen.append(
            (request.path, request.headers.get("X-Trace"), request.headers.get("X-Api-Key"))
        )
        return web.json_response(lead_json("ada@example.com"), status=201)

    other = "4d0b3f6e-2a7c-4e8b-9f1d-0c5a6b7e8f90"
    async with serve(record) as url, coldsend(url, rate_limit=False) as client:
        await client.add_lead(CAMPAIGN, body=BODY)
        await client.add_lead(CAMPAIGN, body=BODY, extra_headers={"X-Trace": "t1"})
        await client.add_lead(other, body=BODY)
        await client.add_lead(uuid.UUID(other), body=BODY)
        traced = client.with_options(extra_headers={"X-Trace": "t2"})
        await traced.add_lead(CAMPAIGN, body=BODY)
        await client.add_lead(CAMPAIGN, body=BODY)
        for value in (1, True, 1):  # 1 == True, but the one is sent as "true"
            await client.call(ADD_LEAD, path_params={"campaign_id": value}, body=BODY)
        listed = [1]  # a mutable value: its URL is never kept
        await client.call(ADD_LEAD, path_params={"campaign_id": listed}, body=BODY)
        listed.append(2)
        await client.call(ADD_LEAD, path_params={"campaign_id": listed}, body=BODY)
        for bad in ("..", "."):
            with pytest.raises(ValueError, match="would change the request's path"):
                await client.add_lead(bad, body=BODY)
    path = "/api/public/v1/campaigns/{}/leads/manual"
    assert seen == [
        (path.format(CAMPAIGN), None, KEY),
        (path.format(CAMPAIGN), "t1", KEY),
        (path.format(other), None, KEY),
        (path.format(other), None, KEY),
        (path.format(CAMPAIGN), "t2", KEY),
        (path.format(CAMPAIGN), None, KEY),
        *[(path.format(v), None, KEY) for v in ("1", "true", "1", "[1]", "[1, 2]")],
    ]
