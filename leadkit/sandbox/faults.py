"""Seeded fault draws: which fault (if any) hits a request, and how late it is served."""

from __future__ import annotations

import random

import attrs

from .config import FaultConfig

__all__ = ["SERVER_ERROR_STATUSES", "Draw", "FaultPlan"]

SERVER_ERROR_STATUSES = (500, 502, 503)


@attrs.frozen
class Draw:
    """What one request gets: a fault name or None, added latency, a 5xx status."""

    fault: str | None
    latency: float
    """Wall-clock seconds to wait before processing."""
    status: int
    """The status of an error_5xx fault."""


class FaultPlan:
    """Draws from `random.Random(seed)`: the same requests in the same order, the same faults."""

    def __init__(self, config: FaultConfig) -> None:
        self.config = config
        self._rng = random.Random(config.seed)

    def draw(self) -> Draw:
        """The fault, latency and 5xx status for the next request (three draws each time)."""
        low, high = self.config.latency_ms
        latency = self._rng.uniform(low, high) / 1000
        status = self._rng.choice(SERVER_ERROR_STATUSES)
        point = self._rng.random()
        for name, probability in self.config.probabilities():
            if point < probability:
                return Draw(name, latency, status)
            point -= probability
        return Draw(None, latency, status)
