"""Errors every row would meet: runs of rows that cannot reach the server, or get only 5xx.

A 401 stops a load at once; a wrong host or a server that is down shows itself more slowly,
row after row, each after its retries. `Streak` counts rows that end that way in a row
(any other answer from the server ends the run) and says when to stop.
"""

from __future__ import annotations

from ..runtime.errors import APIConnectionError, APIError, APIStatusError, OutcomeUnknownError

__all__ = ["FAILING_RUN", "UNREACHABLE_RUN", "Streak"]

UNREACHABLE_RUN = 3
"""Rows in a row that could not reach the server (DNS, refused, TLS, connect timeout), each
after its own retries, that stop a run."""
FAILING_RUN = 10
"""Rows in a row answered only with 5xx that stop a run: a server that fails now and then
gets through this many; one that is down does not."""


def _kind(error: APIError) -> str | None:
    cause = error.cause if isinstance(error, OutcomeUnknownError) else error
    if isinstance(cause, APIConnectionError) and not cause.sent:
        return "unreachable"
    if isinstance(cause, APIStatusError) and cause.status >= 500:
        return "failing"
    return None


class Streak:
    """Counts the rows in a row that ended unreachable, or failing with a 5xx."""

    def __init__(self) -> None:
        self._kind: str | None = None
        self._count = 0

    def observe(self, error: APIError | None) -> str | None:
        """Count a row's end (`error` None: it succeeded); the reason to stop, once a run is
        long enough."""
        kind = None if error is None else _kind(error)
        if kind != self._kind:
            self._kind, self._count = kind, 0
        if kind is None or error is None:
            return None
        self._count += 1
        if kind == "unreachable" and self._count >= UNREACHABLE_RUN:
            return (
                f"stopped: {self._count} rows in a row could not reach the server, "
                f"each after its retries ({error}); every row would fail the same way"
            )
        if kind == "failing" and self._count >= FAILING_RUN:
            return (
                f"stopped: {self._count} rows in a row got a server error and none "
                f"succeeded ({error}); the server is failing every row"
            )
        return None
