"""Fixed-window rate limits per API key, on a clock that a time scale can speed up."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import attrs

from leadkit.runtime.api import RateLimitPolicy

__all__ = ["Clock", "Decision", "RateLimiter"]


class Clock:
    """Sandbox time: wall time sped up `scale` times from the moment the clock starts."""

    def __init__(self, scale: float = 1.0, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.scale = scale
        self._monotonic = monotonic
        self._start = monotonic()

    def now(self) -> float:
        """Sandbox seconds since the clock started."""
        return (self._monotonic() - self._start) * self.scale

    def wall_seconds(self, sandbox_seconds: float) -> float:
        """Wall-clock seconds that `sandbox_seconds` of sandbox time take."""
        return sandbox_seconds / self.scale


@attrs.frozen
class Decision:
    """The verdict on one request and the headers that announce the tightest window."""

    allowed: bool
    limit: int
    remaining: int
    reset_after: float
    """Wall-clock seconds until the reported window resets."""
    precise: bool = False
    """Report Reset with millisecond precision (a time-scaled sandbox) instead of whole seconds."""

    def retry_after(self) -> int:
        """Whole seconds a client should wait, at least 1."""
        return max(1, math.ceil(self.reset_after))

    def headers(self, policy: RateLimitPolicy) -> dict[str, str]:
        """The three rate-limit headers, Reset in the spec's meaning."""
        reset = self.reset_after
        if policy.reset_kind == "unix-timestamp":
            reset += time.time()
        return {
            policy.limit_header: str(self.limit),
            policy.remaining_header: str(self.remaining),
            policy.reset_header: f"{reset:.3f}" if self.precise else str(math.ceil(reset)),
        }


class RateLimiter:
    """Counts requests per key in each of the policy's windows (fixed windows)."""

    def __init__(self, policy: RateLimitPolicy, clock: Clock) -> None:
        self.policy = policy
        self._clock = clock
        self._windows: dict[str, list[tuple[float, int]]] = {}
        """key -> [(window start, count)] in policy.windows order."""
        self._longest = max((w.seconds for w in policy.windows), default=0)
        self._swept = clock.now()

    @property
    def tracked(self) -> int:
        """How many keys the limiter keeps windows for."""
        return len(self._windows)

    def _sweep(self, now: float) -> None:
        """Once per longest window, drop the keys whose windows have all ended.

        Such a key's windows would all restart at its next request, just as a new key's do.
        """
        if now - self._swept < self._longest:
            return
        self._swept = now
        windows = self.policy.windows
        self._windows = {
            key: state
            for key, state in self._windows.items()
            if any(now - start < w.seconds for w, (start, _) in zip(windows, state, strict=True))
        }

    def _current(self, key: str) -> list[tuple[float, int]]:
        now = self._clock.now()
        self._sweep(now)
        state = self._windows.setdefault(key, [(now, 0)] * len(self.policy.windows))
        for i, (window, (start, _)) in enumerate(zip(self.policy.windows, state, strict=True)):
            if now - start >= window.seconds:
                state[i] = (now, 0)
        return state

    def _decision(self, state: list[tuple[float, int]], allowed: bool) -> Decision:
        now = self._clock.now()
        reports = [
            (w.limit - count, start + w.seconds - now, w.limit)
            for w, (start, count) in zip(self.policy.windows, state, strict=True)
        ]
        remaining, reset_in, limit = min(reports, key=lambda r: (r[0], -r[1]))
        if not allowed:
            remaining, reset_in, limit = max((r for r in reports if r[0] <= 0), key=lambda r: r[1])
        return Decision(
            allowed,
            limit,
            max(0, remaining),
            self._clock.wall_seconds(reset_in),
            precise=self._clock.scale != 1,
        )

    def hit(self, key: str) -> Decision:
        """Count one request of `key` if every window has room; say what to announce."""
        state = self._current(key)
        if any(count >= w.limit for w, (_, count) in zip(self.policy.windows, state, strict=True)):
            return self._decision(state, allowed=False)
        state[:] = [(start, count + 1) for start, count in state]
        return self._decision(state, allowed=True)

    def peek(self, key: str, *, exhausted: bool = False) -> Decision:
        """The headers for `key` without counting; `exhausted` reports its first window as full."""
        state = self._current(key)
        if exhausted:
            state = [(state[0][0], self.policy.windows[0].limit), *state[1:]]
        return self._decision(state, allowed=not exhausted)

    def reset(self) -> None:
        """Forget every count."""
        self._windows.clear()
