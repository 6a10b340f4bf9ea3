"""The row ledger of a bulk run: each row's state, its outcome, and what the journal records.

Bookkeeping alone: no tasks, no network, no waiting. The scheduler (`leadkit.bulk.runner`)
hands it each row read (`admit`: a result now, a job to send, or wait), tells it when a
job goes out or comes back unsent, and turns the end of a call into a result with
`created`, `failed` or `interrupted`; `settle` then gives the results of the later rows
that had the job's key and waited for it.

A row's key is its dedupe field, trimmed and lowercased, else a hash of its wire form. A
key an earlier row of the run has shares that row's fate: skipped as a duplicate if it
succeeded, failed if not. A key the journal knows from an earlier run is resumed: created
rows are skipped, a row left in flight is resent only when a repeat cannot duplicate it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import attrs

from ..runtime.api import ApiDescription, OperationSpec
from ..runtime.client import ApiResponse
from ..runtime.errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    OutcomeUnknownError,
    RequestValidationError,
    ResponseValidationError,
)
from ..runtime.request_bodies import CheckedBody, check_request
from ..runtime.retry import conflict_status
from .inputs import InputRow, request_fields
from .journal import FAILED_STATES, Entry, Journal, State
from .results import Outcome, RowResult
from .seen import SeenKeys

__all__ = [
    "IN_FLIGHT_REASON",
    "IN_FLIGHT_RESENT_REASON",
    "NOT_SENT_REASON",
    "Job",
    "Row",
    "RowLedger",
]

Row = Any
"""A request model instance, a mapping of wire names, or an `InputRow` read from a file."""

IN_FLIGHT_REASON = "in flight when interrupted; may exist — not resent to avoid a duplicate"
IN_FLIGHT_RESENT_REASON = (
    "in flight when interrupted; may exist — resuming sends it again "
    "(the server's conflict status then says it exists)"
)
"""The same, for an operation whose repeats the conflict status makes safe (Coldsend's 409)."""
NOT_SENT_REASON = "stopped before it was sent"
_OUTCOME_OF_STATE = {
    State.CREATED: Outcome.CREATED,
    State.ALREADY_EXISTS: Outcome.ALREADY_EXISTS,
    State.CREATED_OR_EXISTS: Outcome.CREATED_OR_EXISTS,
}


@attrs.frozen
class Job:
    """A valid row on its way to the server."""

    index: int
    line: int | None
    key: str | None
    journal_key: str
    checked: CheckedBody
    cells: tuple[str, ...] | None

    @property
    def body(self) -> dict[str, Any]:
        """The row in wire form."""
        data: dict[str, Any] = self.checked.data
        return data


def _stable_key(body: Mapping[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return "body:" + hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def _where(line: int | None, index: int | None) -> str:
    """A row as results name it: its line in the file, else its index in the input."""
    return f"line {line}" if line is not None else f"row index {index}"


def _result(job: Job, outcome: Outcome, **details: Any) -> RowResult:
    return RowResult(
        job.index, outcome, line=job.line, key=job.key, body=job.body, cells=job.cells, **details
    )


class RowLedger:
    """Every row's state in one run, and the journal that keeps it; see the module docstring.

    `resend_in_flight`: a row an earlier run left in flight is sent again (a repeat
    cannot make a duplicate); else it is reported failed, with the reason.
    """

    def __init__(
        self,
        api: ApiDescription,
        op: OperationSpec[Any],
        journal: Journal | SeenKeys,
        *,
        dry_run: bool,
        resend_in_flight: bool,
    ) -> None:
        self.journal = journal
        self.resend_in_flight = resend_in_flight
        self.sent_first: Journal | None = None
        """The journal, when each row's 'sent' must be committed before its request goes out."""
        if isinstance(journal, Journal) and not resend_in_flight:
            self.sent_first = journal
        self._converter = api.request_converter
        self._body_type = op.body_type
        fields = request_fields(api, op.body_type)
        self._key_field = op.dedupe.field if op.dedupe and op.dedupe.field in fields.types else None
        self._conflict = conflict_status(op)
        self._dry_run = dry_run
        self._flying: dict[str, list[Job]] = {}
        """Journal key of each row on its way to the server -> the later rows of the run
        with that key, whose results wait for its own."""

    def admit(self, index: int, row: Row) -> RowResult | Job | None:
        """Validate a row and consult the journal: a result now, a job to send, or None when
        the result waits for an earlier row with the same key."""
        line = row.line if isinstance(row, InputRow) else None
        cells = row.cells if isinstance(row, InputRow) else None
        if isinstance(row, InputRow):
            if row.data is None:
                error, raw = row.error, row.raw
                return RowResult(
                    index, Outcome.INVALID, line=line, error=error, raw=raw, cells=cells
                )
            row = row.data
        try:
            checked = check_request(self._converter, row, self._body_type)
        except RequestValidationError as exc:
            reason = "; ".join(exc.problems)
            given = dict(row) if isinstance(row, Mapping) else None
            return RowResult(
                index, Outcome.INVALID, line=line, error=reason, body=given, cells=cells
            )
        body: dict[str, Any] = checked.data
        value = body.get(self._key_field) if self._key_field else None
        key = value.strip().lower() if isinstance(value, str) and value.strip() else None
        journal_key = f"key:{key}" if key else _stable_key(body)
        return self._resume(Job(index, line, key, journal_key, checked, cells))

    def _resume(self, job: Job) -> RowResult | Job | None:
        """What the journal says about this row's key: skip it, report it, or send it."""
        entry = self.journal.claim(job.journal_key, position=job.index, line=job.line)
        if entry is None:
            return _result(job, Outcome.VALID) if self._dry_run else self._launch(job)
        if entry.run == self.journal.run:  # always, in a dry run: its journal is new
            return self._repeat(job, entry)
        if entry.state in _OUTCOME_OF_STATE:
            self._record(job, entry.state)
            return _result(job, _OUTCOME_OF_STATE[entry.state], resumed=True)
        if entry.state in (State.SENT, State.UNKNOWN) and not self.resend_in_flight:
            reason = entry.reason or IN_FLIGHT_REASON
            self._record(job, State.UNKNOWN, reason)
            return _result(job, Outcome.FAILED, error=reason, resumed=True)
        self._record(job, State.QUEUED)
        return self._launch(job)

    def _launch(self, job: Job) -> Job:
        """Mark `job` as on its way: later rows with its key wait for its result."""
        self._flying[job.journal_key] = []
        return job

    def _repeat(self, job: Job, first: Entry) -> RowResult | None:
        """A row whose key an earlier row of this run has: None while that row is on its
        way (the result comes with that row's), else its result from the journal."""
        if (waiting := self._flying.get(job.journal_key)) is not None:
            waiting.append(job)
            return None
        where = _where(first.line, first.position)
        return self._copy(job, where, first.state in FAILED_STATES, first.reason)

    @staticmethod
    def _copy(job: Job, first: str, failed: bool, reason: str | None) -> RowResult:
        """The result of a row with the key of the row at `first`: a skipped duplicate, or,
        when that row `failed`, failed too (so the failures file has it)."""
        if not failed:
            return _result(job, Outcome.SKIPPED_DUPLICATE, error=f"same key as {first}")
        error = f"same key as {first}, which failed: {reason or 'no reason given'}"
        return _result(job, Outcome.FAILED, error=error)

    def _record(self, job: Job, state: State, reason: str | None = None) -> None:
        """Journal the state of `job`'s key."""
        self.journal.set(job.journal_key, state, position=job.index, line=job.line, reason=reason)

    def mark_sent(self, job: Job) -> None:
        """Journal `job` as sent, for the group commit the scheduler waits for."""
        self._record(job, State.SENT)

    def sent(self, job: Job) -> None:
        """`job` goes out now: journal it, committed alone first when it must be."""
        self._record(job, State.SENT)
        if self.sent_first is not None:
            self.sent_first.commit()  # alone, before it goes: see the journal's docstring

    def unsent(self, job: Job) -> None:
        """What was sent of `job` was refused before being acted on: it is queued again."""
        self._record(job, State.QUEUED)

    def created(self, job: Job, response: ApiResponse[Any], latency: float) -> RowResult:
        """The call succeeded."""
        self._record(job, State.CREATED)
        return _result(
            job,
            Outcome.CREATED,
            model=response.parsed,
            status=response.status,
            attempts=response.attempts,
            latency=latency,
        )

    def failed(self, job: Job, error: APIError, latency: float) -> RowResult:
        """The call raised `error`: its outcome, journaled with the reason."""
        outcome, state = self._classify(error)
        self._record(job, state, str(error))
        return _result(
            job,
            outcome,
            error=str(error),
            status=getattr(error, "status", None),
            attempts=error.attempts,
            latency=latency,
        )

    def interrupted(self, job: Job, sent: bool) -> RowResult:
        """The run stopped the call: failed, saying whether it may have reached the server."""
        if not sent:  # undo a group commit's 'sent': the row never went
            self._record(job, State.QUEUED)
            return _result(job, Outcome.FAILED, error=NOT_SENT_REASON)
        in_flight = IN_FLIGHT_RESENT_REASON if self.resend_in_flight else IN_FLIGHT_REASON
        return _result(job, Outcome.FAILED, error=in_flight)

    def settle(self, journal_key: str, result: RowResult) -> list[RowResult]:
        """The row with `journal_key` ended with `result`: the results of the later rows
        that waited for it."""
        copies = self._flying.pop(journal_key)
        failed, where = not result.outcome.succeeded, _where(result.line, result.index)
        return [self._copy(copy, where, failed, result.error) for copy in copies]

    def _classify(self, error: APIError) -> tuple[Outcome, State]:
        """The outcome of a call that raised, and the journal state it leaves."""
        if isinstance(error, APIStatusError) and error.status == self._conflict:
            return Outcome.ALREADY_EXISTS, State.ALREADY_EXISTS
        if isinstance(error, ResponseValidationError):
            return Outcome.CREATED, State.CREATED
        if isinstance(error, OutcomeUnknownError) or (
            isinstance(error, APIConnectionError) and error.sent
        ):
            return Outcome.FAILED, State.UNKNOWN
        return Outcome.FAILED, State.FAILED
