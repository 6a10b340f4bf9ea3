"""The failures file: every row that did not succeed, in a form `load` reads back.

Two forms, chosen by the file's suffix:

* ``.jsonl``: each line is the row's wire-format body plus a ``_leadkit`` object (line,
  index, outcome, reason, and the text of a row that could not be parsed, a byte that is
  not UTF-8 written as ``\\xNN``); the JSONL reader drops that key, so the file can be fed
  straight back once the rows are fixed. The file is strict JSON: a row that JSON cannot hold
  as it is (a NaN or an infinity, a tuple key) is written as text in ``raw`` instead, and
  stays invalid, with its reason, when loaded again.
* ``.csv`` (for a CSV input): the input's own shape — its columns (a failures file's own
  ``line`` and ``error`` left out), then ``line`` and ``error``; its delimiter, line ends,
  ``sep=`` line, and a byte-order mark when the input had one or was not Unicode. Each row's
  cells are written as they were read. A row that could not be read into cells has them
  empty, and its text after the reason; loaded again, it stays invalid with its reason.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, Protocol

from .columns import FAILURES_COLUMNS
from .inputs import META_KEY, CsvLayout
from .results import RowResult

__all__ = ["JSON_SAFE", "CsvFailuresWriter", "FailuresSink", "FailuresWriter", "open_failures"]

JSON_SAFE = "backslashreplace"
"""The `errors=` for a JSONL file written with ``ensure_ascii=False``: a lone surrogate (in a
server's message, say) cannot be UTF-8, and is written as its ``\\udXXX`` escape, which JSON
reads back as the same character."""


_STRICT: dict[str, Any] = {"ensure_ascii": False, "allow_nan": False, "default": str}
"""json.dumps options: JSON any reader takes (no NaN or Infinity), values such as a UUID as
their text."""


class FailuresSink(Protocol):
    """Where a run writes the rows that did not succeed."""

    def write(self, result: RowResult) -> None: ...

    def close(self) -> None: ...


def _as_text(body: dict[str, Any]) -> str:
    """A row JSON cannot hold, as text to fix: JSON but for its NaN and Infinity, or else
    the row's repr."""
    try:
        return json.dumps(body, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return repr(body)


def _as_read(raw: str) -> str:
    """A row's text as read, a byte that was not UTF-8 written ``\\xNN`` (never U+FFFD)."""
    return raw.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


class FailuresWriter:
    """Appends one JSONL line per unsuccessful result, flushed as it is written."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = path.open("w", encoding="utf-8", errors=JSON_SAFE, buffering=1)

    def write(self, result: RowResult) -> None:
        """Write `result` if its row did not succeed."""
        if result.outcome.succeeded:
            return
        meta: dict[str, Any] = {
            "line": result.line,
            "index": result.index,
            "outcome": result.outcome.value,
            "reason": result.error,
        }
        if result.raw is not None:
            meta["raw"] = _as_read(result.raw)
        body = result.body or {}
        try:
            text = json.dumps({**body, META_KEY: meta}, **_STRICT)
        except (TypeError, ValueError):  # an invalid row JSON cannot hold: NaN, a tuple key
            meta["raw"] = _as_text(body)
            text = json.dumps({META_KEY: meta}, **_STRICT)
        self._file.write(text + "\n")

    def close(self) -> None:
        """Close the file."""
        self._file.close()


class CsvFailuresWriter:
    """Appends each unsuccessful row in the CSV input's own shape (see the module docstring)."""

    def __init__(self, path: Path, layout: CsvLayout) -> None:
        self.path = path
        self._keep = [i for i in range(len(layout.header)) if i not in layout.own]
        self._file = path.open(
            "w",
            encoding="utf-8-sig" if layout.bom else "utf-8",
            errors="surrogateescape",  # a byte that was not UTF-8 is written back as it was
            newline="",
            buffering=1,
        )
        if layout.sep_line:
            self._file.write(f"sep={layout.delimiter}{layout.newline}")
        self._csv = csv.writer(
            self._file, delimiter=layout.delimiter, lineterminator=layout.newline
        )
        self._csv.writerow([layout.header[i] for i in self._keep] + list(FAILURES_COLUMNS))

    def write(self, result: RowResult) -> None:
        """Write `result` if its row did not succeed."""
        if result.outcome.succeeded:
            return
        line = "" if result.line is None else str(result.line)
        error = (result.error or "no reason given").removeprefix(f"line {line}: ")
        cells = result.cells
        if cells is None:  # never read into cells: its text goes after the reason
            shown = (result.raw or "").rstrip("\r\n")
            row = [""] * len(self._keep) + [line, f"{error}; as read: {shown}"]
        else:
            row = [cells[i] if i < len(cells) else "" for i in self._keep] + [line, error]
        self._csv.writerow(row)

    def close(self) -> None:
        """Close the file."""
        self._file.close()


def open_failures(path: Path, layout: CsvLayout | None) -> FailuresSink:
    """The failures file at `path`: CSV in the input's `layout` when it is named .csv, else
    JSONL; ValueError for a .csv name without a CSV input to copy."""
    if path.suffix.lower() != ".csv":
        return FailuresWriter(path)
    if layout is None:
        raise ValueError(
            f"{path}: a CSV failures file copies a CSV input's columns, and the input is "
            "not CSV; name it .jsonl"
        )
    return CsvFailuresWriter(path, layout)
