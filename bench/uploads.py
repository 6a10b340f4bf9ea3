"""Uploads: leads through Coldsend's CSV upload (x-upload) into a sandbox at real rate limits.

A sandbox at time scale 1 (Coldsend's 100 per minute and 1,000 per hour, its jobs at the
sandbox's default 500 rows per second), in a thread of the bench's own process, takes the
load; a client process (``python -m bench.uploads URL N upload``) streams N generated leads
through `bulk_upload`, keeps no results, and prints its wall time, how many rows got
exactly one result, how many failed, and its peak RSS. The baseline is the single-lead
path's least time under the same windows (20 h for 20,000 rows). Memory: the same client
for N and 10 N leads, and the single-lead path's (``... N single``: `add_lead_bulk`) for N,
against a sandbox 1,000 times faster without rate limits.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import urllib.request
from typing import Any

from leadkit.apis.coldsend import ColdsendClient
from leadkit.apis.coldsend.client import ADD_LEAD_UPLOAD
from leadkit.bulk import Outcome, bulk_upload

from .data import API_KEY, CAMPAIGN_ID, lead_rows
from .harness import ROOT, Contender, Row, Target, peak_rss_kib, rows_of

__all__ = ["run"]

SCENARIO = "uploads"


def _stats(url: str) -> dict[str, int]:
    with urllib.request.urlopen(f"{url}/_sandbox/stats") as response:
        stats: dict[str, int] = json.load(response)
    return stats


async def _load(url: str, n: int, path: str) -> dict[str, Any]:
    """Load `n` leads into a fresh campaign by `path` ("upload": `bulk_upload`; "single":
    `add_lead_bulk`, 32 in flight); what the parent reads of the run."""
    results = bytearray(n)  # results per row, in a byte each: flat however many
    failed = 0
    paced = path == "upload"  # the single path against a sandbox without limits: unpaced
    client = ColdsendClient(api_key=API_KEY, base_url=url, rate_limit=None if paced else False)
    started = time.perf_counter()
    async with client:
        if path == "upload":
            campaign = {"campaign_id": CAMPAIGN_ID}
            run = bulk_upload(client, ADD_LEAD_UPLOAD, lead_rows(n), path_params=campaign)
        else:
            run = client.add_lead_bulk(CAMPAIGN_ID, lead_rows(n), concurrency=32)
        async for result in run:
            results[result.index] = min(results[result.index] + 1, 255)
            failed += result.outcome in (Outcome.FAILED, Outcome.INVALID)
    return {
        "seconds": time.perf_counter() - started,
        "once": results.count(1),
        "failed": failed,
        "peak_kb": peak_rss_kib(),
    }


def _client(url: str, n: int, path: str = "upload") -> dict[str, Any]:
    """Run the client process for `n` leads by `path`; its report."""
    args = [sys.executable, "-m", "bench.uploads", url, str(n), path]
    done = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, check=True)
    report: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    if report["once"] != n or report["failed"]:
        raise RuntimeError(f"{SCENARIO}: not every row was created once: {report}")
    return report


def run(n: int, scale: float) -> tuple[list[Row], list[Target]]:
    """`n` leads at time scale `scale` (1: real time) against the single path's least time;
    peak RSS of the upload path for `n` and `10 n` leads, and of the single path for `n`."""
    from leadkit.commands.load_eta import paced_seconds  # not in the client process
    from leadkit.sandbox import SandboxConfig, running_in_thread

    declared = ColdsendClient.api.rate_limit
    assert declared is not None
    least = (
        paced_seconds(n, declared.windows) / scale
    )  # the sandbox's windows pass `scale` x faster
    with running_in_thread(SandboxConfig(time_scale=scale)) as sandbox:
        url = sandbox.base_url("coldsend")
        timed = _client(url, n)
        stats = _stats(url)
    with running_in_thread(SandboxConfig(time_scale=1000, rate_limits=False)) as sandbox:
        large = _client(sandbox.base_url("coldsend"), 10 * n)
    with running_in_thread(SandboxConfig(time_scale=1000, rate_limits=False)) as sandbox:
        single = _client(sandbox.base_url("coldsend"), n, "single")
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
    peaks = {
        f"single-lead path (add_lead_bulk), {n:,} leads": single["peak_kb"] * 1024 / 1e6,
        f"upload path, {n:,} leads": timed["peak_kb"] * 1024 / 1e6,
        f"upload path, {10 * n:,} leads": large["peak_kb"] * 1024 / 1e6,
    }
    memory = [Contender(name, None) for name in peaks]
    rows += rows_of(f"{SCENARIO}: peak RSS", "MB", memory, {k: [v] for k, v in peaks.items()})
    single_peak, small, big = peaks.values()
    targets = [
        Target(
            f"{SCENARIO}: {n:,} leads at x{scale:g}, wall time (s)", timed["seconds"], 120.0, False
        ),
        Target(
            f"{SCENARIO}: peak RSS, {10 * n:,} and {n:,} leads: difference (MB)",
            abs(big - small),
            10.0,
            False,
        ),
        Target(
            f"{SCENARIO}: peak RSS, largest of the upload path / the single path's",
            max(small, big) / single_peak,
            1.2,
            False,
        ),
    ]
    return rows, targets


if __name__ == "__main__":
    print(json.dumps(asyncio.run(_load(sys.argv[1], int(sys.argv[2]), sys.argv[3]))))
