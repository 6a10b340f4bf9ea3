"""Rate-limit utilisation: creates against the sandbox enforcing Coldsend's limits, time-scaled.

The sandbox enforces Coldsend's windows (100 per minute, 1,000 per hour) sped up `scale`
times; the client is told the same scaled windows. The full run loads five windows' worth
of the window that binds a long run (the hour: 5,000 rows). The allowed rate is N over the
earliest time at which the sandbox's own limiter, fed back to back, would have admitted all
N requests; utilisation is the achieved rate over it.
"""

from __future__ import annotations

import asyncio
import time

import attrs

from generated.coldsend import ColdsendClient
from leadkit.runtime import RateLimitPolicy, Window
from leadkit.sandbox import Sandbox, SandboxConfig
from leadkit.sandbox.ratelimit import Clock, RateLimiter

from .data import API_KEY, CAMPAIGN_ID, lead_rows
from .harness import Contender, Row, Target, interleave, rows_of

__all__ = ["run"]

SCENARIO = "rate limit"


def _scaled(scale: float) -> RateLimitPolicy:
    declared = ColdsendClient.api.rate_limit
    assert declared is not None
    windows = tuple(Window(w.limit, w.seconds / scale) for w in declared.windows)
    return attrs.evolve(declared, windows=windows)


def five_windows() -> int:
    """Five windows' worth of the window with the lowest sustained rate."""
    declared = ColdsendClient.api.rate_limit
    assert declared is not None
    return 5 * min(declared.windows, key=lambda w: w.limit / w.seconds).limit


def _ideal_seconds(scale: float, n: int) -> float:
    """Wall seconds from the first to the last of `n` requests sent as early as allowed."""
    declared = ColdsendClient.api.rate_limit
    assert declared is not None
    now = [0.0]
    limiter = RateLimiter(declared, Clock(scale, monotonic=lambda: now[0]))
    for _ in range(n):
        while not (decision := limiter.hit(API_KEY)).allowed:
            now[0] += decision.reset_after
    return now[0]


async def _load(scale: float, n: int) -> tuple[float, float]:
    """(utilisation, share of 429 answers in %) of one run of `n` rows on a fresh sandbox."""
    policy = _scaled(scale)
    async with Sandbox(SandboxConfig(time_scale=scale, rate_limits=True), port=0) as sandbox:
        client = ColdsendClient(
            api_key=API_KEY, base_url=sandbox.base_url("coldsend"), rate_limit=policy
        )
        async with client:
            started = time.perf_counter()
            run = client.add_lead_bulk(CAMPAIGN_ID, lead_rows(n))
            async for _ in run:
                pass
            elapsed = time.perf_counter() - started
        created, requests = sandbox.stats["created"], sandbox.stats["requests"]
        refused = sandbox.stats["status:429"]
    if created != n:
        raise RuntimeError(f"{SCENARIO}: {created} of {n} rows created: {run.summary}")
    return _ideal_seconds(scale, n) / elapsed, 100 * refused / requests


def run(scale: float, n: int, rounds: int) -> tuple[list[Row], list[Target]]:
    """Utilisation and 429 share, `rounds` runs each on a fresh sandbox (medians)."""
    results: list[tuple[float, float]] = []

    def one() -> float:
        results.append(asyncio.run(_load(scale, n)))
        return results[-1][0]

    contenders = [Contender("leadkit bulk helper, generated client", one)]
    scenario = f"{SCENARIO}: {n:,} creates, sandbox x{scale:g}"
    rows = rows_of(scenario, "achieved / allowed", contenders, interleave(contenders, rounds))
    share = sorted(r[1] for r in results)[len(results) // 2]
    rows.append(Row(scenario, "429 responses", "% of requests", share, None, len(results)))
    targets = [
        Target("rate limit: achieved / allowed", rows[0].median, 0.95, at_least=True),
        Target("rate limit: 429 responses (%)", share, 0.5, at_least=False),
    ]
    return rows, targets
