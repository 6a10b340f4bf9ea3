"""One rate limiter per client, shared by all its tasks: windows, header feedback, pauses.

Every attempt first reserves a send slot. A slot keeps each declared window under its
limit (a sliding log of send times; the n-th request goes no earlier than the
(n - limit)-th plus the window). Every response's ``X-RateLimit-Remaining``/``Reset``
caps the slots handed out before the reset (``Remaining: 0`` sends the next request
after the reset); when the slots already reserved before the reset outnumber what the
server has left, or when the server answers 429, the whole limiter pauses until the
reset, so every task of the client waits, not only the refused one.
"""

from __future__ import annotations

import bisect
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence

from .api import RateLimitPolicy, Window
from .retry import header_value, reset_delay

__all__ = ["RateLimiter", "header_budget", "next_slot"]

logger = logging.getLogger("leadkit")


def next_slot(log: Sequence[float], windows: Iterable[Window], not_before: float) -> float:
    """Earliest time from `not_before` at which one more send keeps every window in limit.

    `log` holds earlier send times in ascending order.
    """
    slot = not_before
    for window in windows:
        if 0 < window.limit <= len(log):
            slot = max(slot, log[-window.limit] + window.seconds)
    return slot


def header_budget(
    headers: Mapping[str, str], policy: RateLimitPolicy, now: float
) -> tuple[int, float] | None:
    """(requests left, seconds until the reset) announced by a response, if it says both."""
    remaining = header_value(headers, policy.remaining_header)
    reset = header_value(headers, policy.reset_header)
    if remaining is None or reset is None:
        return None
    delay = reset_delay(reset, policy.reset_kind, now)
    try:
        left = int(float(remaining.strip()))
    except (ValueError, OverflowError):  # not a number, NaN, or infinite
        return None
    return None if delay is None else (left, delay)


class RateLimiter:
    """Hands out send slots to all tasks of one client; see the module docstring."""

    def __init__(
        self,
        policy: RateLimitPolicy | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.policy = policy
        self._windows = policy.windows if policy else ()
        self._horizon = policy.horizon if policy else float("inf")
        """No declared window resets later than this: caps a skewed Reset timestamp."""
        self._clock = clock
        self._wall = wall
        self._log: deque[float] = deque()
        """Send times, sent or reserved, ascending: the last `_kept` besides those reserved,
        so that a cancelled reservation leaves the windows all they need."""
        self._kept = max((w.limit for w in self._windows), default=1)
        self._outstanding: list[float] = []
        """Slots reserved and not settled yet (waiting or in flight), ascending."""
        self._budget: int | None = None
        self._budget_reset = 0.0
        self._paused_until = 0.0
        self._pause_reason = ""

    def __repr__(self) -> str:
        return f"RateLimiter(windows={self._windows!r}, outstanding={len(self._outstanding)})"

    def reserve(self) -> float:
        """Take the next free slot and return its start on the limiter's clock."""
        now = self._clock()
        last = self._log[-1] if self._log else now
        slot = next_slot(self._log, self._windows, max(now, last, self._paused_until))
        if self._budget is not None and slot < self._budget_reset:
            if self._budget > 0:
                self._budget -= 1
            else:
                slot = next_slot(self._log, self._windows, self._budget_reset)
        self._log.append(slot)
        bisect.insort(self._outstanding, slot)
        while len(self._log) > self._kept + len(self._outstanding):
            self._log.popleft()
        return slot

    def free_now(self, count: int) -> bool:
        """Whether `count` more slots reserved now would all start at once (reserves none)."""
        now = self._clock()
        if self._paused_until > now or (self._log and self._log[-1] > now):
            return False
        if self._budget is not None and now < self._budget_reset and self._budget < count:
            return False
        return all(
            window.limit <= 0
            or len(self._log) - bisect.bisect_right(self._log, now - window.seconds) + count
            <= window.limit
            for window in self._windows
        )

    def delay_until(self, slot: float) -> tuple[float, str]:
        """Seconds still to wait before a reserved `slot` may send, and why."""
        now = self._clock()
        if self._paused_until >= slot and self._paused_until > now:
            return self._paused_until - now, self._pause_reason
        return slot - now, "pacing to the declared windows and the server's remaining budget"

    def pause(self, delay: float, reason: str) -> None:
        """Hold every slot until `delay` seconds from now (longer pauses win).

        Slots reserved for later than now go out at the end of the pause at the earliest,
        so the log moves them there: the windows then count them when they really go.
        """
        now = self._clock()
        until = now + delay
        if until > self._paused_until:
            self._paused_until, self._pause_reason = until, reason
            moved = (max(sent, until) if sent > now else sent for sent in self._log)
            self._log = deque(moved)
            logger.debug("rate limiter paused for %.3fs: %s", delay, reason)

    def cancel(self, slot: float) -> None:
        """The attempt reserved for `slot` will not be sent: give its place back.

        The windows stop counting it and the server's budget gets it back, so a caller
        that gives up waiting (a cancelled task, its own timeout) delays no one else.
        """
        del self._outstanding[bisect.bisect_left(self._outstanding, slot)]
        # A pause moves every slot still ahead to its end: the slot is there if not here.
        logged = next((t for t in (slot, self._paused_until) if t in self._log), None)
        if logged is None:  # the log has dropped it
            return
        self._log.remove(logged)
        if self._budget is not None and slot < self._budget_reset:
            self._budget += 1

    def settle(self, slot: float, headers: Mapping[str, str] | None) -> None:
        """The attempt sent in `slot` ended, with the response's headers or None."""
        del self._outstanding[bisect.bisect_left(self._outstanding, slot)]
        if headers is None or self.policy is None:
            return
        budget = header_budget(headers, self.policy, self._wall())
        if budget is None:
            return
        remaining, delay = budget[0], min(budget[1], self._horizon)
        reset_at = self._clock() + delay
        left = remaining - bisect.bisect_left(self._outstanding, reset_at)
        if left < 0:
            self.pause(delay, f"{self.policy.remaining_header}={remaining}, reset in {delay:.3g}s")
        self._budget, self._budget_reset = max(left, 0), reset_at
