"""Against a sandbox that enforces other windows than the spec declares, the client learns them.

The sandbox runs `SCALE` times faster than the wall clock, so a window eight times the
spec's 60 s (480 s) lasts two wall-clock seconds; the client is told the spec's windows
sped up alike, as `leadkit load --time-scale` does. The achieved rate counts the client's
sends from its first to its last; the allowed rate is the same count over the shortest
time the enforced windows let them take (the sandbox's own limiter, fed back to back).
"""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from transport_support import Recorder

from generated.breakcold import BreakcoldClient
from leadkit.runtime import RateLimitLearned, RateLimitPolicy, RequestSent, Window
from leadkit.sandbox import Sandbox, SandboxConfig
from leadkit.sandbox.config import parse_window
from leadkit.sandbox.ratelimit import Clock, RateLimiter

SCALE = 240.0
DECLARED = BreakcoldClient.api.rate_limit
assert DECLARED is not None


def scaled(policy: RateLimitPolicy, scale: float) -> RateLimitPolicy:
    """`policy` with its windows sped up `scale` times, as the client sees a sped-up server."""
    windows = tuple(Window(w.limit, w.seconds / scale) for w in policy.windows)
    return attrs.evolve(policy, windows=windows)


def allowed_seconds(windows: tuple[Window, ...], scale: float, n: int) -> float:
    """Wall seconds from the first to the last of `n` requests the sandbox's own limiter
    admits, each sent as early as it allows: the fastest any client could go."""
    now = [0.0]
    limiter = RateLimiter(RateLimitPolicy(windows=windows), Clock(scale, monotonic=lambda: now[0]))
    for _ in range(n):
        while not (decision := limiter.hit("key")).allowed:
            now[0] += decision.reset_after
    return now[0]


async def load(
    enforced: Window, windows: int
) -> tuple[dict[str, int], list[Any], tuple[Window, ...], list[float]]:
    """Create `windows` enforced windows' worth of Breakcold leads and one more (which
    waits for the next window) in bulk: the sandbox's counters, the RateLimitLearned events
    the windows in force at the end and the times requests were sent."""
    n = windows * enforced.limit + 1
    events = Recorder()
    config = SandboxConfig(time_scale=SCALE, enforce_windows=(enforced,))
    async with Sandbox(config) as sandbox:
        client = BreakcoldClient(
            api_key="bc_learning",
            base_url=sandbox.base_url("breakcold"),
            rate_limit=scaled(DECLARED, SCALE),
            event_hooks=[events],
        )
        async with client:
            run = client.create_lead_bulk({"email": f"lead{i}@example.com"} for i in range(n))
            async for _ in run:
                pass
            windows = client.rate_limit_windows
        stats = dict(sandbox.stats)
    learned = [e for _, e in events.of(RateLimitLearned)]
    return stats, learned, windows, [t for t, _ in events.of(RequestSent)]


@pytest.mark.parametrize("enforced", ["60/8m", "20/8m"], ids=["8x-longer", "8x-longer-lower-limit"])
async def test_the_client_learns_a_window_eight_times_longer_and_paces_itself_to_it(
    enforced: str,
) -> None:
    window = parse_window(enforced)
    stats, learned, windows, sends = await load(window, windows=4)
    n = len(sends)
    refused = stats.get("status:429", 0)
    achieved = (n - 1) / (sends[-1] - sends[0])
    allowed = (n - 1) / allowed_seconds((window,), SCALE, n)
    ratio = achieved / allowed
    print(f"{enforced}: {refused} 429s, {len(learned)} learned, achieved/allowed {ratio:.3f}")
    assert stats["created"] == 4 * window.limit + 1
    assert len(learned) == 1
    assert windows == (learned[0].window,)
    assert learned[0].previous == Window(60, 60 / SCALE)
    assert learned[0].window.limit == window.limit
    assert learned[0].window.seconds == pytest.approx(window.seconds / SCALE, rel=0.01)
    # at most one 429 per window learned: after it, no more than the limit per window
    assert refused <= len(learned)
    assert ratio >= 0.9
