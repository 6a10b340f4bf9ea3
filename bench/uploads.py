"""Uploads: leads through Coldsend's CSV upload (x-upload) into a sandbox at real rate limits.

A sandbox at time scale 1 (Coldsend's 100 per minute and 1,000 per hour, its jobs at the
sandbox's default 500 rows per second), in a thread of the bench's own process, takes the
load; a client process (``python -m bench.uploads URL N``) streams N generated leads
through `bulk_upload`, keeps no results, and prints its wall time, how many rows got
exactly one result, how many failed, and its peak RSS. The baseline is the single-lead
path's least time under the same windows (20 h for 20,000 rows). Memory: the same client
for N and 10 N rows against a sandbox 1,000 times faster, without rate limits.
"""

from __future__ import annotations

import asyncio
import json
import resource
import subprocess
import sys
import time
import urllib.request
from typing import Any

from generated.coldsend import ColdsendClient
from generated.coldsend.client import ADD_LEAD_UPLOAD
from leadkit.bulk import Outcome, bulk_upload

from .data import API_KEY, lead_rows
from .harness import ROOT, Contender, Row, Target, rows_of

__all__ = ["run"]

SCENARIO = "uploads"


def _stats(url: str) -> dict[str, int]:
    with urllib.request.urlopen(f"{url}/_sandbox/stats") as response:
        stats: dict[str, int] = json.load(response)
    return stats


async def _load(url: str, n: int) -> dict[str, Any]:
    """Upload `n` leads into a fresh campaign; what the parent reads of the run."""
    results = bytearray(n)  # results per row, in a byte each: flat however many
    failed = 0
    client = ColdsendClient(api_key=API_KEY, base_url=url)
    started = time.perf_counter()
    async with client:
        campaign = {"campaign_id": "9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d"}
        async for result in bulk_upload(
            client, ADD_LEAD_UPLOAD, lead_rows(n), path_params=campaign
        ):
            results[result.index] = min(results[result.index] + 1, 255)
            failed += result.outcome in (Outcome.FAILED, Outcome.INVALID)
    return {
        "seconds": time.perf_counter() - started,
        "once": results.count(1),
        "failed": failed,
        "rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }


def _client(url: str, n: int) -> dict[str, Any]:
    """Run the client process for `n` leads; its report."""
    args = [sys.executable, "-m", "bench.uploads", url, str(n)]
    done = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, check=True)
    report: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    if report["once"] != n or report["failed"]:
        raise RuntimeError(f"{SCENARIO}: not every row was created once: {report}")
    return report


def run(n: int, scale: float, single_peak: float | None) -> tuple[list[Row], list[Target]]:
    """`n` leads at time scale `scale` (1: real time) against the single path's least time;
    peak RSS for `n` and `10 n` leads, and against `single_peak` (MB), the single path's."""
    from leadkit.commands.load_eta import least_seconds  # not in the client process
    from leadkit.sandbox import SandboxConfig, running_in_thread

    declared = ColdsendClient.api.rate_limit
    assert declared is not None
    least = (
        least_seconds(n, declared.windows) / scale
    )  # the sandbox's windows pass `scale` x faster
    with running_in_thread(SandboxConfig(time_scale=scale)) as sandbox:
        url = sandbox.base_url("coldsend")
        timed = _client(url, n)
        stats = _stats(url)
    with running_in_thread(SandboxConfig(time_scale=1000, rate_limits=False)) as sandbox:
        large = _client(sandbox.base_url("coldsend"), 10 * n)
    scenario = f"{SCENARIO}: {n:,} leads, Coldsend's limits, sandbox x{scale:g}"
    contenders = [
        Contender("single-lead path, least time the windows allow", lambda: least),
        Contender("upload path (bulk_upload), wall time", lambda: timed["seconds"]),
    ]
    samples = {contenders[0].name: [least], contenders[1].name: [timed["seconds"]]}
    rows = rows_of(scenario, "s", contenders, samples)
    rows += [
        Row(scenario, "upload path: rows with exactly one result", "rows", timed["once"], None, 1),
        Row(scenario, "upload path: upload requests", "requests", stats.get("uploads", 0), None, 1),
        Row(scenario, "upload path: poll requests", "requests", stats.get("polls", 0), None, 1),
    ]
    peaks = {size: report["rss_kb"] * 1024 / 1e6 for size, report in ((n, timed), (10 * n, large))}
    rows += [
        Row(f"{SCENARIO}: peak RSS", f"upload path, {size:,} leads", "MB", peak, None, 1)
        for size, peak in peaks.items()
    ]
    targets = [
        Target(
            f"{SCENARIO}: {n:,} leads at x{scale:g}, wall time (s)", timed["seconds"], 120.0, False
        ),
        Target(
            f"{SCENARIO}: peak RSS, {10 * n:,} and {n:,} leads: difference (MB)",
            abs(peaks[10 * n] - peaks[n]),
            10.0,
            False,
        ),
        Target(
            f"{SCENARIO}: peak RSS, largest of the upload path / the single path's",
            None if single_peak is None else max(peaks.values()) / single_peak,
            1.2,
            False,
            "" if single_peak is not None else "the memory scenario did not run",
        ),
    ]
    return rows, targets


if __name__ == "__main__":
    print(json.dumps(asyncio.run(_load(sys.argv[1], int(sys.argv[2])))))
