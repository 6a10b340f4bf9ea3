"""Column mapping: where each column of a file, or key of a JSONL row, goes in the request.

For each column, the first rule that applies:

1. the user's word: ``--map COLUMN=FIELD`` (or ``FIELD.KEY``, a key of an object field),
   ``--map-file``, ``--ignore COLUMN``;
2. its name is a field's wire name, compared by `header_key` (case, accents, spaces and
   punctuation do not count: ``First Name`` = ``first_name`` = ``firstName``);
3. its name is one of the field's aliases (the spec's ``x-aliases``), compared the same way;
4. ``line`` and ``error``, a failures file's own columns, are ignored;
5. it goes into the extra-columns object (the spec's ``x-extra-columns``, or
   ``extra_to``) under its own name, or, when there is none, it is not sent, and the field
   it is likely a typo of, if any, is named.

What a name means is `leadkit.bulk.matching`'s; this module applies it to a header's
columns (`ColumnPlan`) or to JSONL keys (`KeyPlan`).

Several columns for one field: each row sends the first non-empty one, in the order
explicit mapping, name, alias (in the alias list's order), then position in the file.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from .cells import BadValue, coerce
from .matching import ColumnOptions, MappingError, Matcher, RequestFields, Target, header_key

__all__ = [
    "FAILURES_COLUMNS",
    "Column",
    "ColumnOptions",
    "ColumnPlan",
    "KeyPlan",
    "Kind",
    "MappingError",
    "RequestFields",
    "Target",
    "header_key",
]

FAILURES_COLUMNS = ("line", "error")
"""The columns a CSV failures file adds to the input's own."""


class Kind(enum.Enum):
    """What becomes of a column."""

    FIELD = "field"
    EXTRA = "extra"
    IGNORED = "ignored"
    NOT_SENT = "not sent"


@attrs.frozen
class Column:
    """One column of a header and what becomes of it."""

    index: int
    name: str
    kind: Kind
    target: Target | None = None
    how: str = ""
    """Why: name, alias, --map, ... for a sent column; the reason for one left out."""
    backs_up: str | None = None
    """The column this one stands in for, in rows where that one is empty."""
    nearest: str | None = None
    """A field whose name is close, for a column that is not sent."""

    def describe(self) -> str:
        """One line of the printed mapping: ``"Title" -> company_role (alias)``."""
        if self.kind is Kind.NOT_SENT:
            if self.nearest is None:
                return f"{self.name!r}: not sent (no field is like it)"
            return (
                f"{self.name!r}: not sent; did you mean {self.nearest}? "
                f'--map "{self.name}={self.nearest}"'
            )
        if self.kind is Kind.IGNORED:
            return f"{self.name!r}: ignored ({self.how})"
        when = f" where {self.backs_up!r} is empty" if self.backs_up else ""
        return f"{self.name!r} -> {self.target}{when} ({self.how})"


def _rank(column: Column, explicit: bool, rank: int) -> tuple[int, int, int]:
    return (0 if explicit else 1, rank, column.index)


