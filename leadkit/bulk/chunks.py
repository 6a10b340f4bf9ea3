"""The chunks of an upload: valid rows spooled to disk, then written as the file one upload sends.

A chunk keeps in memory only its counts and its columns: each row goes to a spool file as
it is added (its index, line, keys, body and cells), and is read back in order to write the
upload's CSV and to report each row's result. The CSV is the loader's own: a header of the
request's field names (those any row of the chunk gives) and the extra-columns object's keys,
every cell quoted, so its size is known exactly as rows are added; `fits` keeps a chunk
within the upload's row and byte limits.

Each value is sent as CSV text: a string as it is, a boolean ``true``/``false``, a number
in its shortest form, null as an empty cell (the field is not given), anything else as JSON.
"""

from __future__ import annotations

import contextlib
import csv
import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from .ledger import Job

__all__ = ["Chunk", "Spooled", "cell_text", "unsendable"]

_ROW_END = 2
"""A CSV line ends in CRLF."""


def cell_text(value: Any) -> str:
    """A value as the text of its CSV cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _size(text: str) -> int:
    """The bytes of a cell's text in the CSV, its doubled quotes included (not its own two)."""
    return len(text.encode("utf-8")) + text.count('"')


def unsendable(body: Mapping[str, Any], fields: Sequence[str], extra: str | None) -> str | None:
    """Why a row's extra-columns object cannot be columns of the upload, if it cannot: a key
    that is empty, or that is a field's name (the file could not tell them apart)."""
    keys = body.get(extra) if extra else None
    if not isinstance(keys, Mapping):
        return None
    names = {field.casefold(): field for field in fields}
    for key in keys:
        if not str(key).strip():
            return f"{extra} has a key with no name, which cannot be a column of the upload"
        if str(key).casefold() in names:
            return (
                f"{extra} has the key {key!r}, which the upload would read as the field "
                f"{names[str(key).casefold()]!r}"
            )
    return None


@attrs.frozen
class Spooled:
    """A row of a chunk, read back: its place in the chunk's file and what the run knows."""

    position: int
    index: int
    line: int | None
    key: str | None
    journal_key: str
    body: dict[str, Any]
    cells: tuple[str, ...] | None


class Chunk:
    """The rows of one upload, spooled in `folder` until the upload is written."""

    def __init__(
        self,
        folder: Path,
        number: int,
        *,
        fields: Sequence[str],
        extra: str | None,
        max_rows: int,
        max_bytes: int,
    ) -> None:
        self.number = number
        self.rows = 0
        self.csv_path = folder / f"upload-{number}.csv"
        self._spool_path = folder / f"chunk-{number}.jsonl"
        self._spool = self._spool_path.open("w", encoding="ascii")
        self._fields = [field for field in fields if field != extra]
        self._extra = extra
        self._max_rows = max_rows
        self._max_bytes = max_bytes
        self._columns: dict[str, None] = {}
        """The fields any row gives, then the extra-columns keys, each once."""
        self._content = 0
        """Bytes of the rows' cell texts."""

    def _cells(self, body: Mapping[str, Any]) -> dict[str, str]:
        """Column -> the text of a row's cells that are not empty."""
        cells = {f: cell_text(body[f]) for f in self._fields if f in body}
        extra = body.get(self._extra) if self._extra else None
        if isinstance(extra, Mapping):
            cells |= {str(k): cell_text(v) for k, v in extra.items()}
        return {column: text for column, text in cells.items() if text}

    def _file_size(self, columns: int, names: int, content: int, rows: int) -> int:
        """The CSV's bytes: a header of `columns` names (`names` bytes) and `rows` rows of
        `content` bytes, every cell in quotes, separated by commas."""
        line = 3 * columns - 1 + _ROW_END  # two quotes per cell, a comma between, CRLF
        return names + content + (rows + 1) * line

    def size_with(self, job: Job) -> int:
        """The CSV's size in bytes with `job`'s row added."""
        cells = self._cells(job.body)
        columns = self._columns | dict.fromkeys(cells)
        names = sum(_size(name) for name in columns)
        content = self._content + sum(_size(text) for text in cells.values())
        return self._file_size(len(columns), names, content, self.rows + 1)

    def fits(self, job: Job) -> bool:
        """Whether `job`'s row can join the chunk within the upload's limits."""
        return self.rows < self._max_rows and self.size_with(job) <= self._max_bytes

    def add(self, job: Job) -> None:
        """Spool `job`'s row (check `fits` first)."""
        cells = self._cells(job.body)
        for column in cells:
            self._columns.setdefault(column)
        self._content += sum(_size(text) for text in cells.values())
        record = [job.index, job.line, job.key, job.journal_key, job.body, job.cells]
        self._spool.write(json.dumps(record, separators=(",", ":"), default=str) + "\n")
        self.rows += 1

    def mapping(self) -> dict[str, str]:
        """Field -> the column holding it: each field is the column of its own name."""
        return {field: field for field in self._fields if field in self._columns}

    def write_csv(self) -> Path:
        """Write the upload's CSV from the spool; its path."""
        self._spool.close()
        fields = [field for field in self._fields if field in self._columns]
        extras = [column for column in self._columns if column not in fields]
        with self.csv_path.open("w", encoding="utf-8", newline="") as file:
            writer = csv.writer(file, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
            writer.writerow([*fields, *extras])
            for row in self.spooled():
                cells = self._cells(row.body)
                writer.writerow([cells.get(column, "") for column in (*fields, *extras)])
        return self.csv_path

    def spooled(self) -> Iterator[Spooled]:
        """The rows, in the order of the file."""
        self._spool.close()
        with self._spool_path.open(encoding="ascii") as spool:
            for position, line in enumerate(spool):
                index, number, key, journal_key, body, cells = json.loads(line)
                shaped = None if cells is None else tuple(cells)
                yield Spooled(position, index, number, key, journal_key, body, shaped)

    def discard(self) -> None:
        """Delete the spool and the CSV."""
        self._spool.close()
        for path in (self._spool_path, self.csv_path):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
