"""AIMD concurrency: grow the number of requests in flight by one per window of successes,
halve it on congestion (429s, timeouts, retried calls), never above the user's ceiling."""

from __future__ import annotations

import asyncio
from collections import deque

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
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def acquire(self) -> int:
        """Wait for room under the current limit; return a ticket for `release`."""
        if self._waiters or self.in_flight >= int(self.limit):
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self.in_flight -= 1
                    self._wake()
                elif waiter in self._waiters:
                    self._waiters.remove(waiter)
                raise
        else:
            self.in_flight += 1
        return self._round

    def release(self, ticket: int, *, congested: bool) -> None:
        """Give the place back; grow the limit on success, shrink it on congestion."""
        self.in_flight -= 1
        if congested:
            if ticket == self._round:
                self.limit = max(1.0, self.limit * self._factor)
                self._round += 1
        else:
            self.limit = min(float(self.ceiling), self.limit + 1.0 / self.limit)
        self._wake()

    def give_back(self) -> None:
        """Return a place that sent nothing: the limit neither grows nor shrinks."""
        self.in_flight -= 1
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self.in_flight < int(self.limit):
            waiter = self._waiters.popleft()
            if not waiter.done():
                self.in_flight += 1
                waiter.set_result(None)
