"""The throughput contenders, each run alone in a client process of its own.

``python -m bench.clients NAME URL N LOOP [PEERS]`` creates N leads at the throughput server
with W requests in flight on the event loop LOOP (``asyncio`` or ``uvloop``) and prints one
JSON line: how many were created, the wall seconds of the run, and the user and system CPU
seconds this process spent in it. Set-up (imports, pre-serialised bodies, generated peers
from the folder PEERS) happens before the clock starts; the run itself includes opening
and closing the client.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import aiohttp

from leadkit.apis.coldsend import ColdsendClient
from leadkit.bulk import Outcome
from leadkit.runtime import DEFAULT_RETRY, RetryPolicy

from .data import API_KEY, CAMPAIGN_ID, LEAD_PATH, lead_rows

__all__ = ["JOBS", "WORKERS"]

WORKERS = 32
Job = Callable[[int], Coroutine[Any, Any, int]]
"""Creates `n` leads and returns how many succeeded."""
_HEADERS = {"Content-Type": "application/json", "X-API-Key": API_KEY}


async def _pool(rows: Iterator[Any], send: Callable[[Any], Awaitable[bool]]) -> int:
    """W workers draining one shared iterator; the number of successful sends."""

    async def worker() -> int:
        return sum([await send(row) for row in rows])

    return sum(await asyncio.gather(*(worker() for _ in range(WORKERS))))


def _session(url: str) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(url, connector=aiohttp.TCPConnector(limit=WORKERS))


def bare(url: str, n: int, _peers: Path | None) -> Job:
    """(a): posts bodies serialised before the clock starts and reads nothing from answers."""
    payloads = [json.dumps(row, separators=(",", ":")).encode() for row in lead_rows(n)]

    async def job(count: int) -> int:
        assert count == len(payloads)
        async with _session(url) as session:

            async def send(body: bytes) -> bool:
                async with session.post(LEAD_PATH, data=body, headers=_HEADERS) as response:
                    await response.read()
                    return response.status == 201

            return await _pool(iter(payloads), send)

    return job


def minimal(url: str, _n: int, _peers: Path | None) -> Job:
    """(a'): a user's minimal hand-written loop: json.dumps each row, json.loads each answer."""

    async def job(count: int) -> int:
        async with _session(url) as session:

            async def send(row: dict[str, Any]) -> bool:
                body = json.dumps(row).encode()
                async with session.post(LEAD_PATH, data=body, headers=_HEADERS) as response:
                    lead = json.loads(await response.read())
                    return response.status == 201 and "lead_id" in lead

            return await _pool(lead_rows(count), send)

    return job


def _ours(url: str, *, journal: bool, retry: RetryPolicy = DEFAULT_RETRY) -> Job:
    async def job(n: int) -> int:
        with tempfile.TemporaryDirectory(prefix="leadkit-bench-") as folder:
            path = Path(folder) / "journal.sqlite" if journal else None
            client = ColdsendClient(api_key=API_KEY, base_url=url, rate_limit=False, retry=retry)
            async with client:
                run = client.add_lead_bulk(
                    CAMPAIGN_ID, lead_rows(n), concurrency=WORKERS, journal=path
                )
                async for _ in run:
                    pass
        assert run.summary is not None
        created: int = run.summary.counts[Outcome.CREATED]
        return created

    return job


def ours(url: str, _n: int, _peers: Path | None) -> Job:
    """(b): our bulk helper through the generated client, no journal file."""
    return _ours(url, journal=False)


def ours_journal(url: str, _n: int, _peers: Path | None) -> Job:
    """(b) with a journal file (a fresh one per run)."""
    return _ours(url, journal=True)


def ours_journal_untrusted(url: str, _n: int, _peers: Path | None) -> Job:
    """(b) with a journal file and the conflict status not trusted: no row may be resent,
    so each row's 'sent' record is made durable before its request goes out."""
    return _ours(url, journal=True, retry=RetryPolicy(trust_conflict_status=False))


def opc(url: str, _n: int, peers: Path | None) -> Job:
    """(c): openapi-python-client's generated client (httpx), one call per row."""
    assert peers is not None
    sys.path.insert(0, str(peers))
    import opc_coldsend  # type: ignore[import-not-found]
    from opc_coldsend.api.default import add_lead  # type: ignore[import-not-found]
    from opc_coldsend.models import ManualLeadRequest  # type: ignore[import-not-found]

    async def job(n: int) -> int:
        client = opc_coldsend.AuthenticatedClient(
            base_url=url, token=API_KEY, prefix="", auth_header_name="X-API-Key"
        )
        campaign = UUID(CAMPAIGN_ID)
        async with client:

            async def send(row: dict[str, Any]) -> bool:
                body = ManualLeadRequest.from_dict(row)
                response = await add_lead.asyncio_detailed(campaign, client=client, body=body)
                return int(response.status_code) == 201 and response.parsed is not None

            return await _pool(lead_rows(n), send)

    return job


def ogen(url: str, _n: int, peers: Path | None) -> Job:
    """(d): openapi-generator's python client with the asyncio library, one call per row."""
    assert peers is not None
    sys.path.insert(0, str(peers / "ogen"))
    import ogen_coldsend  # type: ignore[import-not-found]

    async def job(n: int) -> int:
        config = ogen_coldsend.Configuration(host=url, api_key={"ApiKeyAuth": API_KEY})
        campaign = UUID(CAMPAIGN_ID)
        async with ogen_coldsend.ApiClient(config) as api_client:
            api = ogen_coldsend.DefaultApi(api_client)

            async def send(row: dict[str, Any]) -> bool:
                body = ogen_coldsend.ManualLeadRequest.from_dict(row)
                return await api.add_lead(campaign, body) is not None

            return await _pool(lead_rows(n), send)

    return job


JOBS: dict[str, Callable[[str, int, Path | None], Job]] = {
    "bare": bare,
    "minimal": minimal,
    "ours": ours,
    "ours-journal": ours_journal,
    "ours-journal-untrusted": ours_journal_untrusted,
    "opc": opc,
    "ogen": ogen,
}
"""Contender name -> a function of (server URL, N, peers folder) returning its job."""


def _loop_factory(loop: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    if loop == "asyncio":
        return None
    import uvloop

    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def measure(name: str, url: str, n: int, loop: str, peers: Path | None) -> dict[str, float]:
    """Run one contender once: created, wall seconds, user and system CPU seconds."""
    job = JOBS[name](url, n, peers)
    with asyncio.Runner(loop_factory=_loop_factory(loop)) as runner:
        before, started = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        created = runner.run(job(n))
        elapsed = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "created": created,
        "seconds": elapsed,
        "user": after.ru_utime - before.ru_utime,
        "system": after.ru_stime - before.ru_stime,
    }


if __name__ == "__main__":
    name, url, n, loop, *rest = sys.argv[1:]
    print(json.dumps(measure(name, url, int(n), loop, Path(rest[0]) if rest else None)))
