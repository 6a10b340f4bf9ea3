"""The failures file: every row that did not succeed, as JSONL that `load` reads back.

Each line is the row's wire-format body plus a ``_leadkit`` object (line, index, outcome,
reason, and the raw text of a row that could not be parsed, bytes that are not UTF-8
replaced by U+FFFD); the JSONL reader drops that
key, so the file can be fed straight back as input once the rows are fixed. The file is
strict JSON: a row that JSON cannot hold as it is (a NaN or an infinity, a tuple key) is
written as text in ``raw`` instead, and stays invalid, with its reason, when loaded again.
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


_STRICT: dict[str, Any] = {"ensure_ascii": False, "allow_nan": False, "default": str}
"""json.dumps options: JSON any reader takes (no NaN or Infinity), values such as a UUID as
their text."""


def _as_text(body: dict[str, Any]) -> str:
    """A row JSON cannot hold, as text to fix: JSON but for its NaN and Infinity, or else
    the row's repr."""
    try:
        return json.dumps(body, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return repr(body)


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
