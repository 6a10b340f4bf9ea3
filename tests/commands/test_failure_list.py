"""The console's list of rows that did not succeed: first ten, one clean line each."""

from __future__ import annotations

from leadkit.bulk import Outcome, RowResult
from leadkit.commands.failure_list import REASON_CHARS, FailureList


def test_a_hostile_server_reason_is_one_printable_clipped_line() -> None:
    failures = FailureList()
    failures.add(RowResult(0, Outcome.CREATED, line=2))
    reason = "\x1b[2J\x1b[31mboom\x1b[0m\r\nsecond line\t" + "x" * 1000
    failures.add(RowResult(5, Outcome.FAILED, error=reason))
    header, row = failures.lines(failures_file=True)
    assert header == "rows that did not succeed (1):"
    assert row.startswith("  row index 5: failed: [2J [31mboom [0m second line x")
    assert row.isprintable()
    assert row.endswith("x…")
    assert len(row) <= len("  row index 5: failed: ") + REASON_CHARS


def test_nothing_is_listed_when_every_row_succeeded() -> None:
    failures = FailureList()
    for outcome in (Outcome.CREATED, Outcome.ALREADY_EXISTS, Outcome.SKIPPED_DUPLICATE):
        failures.add(RowResult(0, outcome, line=2))
    assert failures.lines(failures_file=False) == []
