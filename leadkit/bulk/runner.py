"""bulk_create: stream rows into a create operation, one RowResult per row, losing none.

Flow: `concurrency` workers share the input. Each takes a place under the AIMD limit,
reads the next row and hands it to the run's `RowLedger` (validation, resume,
de-duplication), then sends it, or reports it at once when it needs no sending; results
go to the consumer in completion or input order. A row whose key an earlier row of the
run has waits for that row's result (the ledger says so). At most `window` rows are
between being read and being handed to the consumer (waiting ones too), so memory does
not grow with the input. This module schedules: workers and pacing; the run's life
(iteration, stop, abort, summary) is `leadkit.bulk.row_run`'s and the ledger
(`leadkit.bulk.ledger`) keeps each row's state and the journal.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from ..runtime.api import OperationSpec
from ..runtime.client import BaseClient, expand_path, path_values
from ..runtime.errors import (
    APIError,
    APITimeoutError,
    AuthenticationError,
    NotFoundError,
    OutcomeUnknownError,
    PermissionDeniedError,
    RateLimitError,
)
from ..runtime.retry import retries_ambiguous
from .concurrency import AIMDLimiter
from .failures import FailuresSink
from .journal import Journal
from .ledger import Job, Row, RowLedger
from .results import RowResult
from .row_run import RowRun, open_run_failures
from .seen import SeenKeys
from .streaks import Streak

__all__ = ["BulkRun", "bulk_create"]

_FATAL = (AuthenticationError, PermissionDeniedError)
"""Errors that every later row would meet too: the run stops reading input. A 404 joins
them when the operation's path names a resource (Coldsend's campaign): every row shares
it; without path parameters (Breakcold) a 404 is about something in the row."""


class BulkRun(RowRun):
    """A `RowRun` that sends a request per row: AIMD-limited workers, results in completion
    or input order. `stop(grace)` cancels at once the workers whose row has not gone out."""

    _ITERATED_TWICE = "a BulkRun can be iterated only once"

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
        ledger = RowLedger(
            client.api,
            op,
            journal,
            dry_run=dry_run,
            resend_in_flight=retries_ambiguous(op, client.retry),
        )
        super().__init__(ledger, failures, window=4 * concurrency + 16)
        self.client = client
        self.op = op
        self.limiter = AIMDLimiter(concurrency)
        self._rows = rows
        self._input: Iterator[Row] | AsyncIterator[Row] | None = None
        self._input_lock = asyncio.Lock()
        self._path_params = dict(path_params)
        self._ordered = ordered
        self._pending: dict[int, RowResult] = {}
        """Results that came before an earlier row's, by their place in the emission order."""
        self._emit_next = 0
        self._fatal = (*_FATAL, NotFoundError) if "{" in op.path else _FATAL
        self._marked = 0
        """Rows marked 'sent' in a group commit whose requests have not gone out yet."""
        self._streak = Streak()
        self._workers: set[asyncio.Task[None]] = set()
        self._unsent: set[asyncio.Task[None]] = set()
        """Workers whose row has not gone out: between rows, waiting for the rate limiter or
        to retry an attempt that was refused (429, 503, never sent). stop() cancels these."""

    def _start(self) -> list[asyncio.Task[None]]:
        rows = self._rows
        self._input = aiter(rows) if isinstance(rows, AsyncIterable) else iter(rows)
        self._workers = {
            asyncio.create_task(self._guarded(self._work())) for _ in range(self.limiter.ceiling)
        }
        supervisor = asyncio.create_task(self._supervise())
        return [supervisor, *self._workers]

    def _stop_reading(self) -> None:
        for worker in self._unsent:
            worker.cancel()

    def _cancel_in_flight(self) -> None:
        for worker in self._workers:
            worker.cancel()

    def _in_turn(self, result: RowResult) -> Iterator[RowResult]:
        """The results the consumer may take now that `result` came: in input order when
        the run is `ordered`, else as they come."""
        self._pending[result.index if self._ordered else self._emit_next] = result
        while self._emit_next in self._pending:
            ready = self._pending.pop(self._emit_next)
            self._emit_next += 1
            yield ready

    def _held_back(self) -> list[RowResult]:
        return list(self._pending.values())

    async def _supervise(self) -> None:
        """Wait for every worker, then tell the consumer that all is done."""
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._queue.put_nowait(None)

    async def _work(self) -> None:
        """Take rows and send those that need sending until the input ends or the run stops."""
        worker = asyncio.current_task()
        assert worker is not None
        while (taken := await self._take(worker)) is not None:
            await self._send(*taken, worker)

    async def _take(self, worker: asyncio.Task[None]) -> tuple[Job, int] | None:
        """The next row to send and its place under the AIMD limit; None when done.

        Rows that need no sending (invalid, duplicates, resumed) are reported on the way,
        or left to wait for an earlier row with their key.
        A place is taken before a row is read, so every row read goes to the transport at
        once: a stop leaves the unread rows a contiguous tail of the input. The worker stays
        in `_unsent` until its row goes out.
        """
        self._unsent.add(worker)
        taken: tuple[Job, int] | None = None
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
                prepared = self._ledger.admit(*row)
                if isinstance(prepared, Job):
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

    async def _send(self, job: Job, ticket: int, worker: asyncio.Task[None]) -> None:
        """Send one job and queue its result, and those of the rows that waited for it."""
        congested = sent = marked = False
        ledger = self._ledger

        def journal_sent() -> None:  # just before each attempt goes out, after any pacing
            nonlocal sent, marked
            sent = True
            self._unsent.discard(worker)
            if marked:  # its group commit made 'sent' durable
                marked = False
                self._marked -= 1
                return
            ledger.sent(job)

        def journal_unsent() -> None:  # a refused attempt will be retried: nothing happened
            nonlocal sent
            sent = False
            ledger.unsent(job)
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
            result = ledger.interrupted(job, sent)
        except APIError as error:
            congested = isinstance(error, RateLimitError | APITimeoutError) or (
                isinstance(error, OutcomeUnknownError) and isinstance(error.cause, APITimeoutError)
            )
            result = ledger.failed(job, error, time.monotonic() - started)
            if isinstance(error, self._fatal):
                self.stop(None, f"stopped after a fatal error: {error}")
            elif (every_row := self._streak.observe(error)) is not None:
                self.stop(None, every_row)
        else:
            self._streak.observe(None)
            congested = response.attempts > 1
            result = ledger.created(job, response, time.monotonic() - started)
        finally:
            self._marked -= marked  # still marked: it never went
            self.limiter.release(ticket, congested=congested)
        self._queue.put_nowait(result)
        for waited in ledger.settle(job.journal_key, result):
            self._queue.put_nowait(waited)

    async def _mark_sent(self, job: Job) -> bool:
        """When 'sent' must be durable before a row goes: mark `job` sent in the group
        commit of this turn of the event loop if the rate limiter lets it go at once with
        the rows already marked, and return True (else `journal_sent` marks it just before
        it goes). Either way wait for that commit, so that rows keep their order."""
        journal = self._ledger.sent_first
        if journal is None:
            return False
        marked = self.client.rate_limiter.free_now(self._marked + 1)
        if marked:
            self._marked += 1
            self._ledger.mark_sent(job)
        try:
            await journal.committed()
        except BaseException:
            self._marked -= marked
            raise
        return marked


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
    failures = open_run_failures(failures_out, rows, opened)
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