class ColumnPlan:
    """How the columns of one header become a request body; `row` applies it to cells."""

    def __init__(
        self, header: Sequence[str], fields: RequestFields, options: ColumnOptions
    ) -> None:
        self.header = [name.strip() for name in header]
        self.types = fields.types
        self.separator = options.list_separator
        matcher = Matcher(fields, options)
        _refuse_repeats(self.header)
        placed = [self._place(i, name, matcher) for i, name in enumerate(self.header)]
        used = {column for _, _, column in placed if column is not None}
        if missing := [column for column in options.maps if column not in used]:
            names = ", ".join(repr(name) for name in missing)
            raise MappingError(f"the header has no column {names} (--map, --ignore)")
        self.columns = _backups([(column, rank) for column, rank, _ in placed])
        self.constants = matcher.constants
        self._refuse_overlaps()
        if not any(column.kind is Kind.FIELD for column in self.columns) and not self.constants:
            raise MappingError(
                f"no column is a field of the request ({', '.join(fields.types)}); "
                "a file separated by something other than ',' ';' tab or '|'?"
            )
        if options.strict and (unsent := self.unsent):
            lines = "; ".join(column.describe() for column in unsent)
            raise MappingError(f"--strict-columns: columns not sent: {lines}")
        self.own = {c.index for c in self.columns if c.how == _OWN}
        ranks = {column.index: rank for column, rank, _ in placed}
        self._sources: dict[Target, list[Column]] = {}
        """Each target, in the order of its first column in the file, with its columns in
        the order that fills it."""
        for column in self.columns:
            if column.target is not None:
                self._sources.setdefault(column.target, []).append(column)
        for sources in self._sources.values():
            sources.sort(key=lambda column: ranks[column.index])

    def _place(
        self, index: int, name: str, matcher: Matcher
    ) -> tuple[Column, tuple[int, int, int], str | None]:
        """The Column at `index`, its rank among columns of its target, the mapped column."""
        if not name:
            return Column(index, name, Kind.IGNORED, how=_UNNAMED), (9, 0, index), None
        if (mapped := matcher.explicit_for(name)) is not None:
            column_name, target = mapped
            if target is None:
                return Column(index, name, Kind.IGNORED, how="--ignore"), (9, 0, index), column_name
            kind = Kind.EXTRA if target.key is not None else Kind.FIELD
            column = Column(index, name, kind, target, how="--map")
            return column, _rank(column, True, 0), column_name
        if (found := matcher.field_for(name)) is not None:
            wire, rank = found
            column = Column(index, name, Kind.FIELD, Target(wire), how="alias" if rank else "name")
            return column, _rank(column, False, rank), None
        if header_key(name) in FAILURES_COLUMNS:
            return Column(index, name, Kind.IGNORED, how=_OWN), (9, 0, index), None
        if matcher.extra is not None:
            column = Column(index, name, Kind.EXTRA, Target(matcher.extra, name), "extra columns")
            return column, _rank(column, False, 0), None
        return Column(index, name, Kind.NOT_SENT, nearest=matcher.nearest(name)), (9, 0, 0), None

    def _refuse_overlaps(self) -> None:
        """A --set and a column for one place: which one is meant is not for us to guess."""
        for target, _ in self.constants:
            for column in self.columns:
                other = column.target
                if (
                    other is not None
                    and other.field == target.field
                    and (None in (other.key, target.key) or other.key == target.key)
                ):
                    raise MappingError(
                        f"--set {target.field} and the column {column.name!r} both give "
                        f"{other}; --ignore {column.name!r} or leave out --set"
                    )

    @property
    def unsent(self) -> list[Column]:
        """The columns that are not sent (no field, no extra object)."""
        return [column for column in self.columns if column.kind is Kind.NOT_SENT]

    def describe(self) -> list[str]:
        """The mapping, one line per column, then one per --set."""
        lines = [column.describe() for column in self.columns]
        return lines + [f"--set {target} = {value!r}" for target, value in self.constants]

    def unread_before(self, cells: Sequence[str]) -> str | None:
        """For a failures file's row an earlier load could not read (its own columns alone
        are filled): the reason it gave."""
        if len(self.own) < len(FAILURES_COLUMNS) or len(cells) != len(self.header):
            return None
        if any(cell.strip() for i, cell in enumerate(cells) if i not in self.own):
            return None
        error = next(i for i in self.own if header_key(self.header[i]) == "error")
        return cells[error].strip() or None

    def row(self, cells: Sequence[str]) -> dict[str, Any]:
        """The request body of a row's cells; BadValue when a cell or their number is wrong."""
        self._check_shape(cells)
        data: dict[str, Any] = {}
        nested: dict[str, dict[str, Any]] = {}
        for target, sources in self._sources.items():
            filled = ((c, cells[c.index].strip()) for c in sources if c.index < len(cells))
            column, cell = next(((c, cell) for c, cell in filled if cell), (None, ""))
            if column is None:
                continue
            if target.key is not None:
                nested.setdefault(target.field, {})[target.key] = cell
                continue
            try:
                data[target.field] = coerce(cell, self.types[target.field], self.separator)
            except BadValue as exc:
                raise BadValue(f"column {column.name!r}: {exc}") from None
        return _finish(data, nested, self.constants)

    def _check_shape(self, cells: Sequence[str]) -> None:
        """A row may lack trailing unnamed columns or have trailing empty cells (spreadsheets
        write both); any other difference in number, or a value under no name, is an error."""
        width = len(self.header)
        missing_named = any(self.header[len(cells) :])
        extra_filled = any(cell.strip() for cell in cells[width:])
        if missing_named or extra_filled:
            raise BadValue(f"{len(cells)} columns, the header has {width}")
        for column in self.columns:
            if column.how == _UNNAMED and column.index < len(cells) and cells[column.index].strip():
                raise BadValue(f"column {column.index + 1} has a value but no name in the header")


