"""What an upload job's final status says of each row of its file, read tolerantly.

The items of the status's error list are not documented by every vendor, so each is read
as the spec's x-upload says, with fallbacks: its row's number under the first of the
declared keys it has (a number, or a number written as text), its reason under the first of
the message keys (else the item as JSON), and the row's dedupe value (the create's x-dedupe
field, e.g. email) when it gives one. An item is matched to a row of the file by that value
(each appears once in a chunk), else by its number (the first row after the header being
x-upload's `first-row`). An item matching no row is about the job as a whole.

The rows no item names succeeded when the job's counts say so: created plus duplicates equal
those rows. They were all created when the job counted no duplicates; otherwise each one
exists, created by this upload or before it (the job does not say which ones were the
duplicates): `created_or_exists`. When the counts do not add up, what became of those rows
is unknown: they fail, and a rerun uploads them again (a repeat counts as a duplicate). A
failed job fails every row, with its reason.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from ..runtime.polling import Upload
from .journal import State
from .results import Outcome

__all__ = ["JobReport", "RowVerdict"]


@attrs.frozen
class RowVerdict:
    """The outcome of one row, the journal state it leaves and the reason."""

    outcome: Outcome
    state: State
    reason: str | None = None


def _first(item: Mapping[str, Any], keys: Iterable[str]) -> Any:
    return next((item[key] for key in keys if item.get(key) not in (None, "")), None)


def _number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _count(status: Any, attribute: str | None) -> int | None:
    value = getattr(status, attribute, None) if attribute else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class JobReport:
    """The final status of one job, as it bears on each row of its file.

    `rows` are (place in the file, dedupe key or None) of every row the job was given.
    """

    def __init__(
        self,
        upload: Upload[Any],
        status: Any,
        rows: Sequence[tuple[int, str | None]],
        *,
        job: str,
        failed: bool,
    ) -> None:
        places = {key: place for place, key in rows if key is not None}
        self.size = len(rows)
        self.refused: dict[int, str] = {}
        """Place -> the reason of each row an item names."""
        general: list[str] = []
        key_field = upload.creates.dedupe.field if upload.creates.dedupe else None
        items = getattr(status, upload.errors, None)
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, Mapping):
                general.append(str(item))
                continue
            message = _first(item, upload.error_message)
            reason = message if isinstance(message, str) else json.dumps(item, default=str)
            value = item.get(key_field) if key_field else None
            place = places.get(value.strip().lower()) if isinstance(value, str) else None
            number = _number(_first(item, upload.error_row))
            if place is None and number is not None:
                place = number - upload.first_row
            if place is not None and 0 <= place < self.size:
                self.refused[place] = reason
            else:
                general.append(reason)
        self._rest = self._others(upload, status, job, failed, general)

    def _others(
        self, upload: Upload[Any], status: Any, job: str, failed: bool, general: list[str]
    ) -> RowVerdict:
        """The verdict on the rows no item names."""
        state = str(getattr(status, upload.poll.status, "")) or "an unknown status"
        if failed:
            said = "; ".join(general) or "no reason given"
            return RowVerdict(
                Outcome.FAILED, State.FAILED, f"upload job {job} ended {state}: {said}"
            )
        counts = upload.counts
        created, duplicates = _count(status, counts.created), _count(status, counts.duplicates)
        others = self.size - len(self.refused)
        if created is None or duplicates is None or created + duplicates != others:
            errors, total = _count(status, counts.errors), _count(status, counts.total)
            return RowVerdict(
                Outcome.FAILED,
                State.UNKNOWN,
                f"upload job {job} ended {state}, but its counts (created {created}, duplicates "
                f"{duplicates}, errors {errors} of {total}) do not say what became of the "
                f"{others} rows it did not list; loading them again is safe (a repeat counts "
                "as a duplicate)",
            )
        if duplicates:
            return RowVerdict(Outcome.CREATED_OR_EXISTS, State.CREATED_OR_EXISTS)
        return RowVerdict(Outcome.CREATED, State.CREATED)

    def verdict(self, place: int) -> RowVerdict:
        """The outcome of the row at `place` in the file."""
        reason = self.refused.get(place)
        if reason is None:
            return self._rest
        return RowVerdict(Outcome.FAILED, State.FAILED, reason)
