"""Throughput: N creates against the local server process, no rate limit, W requests at once.

(a) a bare aiohttp worker pool posting pre-serialised JSON is this machine's limit for the
job; (b) is our bulk helper through the generated client; (c) openapi-python-client (httpx);
(d) openapi-generator's python client with the asyncio library. Each contender runs W
workers (our bulk helper: ``concurrency=W``) over one shared stream of rows.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from typing import Any
from uuid import UUID

import aiohttp

from generated.coldsend import ColdsendClient
from leadkit.bulk import Outcome

from .data import API_KEY, CAMPAIGN_ID, LEAD_PATH, lead_rows
from .harness import Contender, Row, Target, interleave, rows_of
from .peers import Peers

__all__ = ["run"]

Job = Callable[[int], Coroutine[Any, Any, int]]
"""Creates `n` leads and returns how many succeeded."""

WORKERS = 32
SCENARIO = "throughput"


async def _pool(rows: Iterator[Any], send: Callable[[Any], Awaitable[bool]]) -> int:
    """W workers draining one shared iterator; the number of successful sends."""

    async def worker() -> int:
        return sum([await send(row) for row in rows])

    return sum(await asyncio.gather(*(worker() for _ in range(WORKERS))))


def _timed(n: int, job: Job) -> Callable[[], float]:
    """A sampler: requests per second of one run of `job(n)`, which must create all `n`."""

    def sample() -> float:
        started = time.perf_counter()
        created = asyncio.run(job(n))
        elapsed = time.perf_counter() - started
        if created != n:
            raise RuntimeError(f"{SCENARIO}: {created} of {n} creates succeeded")
        return n / elapsed

    return sample


def _bare(url: str, n: int) -> Job:
    headers = {"Content-Type": "application/json", "X-API-Key": API_KEY}
    # serialised before any timing: the baseline does only the HTTP work
    payloads = [json.dumps(row, separators=(",", ":")).encode() for row in lead_rows(n)]

    async def job(count: int) -> int:
        assert count == len(payloads)
        connector = aiohttp.TCPConnector(limit=WORKERS)
        async with aiohttp.ClientSession(url, connector=connector) as session:

            async def send(body: bytes) -> bool:
                async with session.post(LEAD_PATH, data=body, headers=headers) as response:
                    await response.read()
                    return response.status == 201

            return await _pool(iter(payloads), send)

    return job


def _ours(url: str) -> Job:
    async def job(n: int) -> int:
        client = ColdsendClient(api_key=API_KEY, base_url=url, rate_limit=False)
        async with client:
            run = client.add_lead_bulk(CAMPAIGN_ID, lead_rows(n), concurrency=WORKERS)
            async for _ in run:
                pass
        assert run.summary is not None
        created: int = run.summary.counts[Outcome.CREATED]
        return created

    return job


def _opc(url: str, peers: Peers) -> Job | str:
    peer = peers.opc()
    if peer.module is None:
        return peer.why_not
    opc: Any = peer.module
    from opc_coldsend.api.default import add_lead  # type: ignore[import-not-found]
    from opc_coldsend.models import ManualLeadRequest  # type: ignore[import-not-found]

    async def job(n: int) -> int:
        client = opc.AuthenticatedClient(
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


def _ogen(url: str, peers: Peers) -> Job | str:
    peer = peers.ogen()
    if peer.module is None:
        return peer.why_not
    ogen: Any = peer.module

    async def job(n: int) -> int:
        config = ogen.Configuration(host=url, api_key={"ApiKeyAuth": API_KEY})
        campaign = UUID(CAMPAIGN_ID)
        async with ogen.ApiClient(config) as api_client:
            api = ogen.DefaultApi(api_client)

            async def send(row: dict[str, Any]) -> bool:
                body = ogen.ManualLeadRequest.from_dict(row)
                return await api.add_lead(campaign, body) is not None

            return await _pool(lead_rows(n), send)

    return job


def run(url: str, n: int, rounds: int, peers: Peers | None) -> tuple[list[Row], list[Target]]:
    """Measure every contender; peers only when `peers` is given (not in quick mode)."""
    jobs: list[tuple[str, Job | str]] = [
        ("(a) bare aiohttp pool, pre-serialised JSON", _bare(url, n)),
        ("(b) leadkit bulk helper, generated client", _ours(url)),
    ]
    if peers is not None:
        jobs += [
            ("(c) openapi-python-client (httpx)", _opc(url, peers)),
            ("(d) openapi-generator python, asyncio", _ogen(url, peers)),
        ]
    contenders = [
        Contender(name, None, job) if isinstance(job, str) else Contender(name, _timed(n, job))
        for name, job in jobs
    ]
    samples = interleave(contenders, rounds)
    rows = rows_of(f"{SCENARIO}: {n:,} creates, {WORKERS} in flight", "req/s", contenders, samples)
    a, b = rows[0].median, rows[1].median
    targets = [Target("throughput: (b) / (a)", b / a if a and b else None, 0.85, at_least=True)]
    if peers is not None:
        c = rows[2].median
        why = rows[2].why_not
        targets.append(Target("throughput: (b) / (c)", b / c if b and c else None, 10.0, True, why))
    return rows, targets