_UNNAMED = "no name in the header; its cells must stay empty"
_OWN = "a failures file's own column"


def _refuse_repeats(header: list[str]) -> None:
    keys = [header_key(name) for name in header]
    counts = Counter(key for key in keys if key)
    if repeated := [repr(name) for name, key in zip(header, keys, strict=True) if counts[key] > 1]:
        raise MappingError(f"the header repeats a column: {', '.join(repeated)}")


def _backups(placed: list[tuple[Column, tuple[int, int, int]]]) -> tuple[Column, ...]:
    """The columns, each that shares its target with a better-ranked one marked as its backup."""
    best: dict[Target, tuple[tuple[int, int, int], Column]] = {}
    for column, rank in placed:
        if column.target is not None and (
            column.target not in best or rank < best[column.target][0]
        ):
            best[column.target] = (rank, column)
    ordered = []
    for column, _ in placed:
        first = best[column.target][1] if column.target is not None else column
        ordered.append(column if first is column else attrs.evolve(column, backs_up=first.name))
    return tuple(ordered)


def _finish(
    data: dict[str, Any],
    nested: dict[str, dict[str, Any]],
    constants: Sequence[tuple[Target, Any]],
) -> dict[str, Any]:
    """Add the keys of object fields and the --set values to a row's `data`.

    Keys go into their object field; when the row gives that field something other than an
    object, they stay beside it, where validation names them.
    """
    for target, value in constants:
        if target.key is None:
            data[target.field] = value
        else:
            nested.setdefault(target.field, {})[target.key] = value
    for field, keys in nested.items():
        holder = data.setdefault(field, {})
        (holder if isinstance(holder, dict) else data).update(keys)
    return data


class KeyPlan:
    """The same rules for the keys of JSONL rows, which may differ from row to row.

    A key that matches nothing stays as it is, for validation to name, unless there is an
    extra-columns object. A key giving what a --set gives must give the same value.
    """

    def __init__(self, fields: RequestFields, options: ColumnOptions) -> None:
        self._matcher = Matcher(fields, options)
        self._known: dict[str, tuple[Target | None, int]] = {}

    def _resolve(self, key: str) -> tuple[Target | None, int]:
        """Where `key` goes (None: dropped) and its rank among keys for one place."""
        if (known := self._known.get(key)) is not None:
            return known
        matcher = self._matcher
        found: tuple[Target | None, int]
        if key in matcher.fields.types:
            found = Target(key), 1
        elif (mapped := matcher.explicit_for(key)) is not None:
            found = mapped[1], 0
        elif (field := matcher.field_for(key)) is not None:
            found = Target(field[0]), 2 + field[1]
        elif matcher.extra is not None:
            found = Target(matcher.extra, key), 1
        else:
            found = Target(key), 1  # not a field: validation says so
        self._known[key] = found
        return found

    def row(self, source: Mapping[str, Any]) -> dict[str, Any]:
        """The request body of a JSONL row's object; BadValue when it contradicts a --set."""
        placed = sorted(
            (
                (self._resolve(key), order, value)
                for order, (key, value) in enumerate(source.items())
            ),
            key=lambda item: (item[0][1], item[1]),
        )
        data: dict[str, Any] = {}
        nested: dict[str, dict[str, Any]] = {}
        for (target, _), _, value in placed:
            if target is None:
                continue
            if target.key is not None:
                nested.setdefault(target.field, {}).setdefault(target.key, value)
            elif data.get(target.field) is None:  # the first key for a field that is not null
                data[target.field] = value
        for target, value in self._matcher.constants:
            given = data.get(target.field) if target.key is None else None
            if given is not None and given != value:
                raise BadValue(f"{target.field!r} is {given!r} here, but --set gives {value!r}")
        return _finish(data, nested, self._matcher.constants)
