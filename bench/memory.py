"""Memory: peak RSS of a bulk run streaming N generated leads to the throughput server.

Each run is a fresh child process (``python -m bench.memory URL N``) that streams the rows
through ``add_lead_bulk`` without keeping results and prints its peak RSS in KiB.
"""

from __future__ import annotations

import asyncio
import resource
import subprocess
import sys
from functools import partial

from generated.coldsend import ColdsendClient

from .data import API_KEY, CAMPAIGN_ID, lead_rows
from .harness import ROOT, Contender, Row, Target, interleave, rows_of

__all__ = ["run"]

CONCURRENCY = 32


async def _stream(url: str, n: int) -> None:
    client = ColdsendClient(api_key=API_KEY, base_url=url, rate_limit=False)
    async with client:
        run = client.add_lead_bulk(CAMPAIGN_ID, lead_rows(n), concurrency=CONCURRENCY)
        async for _ in run:
            pass
    if run.summary is None or not run.summary.all_succeeded:
        raise RuntimeError(f"memory: the bulk run did not create all {n} rows: {run.summary}")


def _peak_mb(url: str, n: int) -> float:
    """Peak RSS in MB (10^6 bytes) of a child process streaming `n` leads."""
    args = [sys.executable, "-m", "bench.memory", url, str(n)]
    done = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, check=True)
    return int(done.stdout.split()[-1]) * 1024 / 1e6


def run(url: str, sizes: tuple[int, int], rounds: int) -> tuple[list[Row], list[Target]]:
    """Peak RSS of the small and the large run, and the targets on them."""
    contenders = [Contender(f"bulk run, {n:,} leads", partial(_peak_mb, url, n)) for n in sizes]
    rows = rows_of("memory: peak RSS", "MB", contenders, interleave(contenders, rounds))
    small, large = (row.median or 0.0 for row in rows)
    targets = [
        Target(f"memory: {sizes[1]:,} minus {sizes[0]:,} leads (MB)", large - small, 10.0, False),
        Target(f"memory: peak RSS of {sizes[1]:,} leads (MB)", max(small, large), 100.0, False),
    ]
    return rows, targets


if __name__ == "__main__":
    asyncio.run(_stream(sys.argv[1], int(sys.argv[2])))
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
