"""bulk_create: stream rows into a create operation, one RowResult per row, losing none.

Flow: `concurrency` workers share the input. Each takes a place under the AIMD limit,
reads the next row, validates it, looks its key up in the journal (resume,
de-duplication) and sends it, or reports it at once when it needs no sending; results go
to the consumer in completion or input order. A row whose key an earlier row of the run
has shares that row's fate: skipped as a duplicate if it succeeded, failed if not; while
that row is on its way, the later one's result waits for it. At most `window` rows are
between being read and being handed to the consumer (waiting ones too), so memory does
not grow with the input.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs

from ..runtime.api import OperationSpec
from ..runtime.client import BaseClient, expand_path, path_values
from ..runtime.converters import CheckedBody, RequestValidationError, check_request
from ..runtime.errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    NotFoundError,
    OutcomeUnknownError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
)
from ..runtime.retry import conflict_status, retries_ambiguous
from .concurrency import AIMDLimiter
from .failures import FailuresSink, open_failures
from .inputs import InputRow, request_fields
from .journal import FAILED_STATES, Entry, Journal, State
from .results import Outcome, RowResult, Summary, SummaryBuilder
from .seen import SeenKeys
from .streaks import Streak

__all__ = [
    "IN_FLIGHT_REASON",
    "IN_FLIGHT_RESENT_REASON",
    "NOT_SENT_REASON",
    "BulkRun",
    "Row",
    "bulk_create",
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
_FATAL = (AuthenticationError, PermissionDeniedError)
"""Errors that every later row would meet too: the run stops reading input. A 404 joins
them when the operation's path names a resource (Coldsend's campaign): every row shares
it; without path parameters (Breakcold) a 404 is about something in the row."""
_OUTCOME_OF_STATE = {State.CREATED: Outcome.CREATED, State.ALREADY_EXISTS: Outcome.ALREADY_EXISTS}


@attrs.frozen
class _Job:
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


class _Crash:
    """A worker died of an unexpected error; the consumer re-raises it."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


