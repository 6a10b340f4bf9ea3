"""The rows of a load that did not succeed, as the console shows them: the first few, and why."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from leadkit.bulk import RowResult

__all__ = ["FailureList", "one_line"]

SHOWN = 10
"""Rows listed; the failures file has every one."""
REASON_CHARS = 300
"""A longer reason (a server's message) is cut here."""


class FailureList:
    """Keeps the first `SHOWN` unsuccessful results and counts the rest (memory stays flat)."""

    def __init__(self) -> None:
        self.shown: list[RowResult] = []
        self.count = 0

    def add(self, result: RowResult) -> None:
        """Note `result` if its row did not succeed."""
        if result.outcome.succeeded:
            return
        self.count += 1
        if len(self.shown) < SHOWN:
            self.shown.append(result)

    def lines(self, *, failures_file: bool) -> list[str]:
        """Plain-text lines listing the rows; none when every row succeeded.

        Without a failures file (`failures_file` False) they end by saying how to get one.
        """
        if not self.count:
            return []
        lines = [f"rows that did not succeed ({self.count}):"]
        lines += [f"  {_row_line(result)}" for result in self.shown]
        more = self.count - len(self.shown)
        hint = "--failures-out FILE writes every one, with its data, to fix and load again"
        if more:
            lines.append(f"  … and {more} more" + ("" if failures_file else f"; {hint}"))
        elif not failures_file:
            lines.append(f"  ({hint})")
        return lines


def _row_line(result: RowResult) -> str:
    """`line 35: invalid: required field missing @ $.email`."""
    where = f"line {result.line}" if result.line is not None else f"row index {result.index}"
    reason = (result.error or "no reason given").removeprefix(f"{where}: ")
    if len(reason) > REASON_CHARS:
        reason = reason[: REASON_CHARS - 1] + "…"
    return f"{where}: {result.outcome.value}: {one_line(reason)}"


def one_line(text: str) -> str:
    """`text` on one line with no control characters: a server's text cannot move the cursor."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())
