"""Memory: peak RSS of a bulk run streaming N generated leads to the throughput server.

Each run is a fresh child process (``python -m bench.memory URL N [journal]``) that streams
the rows through ``add_lead_bulk`` without keeping results, without a journal or with a
journal file, and prints its peak RSS in KiB (its own: see `peak_rss_kib`).
"""

from __future__ import annotations

import asyncio
import itertools
import subprocess
import sys
import tempfile
from functools import partial
from pathlib import Path

from leadkit.apis.coldsend import ColdsendClient

from .data import API_KEY, CAMPAIGN_ID, lead_rows
from .harness import ROOT, Contender, Row, Target, interleave, peak_rss_kib, rows_of

__all__ = ["run"]

CONCURRENCY = 32


async def _stream(url: str, n: int, journal: Path | None) -> None:
    client = ColdsendClient(api_key=API_KEY, base_url=url, rate_limit=False)
    async with client:
        rows = lead_rows(n)
        run = client.add_lead_bulk(CAMPAIGN_ID, rows, concurrency=CONCURRENCY, journal=journal)
        async for _ in run:
            pass
    if run.summary is None or not run.summary.all_succeeded:
        raise RuntimeError(f"memory: the bulk run did not create all {n} rows: {run.summary}")


def _peak_mb(url: str, n: int, journal: bool) -> float:
    """Peak RSS in MB (10^6 bytes) of a child process streaming `n` leads."""
    args = [sys.executable, "-m", "bench.memory", url, str(n)] + (["journal"] if journal else [])
    done = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, check=True)
    return int(done.stdout.split()[-1]) * 1024 / 1e6


def run(url: str, sizes: tuple[int, int], rounds: int) -> tuple[list[Row], list[Target]]:
    """Peak RSS of the small and the large run, without and with a journal file, and the
    targets on them: all within 10 MB of each other, all under 100 MB."""
    contenders = [
        Contender(
            f"bulk run, {n:,} leads{', journal file' if journal else ''}",
            partial(_peak_mb, url, n, journal),
        )
        for journal, n in itertools.product((False, True), sizes)
    ]
    rows = rows_of("memory: peak RSS", "MB", contenders, interleave(contenders, rounds))
    peaks = [row.median or 0.0 for row in rows]
    targets = [
        Target(
            f"memory: {sizes[0]:,} and {sizes[1]:,} leads, journal or not: largest minus "
            "smallest (MB)",
            max(peaks) - min(peaks),
            10.0,
            at_least=False,
        ),
        Target("memory: peak RSS of the largest of these runs (MB)", max(peaks), 100.0, False),
    ]
    return rows, targets


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="leadkit-bench-") as folder:
        journal = Path(folder) / "journal.sqlite" if sys.argv[3:] == ["journal"] else None
        asyncio.run(_stream(sys.argv[1], int(sys.argv[2]), journal))
    print(peak_rss_kib())
