"""Input files -> rows: CSV and JSONL, each row with its line number or its error.

A bad row never stops the file: bad quoting, a wrong number of columns, bytes that are
not UTF-8 or a line that is not JSON become an `InputRow` with `error` set, and the rows
around it are read as usual. Problems of the whole file (it is empty, its header repeats a
column or names columns the model does not have) raise `InputFileError` before any row.
"""

from __future__ import annotations

import csv
import enum
import io
import json
import re
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

MAX_RECORD_LINES = 100
"""A quoted CSV field may span lines, but an unclosed quote is reported after this many."""

_NOT_UTF8 = re.compile("[\udc80-\udcff]")
_TRUE = frozenset({"true", "yes", "y", "1", "t"})
_FALSE = frozenset({"false", "no", "n", "0", "f"})


class InputFileError(ValueError):
    """The input file as a whole cannot be read (no rows were produced)."""


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
    """'First Name', 'firstName', 'first-name' -> 'first_name'."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.strip())
    return re.sub(r"[^0-9a-z]+", "_", spaced.lower()).strip("_")


def _members(tp: Any) -> list[Any]:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return [m for m in typing.get_args(tp) if m not in (Unset, type(None))]
    return [tp]


def _coerce(text: str, tp: Any) -> Any:
    """Turn a CSV cell into the field's type; a cell that does not parse is left as text."""
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
        return json.loads(text)
    except ValueError:
        return text


def _not_utf8(text: str) -> str | None:
    bad = _NOT_UTF8.search(text)
    if bad is None:
        return None
    return f"not valid UTF-8 (byte 0x{ord(bad.group()) - 0xDC00:02X})"


class _Records:
    """Physical lines -> the lines of each CSV record (a quoted field may span lines).

    A record ends when its quotes balance, at MAX_RECORD_LINES lines or at the end of the
    file; `reread` gives lines back, so that after an unclosed quote only its first line is
    lost.
    """

    def __init__(self, lines: Iterator[str]) -> None:
        self._numbered = enumerate(lines, start=1)
        self._pushback: list[tuple[int, str]] = []

    def next(self) -> list[tuple[int, str]]:
        """The (line number, text) lines of the next record; empty at the end."""
        pending: list[tuple[int, str]] = []
        quotes = 0
        while len(pending) < MAX_RECORD_LINES:
            item = self._pushback.pop() if self._pushback else next(self._numbered, None)
            if item is None:
                break
            pending.append(item)
            quotes += item[1].count('"')
            if quotes % 2 == 0:
                break
        return pending

    def reread(self, lines: list[tuple[int, str]]) -> None:
        """Read these lines again, first to last."""
        self._pushback.extend(reversed(lines))


def _parse_record(text: str) -> list[str]:
    return next(csv.reader(io.StringIO(text), strict=True), [])


class _CsvColumns:
    """How the header's columns map to wire fields, and the row dicts built from cells."""

    def __init__(self, header: list[str], fields: RequestFields, extra_to: str | None) -> None:
        known = fields.by_header()
        self.header = header
        self.targets: list[str | None] = []
        extras: list[str] = []
        for column in header:
            wire = known.get(snake_case(column))
            self.targets.append(wire)
            if wire is None:
                extras.append(column)
        seen = [t for t in self.targets if t is not None]
        if len(seen) != len(set(seen)):
            dup = sorted({t for t in seen if seen.count(t) > 1})
            raise InputFileError(f"the header maps several columns to {', '.join(dup)}")
        if extra_to is not None and extra_to not in fields.types:
            raise InputFileError(f"--extra-columns-to {extra_to!r} is not a field of the request")
        if extras and extra_to is None:
            raise InputFileError(
                f"columns not in the request: {', '.join(extras)} "
                "(send them in a dict field with --extra-columns-to FIELD, or remove them)"
            )
        self.extra_to = extra_to
        self.types = fields.types

    def row(self, cells: list[str]) -> dict[str, Any]:
        data: dict[str, Any] = {}
        extras: dict[str, str] = {}
        for column, wire, cell in zip(self.header, self.targets, cells, strict=True):
            if cell == "":
                continue
            if wire is None:
                extras[column.strip()] = cell
            else:
                data[wire] = _coerce(cell, self.types[wire])
        if extras and self.extra_to is not None:
            target = data.setdefault(self.extra_to, {})
            if isinstance(target, dict):
                target.update(extras)
        return data


