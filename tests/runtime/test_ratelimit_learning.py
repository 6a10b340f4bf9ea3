"""Against a sandbox that enforces other windows than the spec declares, the client learns them.

The sandbox runs `SCALE` times faster than the wall clock, so a window eight times the
spec's 60 s (480 s) lasts two wall-clock seconds; the client is told the spec's windows
sped up alike, as `leadkit load --time-scale` does. The achieved rate counts the client's
sends from its first to its last; the allowed rate is the same count over the shortest
time the enforced windows let them take (the sandbox's own limiter, fed back to back).
The scenario is the bench's "rate limit learned" row.
"""

from __future__ import annotations

import pytest

from bench.ratelimit import learning_run
from leadkit.runtime import Window
from leadkit.sandbox.config import parse_window

SCALE = 240.0
WINDOWS = 4


@pytest.mark.parametrize("enforced", ["60/8m", "20/8m"], ids=["8x-longer", "8x-longer-lower-limit"])
async def test_the_client_learns_a_window_eight_times_longer_and_paces_itself_to_it(
    enforced: str,
) -> None:
    window = parse_window(enforced)
    run = await learning_run(window, SCALE, WINDOWS)
    print(
        f"{enforced}: {run.refused} 429s, {len(run.learned)} learned, "
        f"achieved/allowed {run.utilisation:.3f}"
    )
    assert run.created == len(run.sends) == WINDOWS * window.limit + 1
    [learned] = run.learned
    assert learned.previous == Window(60, 60 / SCALE)
    assert learned.window.limit == window.limit
    assert learned.window.seconds == pytest.approx(window.seconds / SCALE, rel=0.01)
    assert run.windows == (learned.window,)
    # at most one 429 per window learned: after it, no more than the limit per window
    assert run.refused <= len(run.learned)
    assert run.utilisation >= 0.9
