"""What a bulk run reports: one RowResult per input row, and a Summary at the end."""

from __future__ import annotations

import enum
import time
from typing import Any

import attrs

__all__ = ["Outcome", "RowResult", "Summary", "SummaryBuilder"]


class Outcome(enum.StrEnum):
    """What became of one input row."""

    CREATED = "created"
    ALREADY_EXISTS = "already_exists"
    CREATED_OR_EXISTS = "created_or_exists"
    """Uploaded by a job that counted duplicates without saying which rows they were: the
    record exists, created by this row or before it."""
    SKIPPED_DUPLICATE = "skipped_duplicate"
    INVALID = "invalid"
    FAILED = "failed"
    VALID = "valid"
    """Dry runs only: the row is valid and would be sent."""

    @property
    def succeeded(self) -> bool:
        """True when the record exists on the server (or the row was a duplicate of one)."""
        return self is not Outcome.INVALID and self is not Outcome.FAILED


@attrs.frozen
class RowResult:
    """The outcome of one input row.

    `index` is the row's 0-based position in the input, `line` its line in the source file
    (None for rows not read from a file), `key` its normalised e-mail (None when it has
    none), `model` the created record as parsed from the response, `error` the reason when
    the row did not succeed, `body` the row as wire-format data (used for the failures
    file), `resumed` true when the outcome was read from the journal instead of sent.
    """

    index: int
    outcome: Outcome
    line: int | None = None
    key: str | None = None
    model: Any = None
    error: str | None = None
    status: int | None = None
    attempts: int = 0
    latency: float = 0.0
    body: dict[str, Any] | None = attrs.field(default=None, repr=False)
    resumed: bool = False
    raw: str | None = attrs.field(default=None, repr=False)
    """The source text of a row that could not be used."""
    cells: tuple[str, ...] | None = attrs.field(default=None, repr=False)
    """A CSV row's cells as read (for a failures file in the input's shape)."""
    job: str | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of this result without the created model and the body."""
        return {
            "index": self.index,
            "line": self.line,
            "key": self.key,
            "outcome": self.outcome.value,
            "error": self.error,
            "status": self.status,
            "attempts": self.attempts,
            "latency": round(self.latency, 6),
            "resumed": self.resumed,
            "job": self.job,
        }


@attrs.frozen
class Summary:
    """Counts per outcome, elapsed seconds and rows per second of a finished (or stopped) run.

    `unread_from` is the index of the first input row that was never read when the run was
    stopped early, else None (a stop does not read on to learn whether any row was left,
    so it can equal the number of rows); `stop_reason` says why it stopped early.
    """

    counts: dict[Outcome, int]
    elapsed: float
    resumed: int
    unread_from: int | None = None
    stop_reason: str | None = None

    @property
    def total(self) -> int:
        """Rows with a result."""
        return sum(self.counts.values())

    @property
    def rate(self) -> float:
        """Rows with a result per second."""
        return self.total / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def all_succeeded(self) -> bool:
        """True when no row is invalid or failed and the whole input was read."""
        failed = self.counts[Outcome.INVALID] + self.counts[Outcome.FAILED]
        return failed == 0 and self.unread_from is None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of this summary."""
        return {
            "counts": {o.value: n for o, n in self.counts.items()},
            "total": self.total,
            "elapsed": round(self.elapsed, 3),
            "rate": round(self.rate, 3),
            "resumed": self.resumed,
            "unread_from": self.unread_from,
            "stop_reason": self.stop_reason,
        }


class SummaryBuilder:
    """Counts results as they are emitted."""

    def __init__(self) -> None:
        self.counts = dict.fromkeys(Outcome, 0)
        self.resumed = 0
        self.started = time.monotonic()

    def add(self, result: RowResult) -> None:
        """Count one result."""
        self.counts[result.outcome] += 1
        self.resumed += result.resumed

    def build(self, unread_from: int | None, stop_reason: str | None) -> Summary:
        """The summary so far."""
        return Summary(
            counts=dict(self.counts),
            elapsed=time.monotonic() - self.started,
            resumed=self.resumed,
            unread_from=unread_from,
            stop_reason=stop_reason,
        )