def _read_csv(
    handle: io.TextIOWrapper, fields: RequestFields, extra_to: str | None
) -> Iterator[InputRow]:
    records = _Records(iter(handle.readline, ""))
    while (lines := records.next()) and not "".join(text for _, text in lines).strip():
        pass
    if not lines:
        raise InputFileError("the file is empty: a CSV needs a header row")
    start, text = lines[0][0], "".join(text for _, text in lines)
    if (problem := _not_utf8(text)) is not None:
        raise InputFileError(f"line {start}: the header is {problem}")
    try:
        header = _parse_record(text)
    except csv.Error as exc:
        raise InputFileError(f"line {start}: cannot read the header ({exc})") from None
    return _csv_rows(records, _CsvColumns(header, fields, extra_to))


def _csv_row(line: int, text: str, columns: _CsvColumns) -> InputRow:
    if (problem := _not_utf8(text)) is not None:
        return InputRow(line=line, error=f"line {line}: {problem}", raw=text)
    try:
        cells = _parse_record(text)
    except csv.Error as exc:
        return InputRow(line=line, error=f"line {line}: bad CSV quoting ({exc})", raw=text)
    if len(cells) != len(columns.header):
        return InputRow(
            line=line,
            error=f"line {line}: {len(cells)} columns, the header has {len(columns.header)}",
            raw=text,
        )
    return InputRow(line=line, data=columns.row(cells))


def _csv_rows(records: _Records, columns: _CsvColumns) -> Iterator[InputRow]:
    while lines := records.next():
        line, text = lines[0][0], "".join(text for _, text in lines)
        if not text.strip():
            continue
        row = _csv_row(line, text, columns)
        if row.error is not None and len(lines) > 1:
            row = _csv_row(line, lines[0][1], columns)
            records.reread(lines[1:])
        yield row


def _read_jsonl(handle: io.TextIOWrapper) -> Iterator[InputRow]:
    for line, text in enumerate(iter(handle.readline, ""), start=1):
        if not text.strip():
            continue
        if (problem := _not_utf8(text)) is not None:
            yield InputRow(line=line, error=f"line {line}: {problem}", raw=text)
            continue
        try:
            data = json.loads(text)
        except ValueError as exc:
            yield InputRow(line=line, error=f"line {line}: not JSON ({exc})", raw=text)
            continue
        if not isinstance(data, dict):
            yield InputRow(line=line, error=f"line {line}: expected a JSON object", raw=text)
            continue
        data.pop(META_KEY, None)
        yield InputRow(line=line, data=data)


def open_input(
    path: Path, fields: RequestFields, *, extra_columns_to: str | None = None
) -> Iterator[InputRow]:
    """Rows of a .csv or .jsonl file; file-level problems raise InputFileError at once.

    CSV headers are matched to wire names after snake_casing both; empty cells are left
    out; cells are turned into the field's type (booleans, numbers, ';'-separated lists,
    JSON for objects). Columns that match no field go into the dict field
    `extra_columns_to` when given, else they are an error.
    """
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".jsonl", ".ndjson"):
        raise InputFileError(f"{path}: expected a .csv or .jsonl file")
    try:
        handle = path.open(encoding="utf-8-sig", errors="surrogateescape", newline="")
    except OSError as exc:
        raise InputFileError(f"{path}: {exc.strerror}") from None
    try:
        rows = (
            _read_csv(handle, fields, extra_columns_to) if suffix == ".csv" else _read_jsonl(handle)
        )
    except InputFileError as exc:
        handle.close()
        raise InputFileError(f"{path}: {exc}") from None
    return _closing(handle, rows)


def _closing(handle: io.TextIOWrapper, rows: Iterator[InputRow]) -> Iterator[InputRow]:
    with handle:
        yield from rows