def _stable_key(body: Mapping[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return "body:" + hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


class BulkRun:
    """An async iterable of RowResult, one per input row; `summary` once it is exhausted.

    Iterate it once. `stop(grace)` stops reading input and cancels what is still in flight
    after `grace` seconds; `abort()` cancels at once. Rows never read are counted from
    `summary.unread_from`.
    """

    def __init__(
        self,
        client: BaseClient,
        op: OperationSpec[Any],
        rows: Iterable[Row] | AsyncIterable[Row],
        *,
        path_params: Mapping[str, Any],
        concurrency: int,
        ordered: bool,
        journal: Journal | SeenKeys,
        failures: FailuresSink | None,
        dry_run: bool,
    ) -> None:
        self.client = client
        self.op = op
        self.limiter = AIMDLimiter(concurrency)
        self.summary: Summary | None = None
        self.stop_reason: str | None = None
        self._rows = rows
        self._input: Iterator[Row] | AsyncIterator[Row] | None = None
        self._input_lock = asyncio.Lock()
        self._path_params = dict(path_params)
        self._ordered = ordered
        self._journal = journal
        self._failures = failures
        self._dry_run = dry_run
        self._fatal = (*_FATAL, NotFoundError) if "{" in op.path else _FATAL
        self._conflict = conflict_status(op)
        self._resend_in_flight = retries_ambiguous(op, client.retry)
        """A row left in flight may be sent again: a repeat cannot make a duplicate."""
        self._sent_first: Journal | None = None
        """The journal, when each row's 'sent' must be committed before its request goes out."""
        if isinstance(journal, Journal) and not self._resend_in_flight:
            self._sent_first = journal
        self._marked = 0
        """Rows marked 'sent' in a group commit whose requests have not gone out yet."""
        fields = request_fields(client.api, op.body_type)
        self._key_field = op.dedupe.field if op.dedupe and op.dedupe.field in fields.types else None
        self._window = asyncio.Semaphore(4 * concurrency + 16)
        self._streak = Streak()
        self._queue: asyncio.Queue[RowResult | _Crash | None] = asyncio.Queue()
        self._flying: dict[str, list[_Job]] = {}
        """Journal key of each row on its way to the server -> the later rows of the run
        with that key, whose results wait for its own."""
        self._workers: set[asyncio.Task[None]] = set()
        self._unsent: set[asyncio.Task[None]] = set()
        """Workers whose row has not gone out: between rows, waiting for the rate limiter or
        to retry an attempt that was refused (429, 503, never sent). stop() cancels these."""
        self._next_index = 0
        self._exhausted = False
        self._stopping = False
        self._started = False

    def __aiter__(self) -> AsyncIterator[RowResult]:
        if self._started:
            raise RuntimeError("a BulkRun can be iterated only once")
        self._started = True
        return self._results()

    def stop(self, grace: float | None = 30.0, reason: str = "stopped") -> None:
        """Stop reading input; cancel what is in flight after `grace` seconds (None: never)."""
        if not self._stopping:
            self._stopping = True
            self.stop_reason = reason
            for worker in self._unsent:
                worker.cancel()
        if grace is not None:
            asyncio.get_running_loop().call_later(grace, self._cancel_workers)

    def abort(self) -> None:
        """Stop reading input and cancel every request in flight now."""
        self.stop(0.0, self.stop_reason or "aborted")
        self._cancel_workers()

    def close(self) -> None:
        """Release the journal (committed, its lock given up; the keys of a run without
        one are forgotten) and the failures file.

        An iterated run does this when it ends; call it for a run that will not be iterated.
        Closing again does nothing.
        """
        self._journal.close()
        if self._failures is not None:
            self._failures.close()

    def _cancel_workers(self) -> None:
        for worker in self._workers:
            worker.cancel()

    async def _results(self) -> AsyncIterator[RowResult]:
        builder = SummaryBuilder()
        rows = self._rows
        self._input = aiter(rows) if isinstance(rows, AsyncIterable) else iter(rows)
        self._workers = {asyncio.create_task(self._work()) for _ in range(self.limiter.ceiling)}
        supervisor = asyncio.create_task(self._supervise())
        pending: dict[int, RowResult] = {}
        emit_next = 0
        finished = False
        try:
            while (item := await self._queue.get()) is not None:
                if isinstance(item, _Crash):
                    raise item.error
                pending[item.index if self._ordered else emit_next] = item
                while emit_next in pending:
                    result = pending.pop(emit_next)
                    emit_next += 1
                    builder.add(result)
                    if self._failures is not None:
                        self._failures.write(result)
                    self._window.release()
                    yield result
            finished = True
        finally:
            if not finished:
                self.abort()
            await asyncio.gather(supervisor, *self._workers, return_exceptions=True)
            self._count_unclaimed([*pending.values(), *self._drain()], builder)
            self.close()
            unread = None if self._exhausted else self._next_index
            self.summary = builder.build(unread, self.stop_reason)

    def _drain(self) -> list[RowResult]:
        """The results still queued: the consumer stopped iterating before taking them."""
        items = [self._queue.get_nowait() for _ in range(self._queue.qsize())]
        return [item for item in items if isinstance(item, RowResult)]

    def _count_unclaimed(self, results: list[RowResult], builder: SummaryBuilder) -> None:
        """Count results no consumer took, so the summary and the failures file still
        account for every row that was read."""
        for result in results:
            builder.add(result)
            if self._failures is not None:
                self._failures.write(result)

    async def _supervise(self) -> None:
        """Wait for every worker, then tell the consumer that all is done."""
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._queue.put_nowait(None)

    async def _work(self) -> None:
        """Take rows and send those that need sending until the input ends or the run stops."""
        worker = asyncio.current_task()
        assert worker is not None
        try:
            while (taken := await self._take(worker)) is not None:
                await self._send(*taken, worker)
        except asyncio.CancelledError:
            if not self._stopping:
                raise
        except Exception as exc:
            self._stopping = True  # the consumer re-raises it and aborts the rest
            self._queue.put_nowait(_Crash(exc))

    async def _take(self, worker: asyncio.Task[None]) -> tuple[_Job, int] | None:
        """The next row to send and its place under the AIMD limit; None when done.

        Rows that need no sending (invalid, duplicates, resumed) are reported on the way,
        or left to wait for an earlier row with their key.
        A place is taken before a row is read, so every row read goes to the transport at
        once: a stop leaves the unread rows a contiguous tail of the input. The worker stays
        in `_unsent` until its row goes out.
        """
        self._unsent.add(worker)
        taken: tuple[_Job, int] | None = None
        try:
            while taken is None and not self._stopping:
                await self._window.acquire()
                try:
                    ticket = await self.limiter.acquire()
                except BaseException:
                    self._window.release()
                    raise
                row = None
                try:
                    row = await self._read()
                finally:
                    if row is None:  # the input ended, the run stopped or reading failed
                        self._window.release()
                        self.limiter.give_back()
                if row is None:
                    break
                prepared = self._prepare(*row)
                if isinstance(prepared, _Job):
                    taken = prepared, ticket
                else:
                    self.limiter.give_back()
                    if prepared is not None:  # None: it waits for an earlier row's result
                        self._queue.put_nowait(prepared)
            return taken
        finally:
            if taken is None:
                self._unsent.discard(worker)

    async def _read(self) -> tuple[int, Row] | None:
        """The next input row with its index, or None when the input ends or the run stops."""
        source = self._input
        if isinstance(source, AsyncIterator):
            async with self._input_lock:
                if self._stopping or self._exhausted:
                    return None
                try:
                    row = await anext(source)
                except StopAsyncIteration:
                    self._exhausted = True
                    return None
        else:
            if self._stopping or self._exhausted or source is None:
                return None
            try:
                row = next(source)
            except StopIteration:
                self._exhausted = True
                return None
        index = self._next_index
        self._next_index += 1
        return index, row

    def _prepare(self, index: int, row: Row) -> RowResult | _Job | None:
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
        converter = self.client.api.request_converter
        try:
            checked = check_request(converter, row, self.op.body_type)
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
        job = _Job(index, line, key, journal_key, checked, cells)
        return self._resume(job)

    def _resume(self, job: _Job) -> RowResult | _Job | None:
        """What the journal says about this row's key: skip it, report it, or send it."""
        entry = self._journal.claim(job.journal_key, position=job.index, line=job.line)
        if entry is None:
            return self._result(job, Outcome.VALID) if self._dry_run else self._launch(job)
        if entry.run == self._journal.run:  # always, in a dry run: its journal is new
            return self._repeat(job, entry)
        if entry.state in _OUTCOME_OF_STATE:
            self._record(job, entry.state)
            return self._result(job, _OUTCOME_OF_STATE[entry.state], resumed=True)
        if entry.state in (State.SENT, State.UNKNOWN) and not self._resend_in_flight:
            reason = entry.reason or IN_FLIGHT_REASON
            self._record(job, State.UNKNOWN, reason)
            return self._result(job, Outcome.FAILED, error=reason, resumed=True)
        self._record(job, State.QUEUED)
        return self._launch(job)

    def _launch(self, job: _Job) -> _Job:
        """Mark `job` as on its way: later rows with its key wait for its result."""
        self._flying[job.journal_key] = []
        return job

    def _repeat(self, job: _Job, first: Entry) -> RowResult | None:
        """A row whose key an earlier row of this run has: None while that row is on its
        way (the result comes with that row's), else its result from the journal."""
        if (waiting := self._flying.get(job.journal_key)) is not None:
            waiting.append(job)
            return None
        where = _where(first.line, first.position)
        return self._copy(job, where, first.state in FAILED_STATES, first.reason)

    def _copy(self, job: _Job, first: str, failed: bool, reason: str | None) -> RowResult:
        """The result of a row with the key of the row at `first`: a skipped duplicate, or,
        when that row `failed`, failed too (so the failures file has it)."""
        if not failed:
            return self._result(job, Outcome.SKIPPED_DUPLICATE, error=f"same key as {first}")
        error = f"same key as {first}, which failed: {reason or 'no reason given'}"
        return self._result(job, Outcome.FAILED, error=error)

    def _record(self, job: _Job, state: State, reason: str | None = None) -> None:
        """Journal the state of `job`'s key."""
        self._journal.set(job.journal_key, state, position=job.index, line=job.line, reason=reason)

    @staticmethod
    def _result(job: _Job, outcome: Outcome, **details: Any) -> RowResult:
        return RowResult(
            job.index,
            outcome,
            line=job.line,
            key=job.key,
            body=job.body,
            cells=job.cells,
            **details,
        )

    async def _send(self, job: _Job, ticket: int, worker: asyncio.Task[None]) -> None:
        """Send one job, journal its outcome and queue its result."""
        congested = sent = marked = False

        def journal_sent() -> None:  # just before each attempt goes out, after any pacing
            nonlocal sent, marked
            sent = True
            self._unsent.discard(worker)
            if marked:  # its group commit made 'sent' durable
                marked = False
                self._marked -= 1
                return
            self._record(job, State.SENT)
            if self._sent_first is not None:
                self._sent_first.commit()  # alone, before it goes: see the journal's docstring

        def journal_unsent() -> None:  # a refused attempt will be retried: nothing happened
            nonlocal sent
            sent = False
            self._record(job, State.QUEUED)
            self._unsent.add(worker)
            if self._stopping:  # stopped since it went out: it waits for nothing more
                worker.cancel()

        started = time.monotonic()
        try:
            marked = await self._mark_sent(job)
            response = await self.client.call(
                self.op,
                path_params=self._path_params,
                body=job.checked,
                before_send=journal_sent,
                unsent_again=journal_unsent,
            )
        except asyncio.CancelledError:
            if not sent:  # undo a group commit's 'sent': the row never went
                self._record(job, State.QUEUED)
            in_flight = IN_FLIGHT_RESENT_REASON if self._resend_in_flight else IN_FLIGHT_REASON
            reason = in_flight if sent else NOT_SENT_REASON
            result = self._result(job, Outcome.FAILED, error=reason)
        except APIError as error:
            congested = isinstance(error, RateLimitError | APITimeoutError) or (
                isinstance(error, OutcomeUnknownError) and isinstance(error.cause, APITimeoutError)
            )
            outcome, state = self._classify(error)
            result = self._result(
                job,
                outcome,
                error=str(error),
                status=getattr(error, "status", None),
                attempts=error.attempts,
                latency=time.monotonic() - started,
            )
            self._record(job, state, str(error))
            if isinstance(error, self._fatal):
                self.stop(None, f"stopped after a fatal error: {error}")
            elif (every_row := self._streak.observe(error)) is not None:
                self.stop(None, every_row)
        else:
            self._streak.observe(None)
            congested = response.attempts > 1
            result = self._result(
                job,
                Outcome.CREATED,
                model=response.parsed,
                status=response.status,
                attempts=response.attempts,
                latency=time.monotonic() - started,
            )
            self._record(job, State.CREATED)
        finally:
            self._marked -= marked  # still marked: it never went
            self.limiter.release(ticket, congested=congested)
        self._queue.put_nowait(result)
        if copies := self._flying.pop(job.journal_key):
            failed, where = not result.outcome.succeeded, _where(job.line, job.index)
            for copy in copies:
                self._queue.put_nowait(self._copy(copy, where, failed, result.error))

    async def _mark_sent(self, job: _Job) -> bool:
        """When 'sent' must be durable before a row goes: mark `job` sent in the group
        commit of this turn of the event loop if the rate limiter lets it go at once with
        the rows already marked, and return True (else `journal_sent` marks it just before
        it goes). Either way wait for that commit, so that rows keep their order."""
        journal = self._sent_first
        if journal is None:
            return False
        marked = self.client.rate_limiter.free_now(self._marked + 1)
        if marked:
            self._marked += 1
            self._record(job, State.SENT)
        try:
            await journal.committed()
        except BaseException:
            self._marked -= marked
            raise
        return marked

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


def _where(line: int | None, index: int | None) -> str:
    """A row as results name it: its line in the file, else its index in the input."""
    return f"line {line}" if line is not None else f"row index {index}"


def bulk_create(
    client: BaseClient,
    op: OperationSpec[Any],
    rows: Iterable[Row] | AsyncIterable[Row],
    *,
    path_params: Mapping[str, Any] | None = None,
    concurrency: int = 8,
    ordered: bool = False,
    journal: Path | str | None = None,
    failures_out: Path | str | None = None,
    dry_run: bool = False,
) -> BulkRun:
    """Send every row to the create operation `op` of `client`; iterate the returned run.

    `rows` are request models, mappings of wire names or `InputRow`s, from an iterable or an
    async iterable, read lazily. `concurrency` is the ceiling of requests in flight (AIMD
    below it); pacing is the client's shared rate limiter. `ordered` yields results in input
    order instead of completion order. `journal` is a file that records each key's state:
    a rerun with it skips rows already created and never resends a row that was in flight,
    unless `op` declares a conflict status (then a resend is answered "already exists") and
    the client's RetryPolicy trusts it (`trust_conflict_status`).
    `failures_out` receives every unsuccessful row, as JSONL input, or for a CSV input
    (`InputFile`) named .csv as CSV in its shape (ValueError for .csv and other rows).
    `dry_run` validates and de-duplicates without sending (valid rows are reported `valid`).
    A 401 or 403 (a 404 too, when the path names a resource), or a run of rows that cannot
    reach the server or get only 5xx answers (`leadkit.bulk.streaks`), stops the run.
    """
    params = dict(path_params or {})
    expand_path(op.path, path_values(params))  # a bad value fails here, not on every row
    scope = {"api": client.api.name, "operation": op.name, "path_params": params}
    opened = SeenKeys() if journal is None or dry_run else Journal(Path(journal), scope)
    layout = getattr(rows, "layout", None)
    try:
        failures = open_failures(Path(failures_out), layout) if failures_out is not None else None
    except (OSError, ValueError):
        opened.close()
        raise
    return BulkRun(
        client,
        op,
        rows,
        path_params=params,
        concurrency=concurrency,
        ordered=ordered,
        journal=opened,
        failures=failures,
        dry_run=dry_run,
    )
