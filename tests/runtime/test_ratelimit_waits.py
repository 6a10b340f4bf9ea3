"""A client's RateLimitWait events say why a call waits: the window that sets its slot, the
server's spent budget with the window its headers describe, or a 429's pause."""

from __future__ import annotations

import time

from aiohttp import web

from leadkit.runtime import RateLimitPolicy, RateLimitWait, Window
from tests.transport_support import CAMPAIGN, Recorder, coldsend, lead_json, serve

BODY = {"email": "ada@example.com"}


async def test_each_wait_says_its_kind_and_window() -> None:
    answers = [
        ("201", {}),  # the window of 2 per second: the third call waits for it
        ("201", {}),
        (
            "201",
            {"X-RateLimit-Limit": "1000", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1"},
        ),
        ("429", {"Retry-After": "1"}),  # the fourth is refused: a pause, then it goes
        ("201", {}),
    ]

    async def handle(request: web.Request) -> web.Response:
        await request.read()
        status, headers = answers.pop(0)
        if status == "429":
            return web.json_response({"detail": "slow down"}, status=429, headers=headers)
        return web.json_response(lead_json("ada@example.com"), status=201, headers=headers)

    second, hour = Window(2, 1.0), Window(1000, 3600.0)
    policy = RateLimitPolicy(windows=(second, hour))
    events = Recorder()
    async with (
        serve(handle) as url,
        coldsend(url, rate_limit=policy, event_hooks=[events]) as client,
    ):
        for _ in range(2):
            await client.add_lead(CAMPAIGN, body=BODY)
        started = time.monotonic()
        await client.add_lead(CAMPAIGN, body=BODY)  # waits for the window; its answer spends
        await client.add_lead(CAMPAIGN, body=BODY)  # the hour's budget: waits for its reset
        assert time.monotonic() - started >= 1.0
    waits = [(e.kind, e.window) for _, e in events.of(RateLimitWait)]
    assert waits[0] == ("window", second)
    assert ("budget", hour) in waits
    assert waits[-1] == ("pause", None)
    assert all(e.delay > 0 for _, e in events.of(RateLimitWait))
