"""Input files -> rows: CSV and JSONL, each row with its line number or its error.

A file is read whole in one encoding (`leadkit.bulk.encodings`), and its columns become
request fields as `leadkit.bulk.columns` says. A bad row never stops the file: bad quoting,
a wrong number of columns, a line that is not JSON, a cell of the wrong kind, or a value no
request can carry (a lone surrogate escape such as ``\\ud800``, nesting too deep to read)
become an `InputRow` with `error` set, and the rows around it are read as usual. Problems of
the whole file (it is empty, its encoding cannot be told, its header repeats a column, the
mapping options do not fit it, a .jsonl file holds plain JSON) raise `InputFileError` before
any row.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs

from ..runtime.api import ApiDescription, OperationSpec
from ..runtime.converters import wire_names
from .cells import BadValue, loads
from .columns import ColumnOptions, ColumnPlan, KeyPlan, MappingError, RequestFields
from .encodings import EncodingError, FileEncoding, scan

__all__ = [
    "META_KEY",
    "CsvLayout",
    "InputFile",
    "InputFileError",
    "InputRow",
    "input_fields",
    "open_input",
    "request_fields",
]

META_KEY = "_leadkit"
"""Key of the metadata object in failures-file lines; the JSONL reader drops it."""

MAX_RECORD_LINES = 10_000
"""A quoted CSV field may span lines (an e-mail thread in a notes column), but an unclosed
quote is reported after this many."""
FIELD_CHARS = 16 * 1024 * 1024
"""The longest CSV field read (csv's own default is 128 KiB)."""
_DELIMITERS = ";\t|"
"""Besides the comma, what a header may be separated by (European Excel writes ';')."""
_EXCEL_SEP = r"sep=(.)\s*"
"""Excel's first line naming the delimiter: ``sep=;``."""
_NOT_DECODED = "[\udc80-\udcff]"


class InputFileError(ValueError):
    """The input file as a whole cannot be read (no rows were produced)."""


@attrs.frozen
class InputRow:
    """One row read from a file: wire-format `data`, or the `error` that made it unreadable."""

    line: int
    data: dict[str, Any] | None = None
    error: str | None = None
    raw: str | None = None
    """The source text, kept when the row could not be used."""
    cells: tuple[str, ...] | None = attrs.field(default=None, repr=False, eq=False)
    """A CSV row's cells as read, for a failures file in the input's shape."""


@attrs.frozen
class CsvLayout:
    """The shape of a CSV input, which a CSV failures file copies."""

    header: tuple[str, ...]
    delimiter: str
    newline: str
    bom: bool
    """The failures file starts with a byte-order mark: the input had one, or was not
    Unicode (Excel opens a UTF-8 file right only with one)."""
    sep_line: bool
    """The input started with Excel's ``sep=`` line."""
    own: frozenset[int]
    """Columns of the input that are a failures file's own ``line`` and ``error``."""


def request_fields(api: ApiDescription, model: type) -> RequestFields:
    """The wire names and types of the request model `model` of `api` (no aliases)."""
    names = wire_names(model, api.renames)
    resolved = attrs.resolve_types(model)
    declared = {names[f.name]: f.type for f in attrs.fields(resolved) if f.name in names}
    return RequestFields(wire_names=names, types=declared)


def input_fields(api: ApiDescription, op: OperationSpec[Any]) -> RequestFields:
    """What a file's columns can become for the operation `op`: its body's fields, with the
    aliases and the extra-columns object its spec declares."""
    fields = request_fields(api, op.body_type)
    return attrs.evolve(fields, aliases=dict(op.column_aliases), extra=op.extra_columns)


class InputFile:
    """An input file, open: iterate it once for its rows (the file closes at the end).

    `encoding` says how it is read, `columns` how a CSV's columns map (None for JSONL),
    `layout` a CSV's shape, `estimated_rows` its non-blank lines less the header.
    """

    def __init__(
        self,
        path: Path,
        encoding: FileEncoding,
        lines: int,
        handle: io.TextIOWrapper,
        rows: Iterator[InputRow],
        columns: ColumnPlan | None = None,
        layout: CsvLayout | None = None,
    ) -> None:
        self.path = path
        self.encoding = encoding
        self.columns = columns
        self.layout = layout
        heading = 0 if layout is None else 2 if layout.sep_line else 1
        self.estimated_rows = max(lines - heading, 0)
        self._handle = handle
        self._rows = rows

    def __iter__(self) -> Iterator[InputRow]:
        with self._handle:
            yield from self._rows

    def close(self) -> None:
        """Close the file (iterating to the end does it too)."""
        self._handle.close()


@attrs.frozen
class _Record:
    """One CSV record: its first line number, its source text, its cells or its problem."""

    line: int
    text: str
    cells: list[str] | None = None
    problem: str | None = None


def _not_decoded(text: str) -> str | None:
    bad = re.search(_NOT_DECODED, text)
    if bad is None:
        return None
    return f"not valid UTF-8 (byte 0x{ord(bad.group()) - 0xDC00:02X})"


class _Records:
    """Physical lines -> CSV records, each as csv.reader reads it (a quoted field may span lines).

    When a record's quoting is broken (a csv error, or a quote still open after
    MAX_RECORD_LINES lines or at the end of the file), only its first line is taken, as a
    record with a problem, and the lines after it are read again. So every line is in
    exactly one record: one csv.reader reads whole, or a single badly quoted line.
    """

    def __init__(self, lines: Iterator[str]) -> None:
        self._numbered = enumerate(lines, start=1)
        self._pushback: list[tuple[int, str]] = []
        self.delimiter = ","

    def _take(self) -> tuple[int, str] | None:
        return self._pushback.pop() if self._pushback else next(self._numbered, None)

    def next(self, limit: int = MAX_RECORD_LINES) -> _Record | None:
        """The next record, of at most `limit` lines; None at the end."""
        taken: list[tuple[int, str]] = []

        def feed() -> Iterator[str]:
            while len(taken) < limit and (item := self._take()) is not None:
                taken.append(item)
                yield item[1]

        try:
            cells = next(csv.reader(feed(), delimiter=self.delimiter, strict=True), None)
        except csv.Error as exc:
            if len(taken) > 1:
                self._pushback.extend(reversed(taken))
                return self.next(limit=1)
            return _Record(*taken[0], problem=f"bad CSV quoting ({exc})")
        if not taken:
            return None
        text = "".join(text for _, text in taken)
        problem = _not_decoded(text)
        return _Record(taken[0][0], text, cells=None if problem else cells, problem=problem)


def _next_nonblank(records: _Records) -> _Record | None:
    while (record := records.next()) is not None and not record.text.strip():
        pass
    return record


def _read_csv(
    handle: io.TextIOWrapper, encoding: FileEncoding, fields: RequestFields, options: ColumnOptions
) -> tuple[ColumnPlan, CsvLayout, Iterator[InputRow]]:
    csv.field_size_limit(max(csv.field_size_limit(), FIELD_CHARS))
    records = _Records(iter(handle.readline, ""))
    header = _next_nonblank(records)
    sep = re.fullmatch(_EXCEL_SEP, header.text) if header is not None else None
    if sep is not None:
        records.delimiter = sep.group(1)
        header = _next_nonblank(records)
    if header is None:
        raise InputFileError("the file is empty: a CSV needs a header row")
    if header.cells is None:
        hint = "; give its encoding with --encoding NAME" if "UTF-8" in str(header.problem) else ""
        raise InputFileError(f"line {header.line}: cannot read the header: {header.problem}{hint}")
    cells = header.cells
    if len(cells) == 1 and (other := [d for d in _DELIMITERS if d in header.text]):
        records.delimiter = max(other, key=header.text.count)
        cells = next(csv.reader([header.text], delimiter=records.delimiter))
    plan = ColumnPlan(cells, fields, options)
    layout = CsvLayout(
        header=tuple(cells),
        delimiter=records.delimiter,
        newline="\r\n" if header.text.endswith("\r\n") else "\n",
        bom=encoding.bom or not encoding.name.startswith("UTF"),
        sep_line=sep is not None,
        own=frozenset(plan.own),
    )
    return plan, layout, _csv_rows(records, plan)


def _csv_rows(records: _Records, plan: ColumnPlan) -> Iterator[InputRow]:
    """Every record but blank lines and rows of empty cells (a spreadsheet's empty rows)."""
    while (record := records.next()) is not None:
        cells = record.cells
        if record.text.strip() and (cells is None or any(cell.strip() for cell in cells)):
            yield _csv_row(record, plan)


def _csv_row(record: _Record, plan: ColumnPlan) -> InputRow:
    problem, cells = record.problem, record.cells
    if cells is not None:
        if (reason := plan.unread_before(cells)) is not None:
            problem = f"an earlier load could not read it ({reason}); fix it in the source file"
        else:
            try:
                return InputRow(line=record.line, data=plan.row(cells), cells=tuple(cells))
            except BadValue as exc:
                problem = str(exc)
    shaped = tuple(cells) if cells is not None else None
    error = f"line {record.line}: {problem}"
    return InputRow(line=record.line, error=error, raw=record.text, cells=shaped)


def _read_jsonl(handle: io.TextIOWrapper, plan: KeyPlan) -> Iterator[InputRow]:
    lines = enumerate(iter(handle.readline, ""), start=1)
    rows = ((line, text) for line, text in lines if text.strip())
    if (first := next(rows, None)) is None:
        raise InputFileError("the file is empty: a JSONL file needs a row")
    _refuse_plain_json(first[1], Path(handle.name))
    return (_jsonl_row(line, text, plan) for line, text in itertools.chain([first], rows))


def _refuse_plain_json(first: str, path: Path) -> None:
    """Refuse a file of plain JSON, whose first line is no JSONL row: a JSON array (`[`), or
    an object written over many lines (`{` alone); say how to convert it."""
    start = first.strip()
    if start.startswith("["):
        what, program = "a JSON array", "'.[]'"
    elif start == "{":
        what, program = "JSON written over many lines", "."
    else:
        return
    converted = shlex.quote(f"{path.stem}.lines.jsonl")
    raise InputFileError(
        f"holds {what}, not one JSON object per line (JSONL); "
        f"convert it with: jq -c {program} {shlex.quote(str(path))} > {converted}"
    )


def _jsonl_row(line: int, text: str, plan: KeyPlan) -> InputRow:
    problem = _not_decoded(text)
    if problem is None:
        try:
            data = loads(text)
        except ValueError as exc:
            problem = f"not JSON ({exc})"
        except BadValue as exc:
            problem = str(exc)
        else:
            if isinstance(data, dict):
                meta = data.pop(META_KEY, None)
                if not data and isinstance(meta, dict) and isinstance(meta.get("raw"), str):
                    return _unsent_before(line, meta)
                try:
                    return InputRow(line=line, data=plan.row(data))
                except BadValue as exc:
                    problem = str(exc)
            else:
                problem = "expected a JSON object"
    return InputRow(line=line, error=f"line {line}: {problem}", raw=text)


def _unsent_before(line: int, meta: dict[str, Any]) -> InputRow:
    """A failures-file line of a row an earlier load could not read or write as JSON: still
    invalid, with its reason and text carried on (it is not an empty row)."""
    reason = str(meta.get("reason") or "could not be read")
    error = f"line {line}: an earlier load could not send it ({reason}); fix it in the source file"
    return InputRow(line=line, error=error, raw=meta["raw"])


def open_input(
    path: Path,
    fields: RequestFields,
    *,
    options: ColumnOptions | None = None,
    encoding: str | None = None,
) -> InputFile:
    """Open a .csv or .jsonl file of rows; file-level problems raise InputFileError at once.

    `fields` says what the columns can become (`input_fields` for an operation), `options`
    what the user said about them, `encoding` the file's encoding (found when None). Empty
    cells are left out; cells are turned into the field's type (`leadkit.bulk.cells`).
    """
    options = options or ColumnOptions()
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".jsonl", ".ndjson"):
        raise InputFileError(f"{path}: expected a .csv or .jsonl file")
    try:
        found, lines = scan(path, encoding)
        handle = path.open(encoding=found.codec, errors="surrogateescape", newline="")
    except OSError as exc:
        raise InputFileError(f"{path}: {exc.strerror}") from None
    except EncodingError as exc:
        raise InputFileError(f"{path}: {exc}") from None
    try:
        if suffix == ".csv":
            plan, layout, rows = _read_csv(handle, found, fields, options)
            return InputFile(path, found, lines, handle, rows, plan, layout)
        keys = KeyPlan(fields, options)
        return InputFile(path, found, lines, handle, _read_jsonl(handle, keys))
    except (InputFileError, MappingError) as exc:
        handle.close()
        raise InputFileError(f"{path}: {exc}") from None
