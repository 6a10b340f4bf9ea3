"""An uploaded CSV file's rows as request bodies of the create operation its x-upload names.

The mapping names the column of each request field (API field -> column); a field it does not
name takes the column of its own name (case aside). The columns no field takes go, under
their own names, into the create's extra-columns object (its x-extra-columns), as the
vendors' imports make them custom fields; without one they are not read. Empty cells are
left out. A cell is read as its property's type (an integer field's ``42`` is 42). What is
wrong with the file as a whole (not UTF-8, no header, no column for a required field) is a
`FileProblem`, which fails the job.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

from .spec import ApiModel, Operation, resolve

__all__ = ["FileProblem", "RowReader", "read_file"]


class FileProblem(ValueError):
    """The file as a whole cannot be read as rows of the create operation."""


def read_file(data: bytes) -> tuple[list[str], list[list[str]]]:
    """The header and the rows (blank lines skipped) of a CSV file in UTF-8."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileProblem(f"the file is not UTF-8 text (byte {exc.start})") from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        records = [record for record in reader if any(cell.strip() for cell in record)]
    except csv.Error as exc:
        raise FileProblem(f"line {reader.line_num}: not CSV ({exc})") from None
    if not records:
        raise FileProblem("the file is empty: it needs a header row")
    return [name.strip() for name in records[0]], records[1:]


def _types(schema: Mapping[str, Any]) -> set[str]:
    declared = schema.get("type", [])
    return {declared} if isinstance(declared, str) else set(declared)


def _cell_value(cell: str, schema: Mapping[str, Any]) -> Any:
    """A cell as its property's type reads it; the text when it does not read as one."""
    types = _types(schema)
    if "string" in types or not types:
        return cell
    if types & {"integer", "number", "boolean", "array", "object"}:
        try:
            return json.loads(cell.lower() if "boolean" in types else cell)
        except ValueError:
            return cell
    return cell


class RowReader:
    """Reads the rows of a file with this header into request bodies of `creates`."""

    def __init__(
        self,
        api: ApiModel,
        creates: Operation,
        header: Sequence[str],
        mapping: Mapping[str, str] | None,
    ) -> None:
        schema = resolve(api.spec, creates.request_schema or {})
        properties = {
            name: resolve(api.spec, node) for name, node in schema.get("properties", {}).items()
        }
        self._width = len(header)
        self._fields = self._columns(header, properties, creates.extra_columns, mapping or {})
        self._properties = properties
        for required in schema.get("required", []):
            if required not in self._fields:
                raise FileProblem(f"the file has no column for {required} (its header: {header})")
        used = set(self._fields.values())
        self._extra = creates.extra_columns
        self._extras = [
            (i, name)
            for i, name in enumerate(header)
            if i not in used and name and self._extra is not None
        ]

    @staticmethod
    def _columns(
        header: Sequence[str],
        properties: Mapping[str, Any],
        extra: str | None,
        mapping: Mapping[str, str],
    ) -> dict[str, int]:
        """Field -> the index of its column: the mapping's, else the column of its name."""
        by_name = {name: i for i, name in enumerate(header)}
        folded = {name.casefold(): i for i, name in reversed(list(enumerate(header)))}
        columns: dict[str, int] = {}
        for field in properties:
            if field == extra:
                continue
            if field in mapping:
                if mapping[field] not in by_name:
                    raise FileProblem(
                        f"the mapping's {field} is the column {mapping[field]!r}, which the "
                        "file does not have"
                    )
                columns[field] = by_name[mapping[field]]
            elif (index := by_name.get(field, folded.get(field.casefold()))) is not None:
                columns[field] = index
        return columns

    def read(self, cells: Sequence[str]) -> tuple[dict[str, Any], str | None]:
        """The request body of one row's cells, and what is wrong with their number."""
        wrong = None
        if len(cells) > self._width and any(cell.strip() for cell in cells[self._width :]):
            wrong = f"{len(cells)} cells, the header has {self._width} columns"
        body: dict[str, Any] = {}
        for field, index in self._fields.items():
            cell = cells[index].strip() if index < len(cells) else ""
            if cell:
                body[field] = _cell_value(cell, self._properties[field])
        extras = {
            name: cells[i].strip()
            for i, name in self._extras
            if i < len(cells) and cells[i].strip()
        }
        if extras and self._extra is not None:
            body[self._extra] = extras
        return body, wrong
