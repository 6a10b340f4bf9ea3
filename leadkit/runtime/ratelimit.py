"""One rate limiter per client, shared by all its tasks: windows, header feedback, pauses.

Every attempt first reserves a send slot. A slot keeps each window in force under its
limit (a sliding log of send times; the n-th request goes no earlier than the
(n - limit)-th plus the window). The windows in force are the spec's until a response
says otherwise: `leadkit.runtime.learning` reads every response's rate-limit headers,
decides which window they describe and corrects it (its module docstring has the rule).
Every response's ``X-RateLimit-Remaining``/``Reset`` also caps the slots handed out
before the reset (``Remaining: 0`` sends the next request after the reset); when the
slots already reserved before the reset outnumber what the server has left, those beyond
it wait for the reset; when the server answers 429, the whole limiter pauses until the
delay it asked for, so every task of the client waits, not only the refused one.

A slot that must wait says why (`Wait`): a window in force (the one that sets its time),
the server's remaining budget (with the window the server's headers describe, when one
does), or a pause the server asked for (a 429).
"""

from __future__ import annotations

import bisect
import logging
import math
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Literal, TypeAlias

import attrs
from multidict import CIMultiDictProxy

from .api import RateLimitPolicy, Window
from .learning import LearnedWindow, ServerReport, WindowLearner, described

__all__ = ["RateLimiter", "RateLimiterView", "Wait", "WaitKind", "next_slot"]

logger = logging.getLogger("leadkit")

WaitKind: TypeAlias = Literal["window", "budget", "pause"]
"""Why a slot waits: a window in force, the server's remaining budget, a server's pause."""


@attrs.frozen
class Wait:
    """How long a reserved slot still waits, and why."""

    delay: float
    """Seconds from now (0 or less: it may go)."""
    kind: WaitKind
    """``window``: a window in force sets the slot's time; ``budget``: the server's
    remaining budget (its Remaining header) is spent until its reset; ``pause``: the
    server asked the client to wait (a 429)."""
    window: Window | None
    """The window that sets the slot's time (``window``), or the one the server's headers
    describe (``budget``, when one does); None for a pause."""
    reason: str
    """The same in words, e.g. ``429 on POST /lead``."""


def next_slot(log: Sequence[float], windows: Iterable[Window], not_before: float) -> float:
    """Earliest time from `not_before` at which one more send keeps every window in limit.

    `log` holds earlier send times in ascending order.
    """
    slot = not_before
    for window in windows:
        if 0 < window.limit <= len(log):
            slot = max(slot, log[-window.limit] + window.seconds)
    return slot


