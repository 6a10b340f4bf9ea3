"""Streaming: the peak memory of a load does not grow with the number of rows.

The server is a minimal HTTP responder in a subprocess, so that only the client's side
is measured (tracemalloc) and its cost does not slow the run down.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tracemalloc
from collections.abc import Iterator

import pytest

from leadkit.apis.coldsend.client import ADD_LEAD, ColdsendClient
from leadkit.bulk import Outcome, bulk_create
from tests.processes import running

_RESPONDER = r"""
import asyncio, json, sys, uuid
NULLS = "batch_id first_name last_name company last_contacted_at opened_at replied_at"
LEAD = dict.fromkeys(NULLS.split())
LEAD.update(lead_id=str(uuid.uuid4()), email="a@example.com", status="PENDING")
LEAD.update(created_at="2026-01-01T00:00:00+00:00")
BODY = json.dumps(LEAD).encode()
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
RESPONSE = HEAD % len(BODY) + BODY
async def serve(reader, writer):
    while not reader.at_eof():
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        await reader.readexactly(length)
        writer.write(RESPONSE)
async def main():
    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()
asyncio.run(main())
"""


@pytest.fixture(scope="module")
def responder() -> Iterator[str]:
    with running(sys.executable, "-c", _RESPONDER, stdout=subprocess.PIPE) as process:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        yield f"http://127.0.0.1:{port}"


def _rows(n: int) -> Iterator[dict[str, str]]:
    for i in range(n):
        yield {"email": f"lead{i}@example.com", "first_name": "Ann", "company": "Acme"}


async def _peak(url: str, n: int) -> int:
    async with ColdsendClient(api_key="cs_live_k", base_url=url, rate_limit=False) as client:
        params = {"campaign_id": "3f1c2a9e-0000-4000-8000-000000000001"}
        run = bulk_create(client, ADD_LEAD, _rows(n), path_params=params, concurrency=16)
        tracemalloc.start()
        try:
            created = 0
            async for result in run:
                created += result.outcome is Outcome.CREATED
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert created == n
    return peak


@pytest.mark.slow
def test_peak_memory_does_not_grow_with_the_input(responder: str) -> None:
    # ten times the rows, the same peak; 1,000,000 rows (peak RSS) is in the benchmarks
    small = asyncio.run(_peak(responder, 2_000))
    large = asyncio.run(_peak(responder, 20_000))
    print(f"tracemalloc peak: 2,000 rows {small} B, 20,000 rows {large} B")
    assert large < small * 1.25 + 256 * 1024
