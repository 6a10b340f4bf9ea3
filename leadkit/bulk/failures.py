"""The failures file: every row that did not succeed, as JSONL that `load` reads back.

Each line is the row's wire-format body plus a ``_leadkit`` object (line, index, outcome,
reason, and the raw text of a row that could not be parsed, bytes that are not UTF-8
replaced by U+FFFD); the JSONL reader drops that
key, so the file can be fed straight back as input once the rows are fixed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .inputs import META_KEY
from .results import RowResult

__all__ = ["JSON_SAFE", "FailuresWriter"]

JSON_SAFE = "backslashreplace"
"""The `errors=` for a JSONL file written with ``ensure_ascii=False``: a lone surrogate (in a
server's message, say) cannot be UTF-8, and is written as its ``\\udXXX`` escape, which JSON
reads back as the same character."""


class FailuresWriter:
    """Appends one line per unsuccessful result, flushed as it is written."""

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
            meta["raw"] = result.raw.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        try:
            text = json.dumps(
                {**(result.body or {}), META_KEY: meta}, ensure_ascii=False, default=str
            )
        except (TypeError, ValueError):  # a row given in code that JSON cannot hold (a tuple key)
            meta["body"] = repr(result.body)
            text = json.dumps({META_KEY: meta}, ensure_ascii=False)
        self._file.write(text + "\n")

    def close(self) -> None:
        """Close the file."""
        self._file.close()
