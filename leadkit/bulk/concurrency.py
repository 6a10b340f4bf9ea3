"""AIMD concurrency: grow the number of requests in flight by one per window of successes,
halve it on congestion (429s, timeouts, retried calls), never above the user's ceiling."""

from __future__ import annotations

import asyncio

__all__ = ["AIMDLimiter"]


class AIMDLimiter:
    """At most `limit` holders at once; `limit` moves between 1 and `ceiling`.

    `acquire` returns a ticket; pass it back to `release` with whether the request met
    congestion. Congestion shrinks the limit at most once per round: a request that
    started before the last decrease cannot decrease it again.
    """

    def __init__(self, ceiling: int, *, initial: int | None = None, factor: float = 0.5) -> None:
        if ceiling < 1:
            raise ValueError(f"the concurrency ceiling must be at least 1, got {ceiling}")
        self.ceiling = ceiling
        self.limit = float(min(ceiling, initial or ceiling))
        self.in_flight = 0
        self._factor = factor
        self._round = 0
        self._changed = asyncio.Condition()

    async def acquire(self) -> int:
        """Wait for room under the current limit; return a ticket for `release`."""
        async with self._changed:
            await self._changed.wait_for(lambda: self.in_flight < int(self.limit))
            self.in_flight += 1
        return self._round

    async def release(self, ticket: int, *, congested: bool) -> None:
        """Give the place back; grow the limit on success, shrink it on congestion."""
        async with self._changed:
            self.in_flight -= 1
            if congested:
                if ticket == self._round:
                    self.limit = max(1.0, self.limit * self._factor)
                    self._round += 1
            else:
                self.limit = min(float(self.ceiling), self.limit + 1.0 / self.limit)
            self._changed.notify_all()
