"""Input files -> rows: CSV and JSONL, each row with its line number or its error.

A bad row never stops the file: bad quoting, a wrong number of columns, bytes that are
not UTF-8, a line that is not JSON, or a value no request can carry (a lone surrogate
escape such as ``\\ud800``, nesting too deep to read) become an `InputRow` with `error` set,
and the rows around it are read as usual. Problems of the whole file (it is empty, its
header repeats a column or names columns the model does not have, a .jsonl file holds plain
JSON) raise `InputFileError` before any row.
"""

from __future__ import annotations

import collections
import csv
import enum
import io
import itertools
import json
import re
import shlex
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs

from ..runtime.api import ApiDescription
from ..runtime.converters import wire_names
from ..runtime.unset import Unset

__all__ = [
    "META_KEY",
    "InputFileError",
    "InputRow",
    "RequestFields",
    "open_input",
    "request_fields",
    "snake_case",
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
_EXCEL_SEP = re.compile(r"sep=(.)\s*")
"""Excel's first line naming the delimiter: ``sep=;``."""

_NOT_UTF8 = re.compile("[\udc80-\udcff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_TRUE = frozenset({"true", "yes", "y", "1", "t"})
_FALSE = frozenset({"false", "no", "n", "0", "f"})


class InputFileError(ValueError):
    """The input file as a whole cannot be read (no rows were produced)."""


class _BadRow(Exception):
    """A row that was read but cannot be sent as it is; the message says why."""


@attrs.frozen
class InputRow:
    """One row read from a file: wire-format `data`, or the `error` that made it unreadable."""

    line: int
    data: dict[str, Any] | None = None
    error: str | None = None
    raw: str | None = None
    """The source text, kept when the row could not be parsed."""


@attrs.frozen
class RequestFields:
    """The wire names and types of a request model's fields."""

    wire_names: dict[str, str]
    """Python attribute name -> wire name."""
    types: dict[str, Any]
    """Wire name -> declared type."""

    def by_header(self) -> dict[str, str]:
        """snake_case of each wire name -> the wire name, to match CSV headers."""
        return {snake_case(wire): wire for wire in self.types}


def request_fields(api: ApiDescription, model: type) -> RequestFields:
    """The wire names and types of the request model `model` of `api`."""
    names = wire_names(model, api.renames)
    resolved = attrs.resolve_types(model)
    declared = {names[f.name]: f.type for f in attrs.fields(resolved) if f.name in names}
    return RequestFields(wire_names=names, types=declared)


def snake_case(name: str) -> str:
    """'First Name', 'firstName', 'first-name' -> 'first_name'; letters of any script stay."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.strip())
    return re.sub(r"[\W_]+", "_", spaced.lower()).strip("_")


def _members(tp: Any) -> list[Any]:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return [m for m in typing.get_args(tp) if m not in (Unset, type(None))]
    return [tp]


def _coerce(text: str, tp: Any) -> Any:
    """Turn a CSV cell into the field's type; a cell that does not parse is left as text.

    JSON that no request can carry (see `_loads`) raises _BadRow.
    """
    members = _members(tp)
    origins = {typing.get_origin(m) or m for m in members}
    if str in origins or any(isinstance(m, type) and issubclass(m, enum.Enum) for m in origins):
        return text
    if bool in origins:
        lowered = text.strip().lower()
        return True if lowered in _TRUE else False if lowered in _FALSE else text
    if int in origins or float in origins:
        try:
            number = float(text)
        except ValueError:
            return text
        return int(number) if int in origins and number.is_integer() else number
    if list in origins and not text.lstrip().startswith("["):
        return [part.strip() for part in text.split(";") if part.strip()]
    try:
        return _loads(text)
    except ValueError:
        return text


def _loads(text: str) -> Any:
    """JSON text -> value; ValueError if it is not JSON, _BadRow if no request can carry it."""
    try:
        value = json.loads(text)
        shown = json.dumps(value, ensure_ascii=False) if _SURROGATE_ESCAPE.search(text) else ""
    except RecursionError:
        raise _BadRow("nested too deeply to read") from None
    if (lone := _SURROGATE.search(shown)) is not None:
        code = f"\\u{ord(lone.group()):04x}"
        raise _BadRow(f"the escape {code} is half a surrogate pair, not a character")
    return value


def _not_utf8(text: str) -> str | None:
    bad = _NOT_UTF8.search(text)
    if bad is None:
        return None
    return f"not valid UTF-8 (byte 0x{ord(bad.group()) - 0xDC00:02X})"


@attrs.frozen
class _Record:
    """One CSV record: its first line number, its source text, its cells or its problem."""

    line: int
    text: str
    cells: list[str] | None = None
    problem: str | None = None


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
        problem = _not_utf8(text)
        return _Record(taken[0][0], text, cells=None if problem else cells, problem=problem)


class _CsvColumns:
    """How the header's columns map to wire fields, and the row dicts built from cells."""

    def __init__(self, header: list[str], fields: RequestFields, extra_to: str | None) -> None:
        known = fields.by_header()
        names = [snake_case(column) for column in header]
        counts = collections.Counter(name for name in names if name)
        if repeated := [
            repr(c.strip()) for c, n in zip(header, names, strict=True) if counts[n] > 1
        ]:
            raise InputFileError(f"the header repeats a column: {', '.join(repeated)}")
        self.header = header
        self.targets = [known.get(name) for name in names]
        self.unnamed = {i for i, name in enumerate(names) if not name}
        """Columns without a name (a spreadsheet's empty trailing columns): must stay empty."""
        if not any(self.targets):
            raise InputFileError(
                f"no column is a field of the request ({', '.join(fields.types)}); "
                "a file separated by something other than ',' ';' tab or '|'?"
            )
        extras = [
            c
            for i, (c, wire) in enumerate(zip(header, self.targets, strict=True))
            if wire is None and i not in self.unnamed
        ]
        if extras and extra_to is None:
            raise InputFileError(
                f"columns not in the request: {', '.join(extras)} "
                "(send them in a dict field with --extra-columns-to FIELD, or remove them)"
            )
        self.extra_to = extra_to
        self.types = fields.types

    def row(self, cells: list[str]) -> dict[str, Any]:
        """The row dict of a record's cells; _BadRow if a cell or their number is wrong."""
        if len(cells) != len(self.header):
            raise _BadRow(f"{len(cells)} columns, the header has {len(self.header)}")
        data: dict[str, Any] = {}
        extras: dict[str, str] = {}
        for i, (column, wire, raw) in enumerate(zip(self.header, self.targets, cells, strict=True)):
            cell = raw.strip()  # spaces around a cell are a spreadsheet's, not the data's
            if cell == "":
                continue
            if i in self.unnamed:
                raise _BadRow(f"column {i + 1} has a value but no name in the header")
            if wire is None:
                extras[column.strip()] = cell
                continue
            try:
                data[wire] = _coerce(cell, self.types[wire])
            except _BadRow as exc:
                raise _BadRow(f"column {column.strip()!r}: {exc}") from None
        if self.extra_to is not None:
            _gather_extras(data, extras, self.extra_to)
        return data


def _gather_extras(data: dict[str, Any], extras: dict[str, Any], extra_to: str) -> None:
    """Put `extras` into the object field `extra_to` of `data`; when that field holds
    something else, leave them beside it, where validation names them."""
    if extras:
        target = data.setdefault(extra_to, {})
        (target if isinstance(target, dict) else data).update(extras)


def _read_csv(
    handle: io.TextIOWrapper, fields: RequestFields, extra_to: str | None
) -> Iterator[InputRow]:
    csv.field_size_limit(max(csv.field_size_limit(), FIELD_CHARS))
    records = _Records(iter(handle.readline, ""))
    header = _next_nonblank(records)
    if header is not None and (sep := _EXCEL_SEP.fullmatch(header.text)):
        records.delimiter = sep.group(1)
        header = _next_nonblank(records)
    if header is None:
        raise InputFileError("the file is empty: a CSV needs a header row")
    if header.cells is None:
        hint = "; save it as UTF-8 (Excel: CSV UTF-8)" if "UTF-8" in str(header.problem) else ""
        raise InputFileError(f"line {header.line}: cannot read the header: {header.problem}{hint}")
    cells = header.cells
    if len(cells) == 1 and (other := [d for d in _DELIMITERS if d in header.text]):
        records.delimiter = max(other, key=header.text.count)
        cells = next(csv.reader([header.text], delimiter=records.delimiter))
    return _csv_rows(records, _CsvColumns(cells, fields, extra_to))


def _next_nonblank(records: _Records) -> _Record | None:
    while (record := records.next()) is not None and not record.text.strip():
        pass
    return record


def _csv_rows(records: _Records, columns: _CsvColumns) -> Iterator[InputRow]:
    """Every record but blank lines and rows of empty cells (a spreadsheet's empty rows)."""
    while (record := records.next()) is not None:
        cells = record.cells
        if record.text.strip() and (cells is None or any(cell.strip() for cell in cells)):
            yield _csv_row(record, columns)


def _csv_row(record: _Record, columns: _CsvColumns) -> InputRow:
    problem = record.problem
    if record.cells is not None:
        try:
            return InputRow(line=record.line, data=columns.row(record.cells))
        except _BadRow as exc:
            problem = str(exc)
    return InputRow(line=record.line, error=f"line {record.line}: {problem}", raw=record.text)


def _read_jsonl(
    handle: io.TextIOWrapper, fields: RequestFields, extra_to: str | None
) -> Iterator[InputRow]:
    lines = enumerate(iter(handle.readline, ""), start=1)
    rows = ((line, text) for line, text in lines if text.strip())
    if (first := next(rows, None)) is None:
        raise InputFileError("the file is empty: a JSONL file needs a row")
    _refuse_plain_json(first[1], Path(handle.name))
    return (
        _jsonl_row(line, text, fields, extra_to) for line, text in itertools.chain([first], rows)
    )


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


def _jsonl_row(line: int, text: str, fields: RequestFields, extra_to: str | None) -> InputRow:
    problem = _not_utf8(text)
    if problem is None:
        try:
            data = _loads(text)
        except ValueError as exc:
            problem = f"not JSON ({exc})"
        except _BadRow as exc:
            problem = str(exc)
        else:
            if isinstance(data, dict):
                meta = data.pop(META_KEY, None)
                if not data and isinstance(meta, dict) and isinstance(meta.get("raw"), str):
                    return _unsent_before(line, meta)
                if extra_to is not None:
                    unknown = [key for key in data if key not in fields.types]
                    _gather_extras(data, {key: data.pop(key) for key in unknown}, extra_to)
                return InputRow(line=line, data=data)
            problem = "expected a JSON object"
    return InputRow(line=line, error=f"line {line}: {problem}", raw=text)


def _unsent_before(line: int, meta: dict[str, Any]) -> InputRow:
    """A failures-file line of a row an earlier load could not read or write as JSON: still
    invalid, with its reason and text carried on (it is not an empty row)."""
    reason = str(meta.get("reason") or "could not be read")
    error = f"line {line}: an earlier load could not send it ({reason}); fix it in the source file"
    return InputRow(line=line, error=error, raw=meta["raw"])


def open_input(
    path: Path, fields: RequestFields, *, extra_columns_to: str | None = None
) -> Iterator[InputRow]:
    """Rows of a .csv or .jsonl file; file-level problems raise InputFileError at once.

    CSV headers are matched to wire names after snake_casing both; empty cells are left
    out; cells are turned into the field's type (booleans, numbers, ';'-separated lists,
    JSON for objects). Columns (or JSONL keys) that match no field go into the dict field
    `extra_columns_to` when given, else they are an error (a JSONL row's is reported then).
    """
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".jsonl", ".ndjson"):
        raise InputFileError(f"{path}: expected a .csv or .jsonl file")
    if extra_columns_to is not None and not any(
        (typing.get_origin(m) or m) is dict for m in _members(fields.types.get(extra_columns_to))
    ):
        raise InputFileError(
            f"--extra-columns-to {extra_columns_to!r} is not an object field of the request"
        )
    try:
        with path.open("rb") as probe:
            utf16 = probe.read(2) in (b"\xff\xfe", b"\xfe\xff")  # Excel's "Unicode text"
        encoding = "utf-16" if utf16 else "utf-8-sig"
        handle = path.open(encoding=encoding, errors="surrogateescape", newline="")
    except OSError as exc:
        raise InputFileError(f"{path}: {exc.strerror}") from None
    try:
        rows = (
            _read_csv(handle, fields, extra_columns_to)
            if suffix == ".csv"
            else _read_jsonl(handle, fields, extra_columns_to)
        )
    except InputFileError as exc:
        handle.close()
        raise InputFileError(f"{path}: {exc}") from None
    return _closing(handle, rows)


def _closing(handle: io.TextIOWrapper, rows: Iterator[InputRow]) -> Iterator[InputRow]:
    with handle:
        yield from rows
