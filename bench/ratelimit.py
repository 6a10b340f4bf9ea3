"""Rate-limit utilisation against the sandbox, time-scaled: the spec's windows, then wrong ones.

"rate limit": the sandbox enforces Coldsend's windows (100 per minute, 1,000 per hour) sped
up `scale` times; the client is told the same scaled windows. The full run loads five
windows' worth of the window that binds a long run (the hour: 5,000 rows). The allowed
rate is N over the earliest time at which the sandbox's own limiter, fed back to back,
would have admitted all N requests; utilisation is the achieved rate over it.

"rate limit learned": Breakcold's spec says 60 per 60 s; the sandbox enforces 60 per 480 s
(`--enforce-window 60/8m`), as a vendor whose page is wrong would. The client starts from
the spec and must learn the real window from the headers: the row reports its send rate
(first send to last) over the allowed one, and the 429s per window learned.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import attrs

from leadkit.apis.breakcold import BreakcoldClient
from leadkit.apis.coldsend import ColdsendClient
from leadkit.runtime import RateLimitLearned, RateLimitPolicy, RequestSent, Window
from leadkit.sandbox import Sandbox, SandboxConfig
from leadkit.sandbox.ratelimit import Clock, RateLimiter

from .data import API_KEY, CAMPAIGN_ID, lead_rows
from .harness import Contender, Row, Target, interleave, rows_of

__all__ = ["LearningRun", "allowed_seconds", "learning_run", "run", "run_learning", "sped_up"]

SCENARIO = "rate limit"
LEARNING = "rate limit learned"
ENFORCED = Window(60, 480.0)
"""What the sandbox enforces in the learning scenario: the spec's 60 in a window 8 x longer."""


def sped_up(policy: RateLimitPolicy | None, scale: float) -> RateLimitPolicy:
    """`policy` with its windows `scale` times shorter: what a client of a sped-up sandbox sees."""
    assert policy is not None
    windows = tuple(Window(w.limit, w.seconds / scale) for w in policy.windows)
    return attrs.evolve(policy, windows=windows)


def five_windows() -> int:
    """Five windows' worth of the window with the lowest sustained rate."""
    declared = ColdsendClient.api.rate_limit
    assert declared is not None
    return 5 * min(declared.windows, key=lambda w: w.limit / w.seconds).limit


def allowed_seconds(windows: Sequence[Window], scale: float, n: int) -> float:
    """Wall seconds from the first to the last of `n` requests that the sandbox's own limiter,
    enforcing `windows` sped up `scale` times, admits when each is sent as early as it allows."""
    now = [0.0]
    policy = RateLimitPolicy(windows=tuple(windows))
    limiter = RateLimiter(policy, Clock(scale, monotonic=lambda: now[0]))
    for _ in range(n):
        while not (decision := limiter.hit(API_KEY)).allowed:
            now[0] += decision.reset_after
    return now[0]


async def _load(scale: float, n: int) -> tuple[float, float]:
    """(utilisation, share of 429 answers in %) of one run of `n` rows on a fresh sandbox."""
    declared = ColdsendClient.api.rate_limit
    assert declared is not None
    async with Sandbox(SandboxConfig(time_scale=scale, rate_limits=True), port=0) as sandbox:
        client = ColdsendClient(
            api_key=API_KEY,
            base_url=sandbox.base_url("coldsend"),
            rate_limit=sped_up(declared, scale),
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
    return allowed_seconds(declared.windows, scale, n) / elapsed, 100 * refused / requests


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


@attrs.frozen
class LearningRun:
    """One bulk load against a sandbox enforcing other windows than Breakcold's spec."""

    created: int
    refused: int
    """429 answers, by the sandbox's own count."""
    learned: list[RateLimitLearned]
    windows: tuple[Window, ...]
    """The client's windows in force at the end."""
    sends: list[float]
    """When each request was sent (monotonic seconds)."""
    allowed: float
    """Seconds the enforced windows allow from the first send to the last."""

    @property
    def utilisation(self) -> float:
        """The send rate from the first send to the last over the allowed one."""
        return self.allowed / (self.sends[-1] - self.sends[0])


async def learning_run(enforced: Window, scale: float, windows: int) -> LearningRun:
    """Create `windows` enforced windows' worth of Breakcold leads and one more (which waits
    for the next window) in bulk, the client starting from the spec's windows."""
    n = windows * enforced.limit + 1
    events: list[Any] = []
    config = SandboxConfig(time_scale=scale, enforce_windows=(enforced,))
    async with Sandbox(config) as sandbox:
        client = BreakcoldClient(
            api_key="bc_bench",
            base_url=sandbox.base_url("breakcold"),
            rate_limit=sped_up(BreakcoldClient.api.rate_limit, scale),
            event_hooks=[lambda event: events.append((time.monotonic(), event))],
        )
        async with client:
            run = client.create_lead_bulk({"email": f"lead{i}@example.com"} for i in range(n))
            async for _ in run:
                pass
        stats = sandbox.stats
        return LearningRun(
            created=stats["created"],
            refused=stats["status:429"],
            learned=[e for _, e in events if isinstance(e, RateLimitLearned)],
            windows=client.rate_limit_windows,
            sends=[t for t, e in events if isinstance(e, RequestSent)],
            allowed=allowed_seconds((enforced,), scale, n),
        )


def run_learning(scale: float, windows: int, rounds: int) -> tuple[list[Row], list[Target]]:
    """Utilisation and 429s per window learned, `rounds` runs each on a fresh sandbox."""
    results: list[LearningRun] = []

    def one() -> float:
        result = asyncio.run(learning_run(ENFORCED, scale, windows))
        if result.created != len(result.sends) - result.refused:
            raise RuntimeError(f"{LEARNING}: {result.created} rows created of {len(result.sends)}")
        results.append(result)
        return result.utilisation

    contenders = [Contender("leadkit bulk helper, generated client", one)]
    scenario = (
        f"{LEARNING}: spec 60/60 s, sandbox enforces 60/480 s, "
        f"{windows * ENFORCED.limit + 1:,} creates, x{scale:g}"
    )
    rows = rows_of(scenario, "achieved / allowed", contenders, interleave(contenders, rounds))
    per_window = sorted(r.refused / max(len(r.learned), 1) for r in results)[len(results) // 2]
    rows.append(Row(scenario, "429 per window learned", "responses", per_window, None, rounds))
    targets = [
        Target(f"{LEARNING}: achieved / allowed", rows[0].median, 0.9, at_least=True),
        Target(f"{LEARNING}: 429 per window learned", per_window, 1, at_least=False),
    ]
    return rows, targets