class RateLimiter:
    """Hands out send slots to all tasks of one client; see the module docstring."""

    def __init__(
        self,
        policy: RateLimitPolicy | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._learner = WindowLearner(policy) if policy else None
        self._clock = clock
        self._wall = wall
        self._log: deque[float] = deque()
        """Send times, sent or reserved, ascending: the last `_kept` besides those reserved,
        so that a cancelled reservation leaves the windows all they need."""
        self._kept = self._longest_limit()
        self._answered: deque[float] = deque()
        """When the last `_kept` responses arrived, ascending: what the server counted."""
        self._outstanding: list[float] = []
        """Slots reserved and not settled yet (waiting or in flight), ascending."""
        self._budget: int | None = None
        self._budget_reset = 0.0
        self._budget_window: Window | None = None
        """The window the server's last budget report describes, if one does."""
        self._paused_from = -math.inf
        self._paused_until = 0.0
        self._pause = Wait(0.0, "pause", None, "")
        """Why the limiter is paused (its delay unused)."""

    def __repr__(self) -> str:
        return f"RateLimiter(windows={self.windows!r}, outstanding={len(self._outstanding)})"

    @property
    def policy(self) -> RateLimitPolicy | None:
        """The rate-limit policy in force: the declared one with the windows in force."""
        return self._learner.policy if self._learner else None

    @property
    def windows(self) -> tuple[Window, ...]:
        """The windows in force: the declared ones until the server corrects them."""
        return self._learner.windows if self._learner else ()

    @property
    def horizon(self) -> float:
        """The longest window in force (infinite without one): no reset comes later."""
        return max((w.seconds for w in self.windows), default=float("inf"))

    def _longest_limit(self) -> int:
        return max((w.limit for w in self.windows), default=1)

    def reserve(self) -> float:
        """Take the next free slot and return its start on the limiter's clock."""
        now = self._clock()
        last = self._log[-1] if self._log else now
        slot = next_slot(self._log, self.windows, max(now, last, self._paused_until))
        if self._budget is not None and slot < self._budget_reset:
            if self._budget > 0:
                self._budget -= 1
            else:
                slot = next_slot(self._log, self.windows, self._budget_reset)
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
            for window in self.windows
        )

    def _holds(self, slot: float, now: float) -> bool:
        """Whether a pause running at `now` holds `slot`."""
        return self._paused_from <= slot <= self._paused_until and self._paused_until > now

    def delay_until(self, slot: float) -> float:
        """Seconds still to wait before a reserved `slot` may send (0 or less: none)."""
        now = self._clock()
        return self._paused_until - now if self._holds(slot, now) else slot - now

    def wait(self, slot: float) -> Wait:
        """How long a reserved `slot` still waits, and why."""
        now = self._clock()
        if self._holds(slot, now):
            return attrs.evolve(self._pause, delay=self._paused_until - now)
        window = self._binding(slot)
        if window is not None:
            text = f"pacing to the window of {window.limit} per {window.seconds:g}s"
            return Wait(slot - now, "window", window, text)
        header = self.policy.remaining_header if self.policy else "Remaining"
        text = f"the server's budget ({header}) is spent until its reset"
        return Wait(slot - now, "budget", self._budget_window, text)

    def _binding(self, slot: float) -> Window | None:
        """The window that sets `slot`'s time: one more send before it would overfill it
        (the longest of those that do); None when no window does."""
        log, before = self._log, bisect.bisect_left(self._log, slot)
        binding = [
            window
            for window in self.windows
            if 0 < window.limit <= before and log[before - window.limit] + window.seconds >= slot
        ]
        return max(binding, key=lambda window: window.seconds, default=None)

    def pause(
        self,
        delay: float,
        reason: str,
        first: float = -math.inf,
        *,
        kind: WaitKind = "pause",
        window: Window | None = None,
    ) -> None:
        """Hold every slot from `first` on (all by default) until `delay` seconds from now;
        `kind`, `window` and `reason` say why (`Wait`).

        A pause still running is widened, never cut: the earlier `first` and the later end
        win. Slots held go out at the end of the pause at the earliest, so the log moves
        them there: the windows then count them when they really go.
        """
        now = self._clock()
        until = now + delay
        if self._paused_until > now:  # merge with the pause still running
            first, until = min(first, self._paused_from), max(until, self._paused_until)
        if (first, until) == (self._paused_from, self._paused_until):
            return
        self._paused_from, self._paused_until = first, until
        self._pause = Wait(0.0, kind, window, reason)
        moved = (max(t, until) if t > now and t >= first else t for t in self._log)
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

    def settle(self, slot: float, headers: Mapping[str, str] | None) -> LearnedWindow | None:
        """The attempt sent in `slot` ended, with the response's headers or None; what the
        headers taught about the server's windows, if anything."""
        del self._outstanding[bisect.bisect_left(self._outstanding, slot)]
        if headers is None or self._learner is None:
            return None
        now = self._clock()
        self._answered.append(now)
        while len(self._answered) > self._kept:
            self._answered.popleft()
        policy = self._learner.policy
        if isinstance(headers, CIMultiDictProxy) and not (  # aiohttp's: lookups ignore case
            policy.limit_header in headers
            or policy.remaining_header in headers
            or policy.reset_header in headers
        ):
            return None  # most answers: nothing to learn, no budget to cap
        report = ServerReport.read(headers, policy, self._wall())
        learned = self._learner.learn(report, self._answered, len(self._outstanding), now)
        if learned is not None:
            self._kept = self._longest_limit()
        if report.remaining is not None and report.reset is not None:
            index = described(self.windows, report.limit, report.reset)
            self._budget_window = None if index is None else self.windows[index]
            self._budget_from(report.remaining, min(report.reset, self.horizon), now)
        return learned

    def _budget_from(self, remaining: int, delay: float, now: float) -> None:
        """Cap the slots before the reset `delay` seconds from `now` to what the server has
        left; when more are reserved already, hold those beyond it until the reset."""
        reset_at = now + delay
        reserved = bisect.bisect_left(self._outstanding, reset_at)
        if reserved > remaining and self._learner is not None:
            header = self._learner.policy.remaining_header
            first = self._outstanding[remaining]  # the first the server has no room for
            reason = f"{header}={remaining}, reset in {delay:.3g}s"
            self.pause(delay, reason, first, kind="budget", window=self._budget_window)
        self._budget, self._budget_reset = max(remaining - reserved, 0), reset_at


class RateLimiterView:
    """What layers on top of a client may read of its rate limiter: the windows and
    policy in force, and whether slots are free now. It reserves nothing."""

    __slots__ = ("_limiter",)

    def __init__(self, limiter: RateLimiter) -> None:
        self._limiter = limiter

    def __repr__(self) -> str:
        return f"RateLimiterView(windows={self.windows!r})"

    @property
    def windows(self) -> tuple[Window, ...]:
        """The windows in force: the declared ones until the server corrects them."""
        return self._limiter.windows

    @property
    def policy(self) -> RateLimitPolicy | None:
        """The rate-limit policy in force: the declared one with the windows in force."""
        return self._limiter.policy

    def free_now(self, count: int) -> bool:
        """Whether `count` more slots reserved now would all start at once."""
        return self._limiter.free_now(count)
