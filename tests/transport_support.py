"""Helpers of the transport tests: purpose-built servers on 127.0.0.1, clients, a key."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import attrs
from aiohttp import web

from leadkit.apis.breakcold.client import BreakcoldClient
from leadkit.apis.coldsend.client import ColdsendClient
from leadkit.runtime import Event, RetryPolicy

__all__ = [
    "CAMPAIGN",
    "FAST",
    "KEY",
    "Recorder",
    "breakcold",
    "coldsend",
    "lead_json",
    "serve",
]

KEY = "cs_live_s3cr3t-K3Y-never-printed-7f1c2e"
CAMPAIGN = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
FAST = RetryPolicy(max_attempts=4, max_elapsed=10.0, backoff_base=0.01, backoff_cap=0.05)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@asynccontextmanager
async def serve(handler: Handler) -> AsyncIterator[str]:
    """Run `handler` for every path on 127.0.0.1; yield the root URL."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


def lead_json(email: str) -> dict[str, Any]:
    """A Coldsend LeadResponse body."""
    return {
        "lead_id": "0f2b8e34-0c53-4a7a-9d1e-1f5a8e9b2c11",
        "batch_id": None,
        "email": email,
        "first_name": None,
        "last_name": None,
        "company": None,
        "status": "PENDING",
        "last_contacted_at": None,
        "opened_at": None,
        "replied_at": None,
        "created_at": "2025-01-01T00:00:00Z",
    }


@attrs.define
class Recorder:
    """An event hook that keeps every event with the monotonic time it arrived."""

    events: list[tuple[float, Event]] = attrs.field(factory=list)

    def __call__(self, event: Event) -> None:
        self.events.append((time.monotonic(), event))

    def of(self, kind: type[Any]) -> list[tuple[float, Any]]:
        """The (time, event) pairs of one event class."""
        return [(t, e) for t, e in self.events if isinstance(e, kind)]


def coldsend(base_url: str, **kwargs: Any) -> ColdsendClient:
    """A Coldsend client with the test key and fast retries unless told otherwise."""
    kwargs.setdefault("retry", FAST)
    return ColdsendClient(api_key=KEY, base_url=base_url, **kwargs)


def breakcold(base_url: str, **kwargs: Any) -> BreakcoldClient:
    """A Breakcold client with the test key and fast retries unless told otherwise."""
    kwargs.setdefault("retry", FAST)
    return BreakcoldClient(api_key=KEY, base_url=base_url, **kwargs)
