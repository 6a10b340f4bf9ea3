"""RowRun: the life of a run that hands its consumer one RowResult per input row.

`BulkRun` (a request per row) and `UploadRun` (a job per chunk of rows) share it: one
iteration, a stop after a grace or an abort at once, the journal and the failures file
closed at the end, and a summary that accounts for every row read, whether the consumer
took its result or not. Each run says how it starts its tasks, how it stops reading and
what it cancels.
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import AsyncIterator, Awaitable, Iterable, Iterator
from pathlib import Path
from typing import ClassVar

from .failures import FailuresSink, open_failures
from .journal import Journal
from .ledger import RowLedger
from .results import RowResult, Summary, SummaryBuilder
from .seen import SeenKeys

__all__ = ["RowRun", "open_run_failures"]


class _Crash:
    """A task of the run died of an unexpected error; the consumer re-raises it."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


class RowRun(abc.ABC):
    """An async iterable of RowResult, one per input row; `summary` once it is exhausted.

    Iterate it once. `stop(grace)` stops reading input and cancels what is still in flight
    after `grace` seconds; `abort()` cancels at once. Rows never read are counted from
    `summary.unread_from`.
    """

    _ITERATED_TWICE: ClassVar[str]
    """The error of a second iteration, naming the run."""

    def __init__(self, ledger: RowLedger, failures: FailuresSink | None, *, window: int) -> None:
        self.summary: Summary | None = None
        self.stop_reason: str | None = None
        self._ledger = ledger
        self._failures = failures
        self._window = asyncio.Semaphore(window)
        """Places for the rows read and not yet handed to the consumer."""
        self._queue: asyncio.Queue[RowResult | _Crash | None] = asyncio.Queue()
        self._next_index = 0
        self._exhausted = False
        self._stopping = False
        self._started = False

    def __aiter__(self) -> AsyncIterator[RowResult]:
        if self._started:
            raise RuntimeError(self._ITERATED_TWICE)
        self._started = True
        return self._results()

    def stop(self, grace: float | None = 30.0, reason: str = "stopped") -> None:
        """Stop reading input; cancel what is in flight after `grace` seconds (None: never)."""
        if not self._stopping:
            self._stopping = True
            self.stop_reason = reason
            self._stop_reading()
        if grace is not None:
            asyncio.get_running_loop().call_later(grace, self._cancel_in_flight)

    def abort(self) -> None:
        """Stop reading input and cancel everything in flight now."""
        self.stop(0.0, self.stop_reason or "aborted")
        self._cancel_in_flight()

    def close(self) -> None:
        """Release the journal (committed, its lock given up; the keys of a run without
        one are forgotten) and the failures file.

        An iterated run does this when it ends; call it for a run that will not be iterated.
        Closing again does nothing.
        """
        self._ledger.journal.close()
        if self._failures is not None:
            self._failures.close()

    @abc.abstractmethod
    def _start(self) -> list[asyncio.Task[None]]:
        """Start the run's tasks; those the consumer waits for when it ends. One of them
        queues None once all the run's work is done."""

    @abc.abstractmethod
    def _stop_reading(self) -> None:
        """Cancel what reads input or waits to send: the first stop does this at once."""

    @abc.abstractmethod
    def _cancel_in_flight(self) -> None:
        """Cancel every task with rows in flight."""

    def _in_turn(self, result: RowResult) -> Iterator[RowResult]:
        """The results the consumer may take now that `result` came: `result` itself."""
        yield result

    def _held_back(self) -> Iterable[RowResult]:
        """Results that came but `_in_turn` has not handed out yet: none."""
        return ()

    async def _results(self) -> AsyncIterator[RowResult]:
        builder = SummaryBuilder()
        tasks = self._start()
        finished = False
        try:
            while (item := await self._queue.get()) is not None:
                if isinstance(item, _Crash):
                    raise item.error
                for result in self._in_turn(item):
                    self._count(result, builder)
                    self._window.release()
                    yield result
            finished = True
        finally:
            if not finished:
                self.abort()
            await asyncio.gather(*tasks, return_exceptions=True)
            for result in [*self._held_back(), *self._drain()]:
                self._count(result, builder)  # no consumer took it: the summary still counts it
            self.close()
            unread = None if self._exhausted else self._next_index
            self.summary = builder.build(unread, self.stop_reason)

    def _count(self, result: RowResult, builder: SummaryBuilder) -> None:
        """Account for `result` in the summary and the failures file."""
        builder.add(result)
        if self._failures is not None:
            self._failures.write(result)

    def _drain(self) -> list[RowResult]:
        """The results still queued: the consumer stopped iterating before taking them."""
        items = [self._queue.get_nowait() for _ in range(self._queue.qsize())]
        return [item for item in items if isinstance(item, RowResult)]

    async def _guarded(self, work: Awaitable[None]) -> None:
        """Run `work`; an unexpected error reaches the consumer, which aborts the rest. A
        cancellation after the run stopped ends it quietly."""
        try:
            await work
        except asyncio.CancelledError:
            if not self._stopping:
                raise
        except Exception as exc:
            self._stopping = True
            self._queue.put_nowait(_Crash(exc))


def open_run_failures(
    failures_out: Path | str | None, rows: object, journal: Journal | SeenKeys
) -> FailuresSink | None:
    """The failures file of a run of `rows` (CSV in their shape when they are an `InputFile`
    and it is named .csv), or None without `failures_out`. When it cannot be opened, the
    run's `journal`, opened already, is closed before the error is raised."""
    layout = getattr(rows, "layout", None)
    try:
        return open_failures(Path(failures_out), layout) if failures_out is not None else None
    except (OSError, ValueError):
        journal.close()
        raise
