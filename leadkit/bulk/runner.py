"""bulk_create: stream rows into a create operation, one RowResult per row, losing none.

Flow: `concurrency` workers share the input. Each takes a place under the AIMD limit,
reads the next row and hands it to the run's `RowLedger` (validation, resume,
de-duplication), then sends it, or reports it at once when it needs no sending; results
go to the consumer in completion or input order. A row whose key an earlier row of the
run has waits for that row's result (the ledger says so). At most `window` rows are
between being read and being handed to the consumer (waiting ones too), so memory does
not grow with the input. This module schedules: workers, pacing, stop and abort; the
ledger (`leadkit.bulk.ledger`) keeps each row's state and the journal.
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
from .failures import FailuresSink, open_failures
from .journal import Journal
from .ledger import Job, Row, RowLedger
from .results import RowResult, Summary, SummaryBuilder
from .seen import SeenKeys
from .streaks import Streak

__all__ = ["BulkRun", "bulk_create"]

_FATAL = (AuthenticationError, PermissionDeniedError)
"""Errors that every later row would meet too: the run stops reading input. A 404 joins
them when the operation's path names a resource (Coldsend's campaign): every row shares
it; without path parameters (Breakcold) a 404 is about something in the row."""


class _Crash:
    """A worker died of an unexpected error; the consumer re-raises it."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


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
        self._failures = failures
        self._ledger = RowLedger(
            client.api,
            op,
            journal,
            dry_run=dry_run,
            resend_in_flight=retries_ambiguous(op, client.retry),
        )
        self._fatal = (*_FATAL, NotFoundError) if "{" in op.path else _FATAL
        self._marked = 0
        """Rows marked 'sent' in a group commit whose requests have not gone out yet."""
        self._window = asyncio.Semaphore(4 * concurrency + 16)
        self._streak = Streak()
        self._queue: asyncio.Queue[RowResult | _Crash | None] = asyncio.Queue()
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
        self._ledger.journal.close()
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
