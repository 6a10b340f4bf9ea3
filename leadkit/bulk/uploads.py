"""bulk_upload: load rows through an API's upload operation (x-upload), a chunk per job.

Flow: one task reads the input and hands each row to the run's `RowLedger` (validation
against the create operation, resume from the journal, de-duplication), as `bulk_create`
does; each valid row joins the current `Chunk` until the next would pass the upload's row or
byte limit. A full chunk goes to a task of its own (`ChunkUpload`): its rows are journaled
as sent with the chunk, the file is uploaded, the job's id journaled, the job polled to its
end, and each row of the chunk reported as the job's final status says (`JobReport`). At
most `uploads` chunks are in flight, and the rows read but not yet reported are bounded too,
so memory does not grow with the input. A rerun with the journal first waits for the jobs an
earlier run left running, then resumes every row as the journal says.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from ..runtime.client import BaseClient, expand_path, path_values
from ..runtime.errors import APIError, AuthenticationError, NotFoundError, PermissionDeniedError
from ..runtime.polling import PollPolicy, Upload
from .chunk_upload import ChunkUpload, RowSink, settle_earlier
from .chunks import Chunk, unsendable
from .failures import FailuresSink
from .inputs import request_fields
from .journal import State
from .ledger import Job, Row, RowLedger
from .results import Outcome, RowResult
from .row_run import RowRun, open_run_failures
from .seen import SeenKeys
from .upload_journal import UploadJournal

__all__ = ["UPLOAD_POLLING", "UploadRun", "bulk_upload"]

logger = logging.getLogger("leadkit")

UPLOAD_POLLING = PollPolicy(first=1.0, factor=1.5, cap=5.0)
"""How a load polls its jobs: soon after each starts, then every 5 s at most."""
_QUEUED_RESULTS = 1024
"""Results waiting for the consumer before a chunk's report waits for it to take them."""
_FATAL = (AuthenticationError, PermissionDeniedError, NotFoundError)
"""Errors of an upload that every later chunk would meet too: the run stops reading."""


class UploadRun(RowRun):
    """A `RowRun` that uploads its rows a chunk per job, as `BulkRun` sends them a request
    per row. `stop(grace)` cancels the chunks still uploading or polling after `grace`
    seconds (a job already started goes on, on the server: a rerun with the journal waits
    for it); `abort()` cancels at once.
    """

    _ITERATED_TWICE = "an UploadRun can be iterated only once"

    def __init__(
        self,
        client: BaseClient,
        upload: Upload[Any],
        rows: Iterable[Row] | AsyncIterable[Row],
        *,
        path_params: Mapping[str, Any],
        journal: UploadJournal | SeenKeys,
        failures: FailuresSink | None,
        dry_run: bool,
        uploads: int,
        polling: PollPolicy,
    ) -> None:
        ledger = RowLedger(
            client.api, upload.creates, journal, dry_run=dry_run, resend_in_flight=True
        )
        # the rows read and not yet reported: a chunk filling, those in flight, their copies
        super().__init__(ledger, failures, window=(uploads + 1) * upload.max_rows + 16)
        self.client = client
        self.upload = upload
        self._params = dict(path_params)
        self._journal = journal if isinstance(journal, UploadJournal) else None
        self._polling = polling
        self._folder = tempfile.TemporaryDirectory(prefix="leadkit-upload-")
        fields = request_fields(client.api, upload.creates.body_type)
        self._fields = list(fields.types)
        self._slots = asyncio.Semaphore(uploads)
        self._room = asyncio.Event()
        """Set while fewer than `_QUEUED_RESULTS` results wait for the consumer."""
        self._room.set()
        self._chunks: set[asyncio.Task[None]] = set()
        self._producer: asyncio.Task[None] | None = None
        self._input: Iterator[Row] | AsyncIterator[Row] = (
            aiter(rows) if isinstance(rows, AsyncIterable) else iter(rows)
        )

    def close(self) -> None:
        """Release the journal, the failures file and the chunks' folder; again does nothing."""
        super().close()
        self._folder.cleanup()

    def _start(self) -> list[asyncio.Task[None]]:
        self._producer = asyncio.create_task(self._guarded(self._produce()))
        return [asyncio.create_task(self._supervise())]

    def _stop_reading(self) -> None:
        if self._producer is not None:
            self._producer.cancel()

    def _cancel_in_flight(self) -> None:
        for task in self._chunks:
            task.cancel()

    def _in_turn(self, result: RowResult) -> Iterator[RowResult]:
        """`result` itself; taking it may make room for the results the chunks report."""
        if self._queue.qsize() < _QUEUED_RESULTS:
            self._room.set()
        yield result

    def _emit(self, result: RowResult) -> None:
        """Hand `result` to the consumer."""
        self._queue.put_nowait(result)

    async def _room_for_results(self) -> None:
        """Wait until fewer than `_QUEUED_RESULTS` results wait for the consumer."""
        while self._queue.qsize() >= _QUEUED_RESULTS:
            self._room.clear()
            await self._room.wait()

    def _settle(self, journal_key: str, result: RowResult) -> None:
        self._emit(result)
        for waited in self._ledger.settle(journal_key, result):
            self._emit(waited)

    async def _supervise(self) -> None:
        """Wait for the producer and every chunk it started; then tell the consumer."""
        assert self._producer is not None
        await asyncio.gather(self._producer, return_exceptions=True)
        while self._chunks:
            await asyncio.gather(*self._chunks, return_exceptions=True)
        self._queue.put_nowait(None)

    async def _produce(self) -> None:
        """Read every row into chunks, and launch each chunk's upload once it is full."""
        if not await self._resume_earlier():
            return
        pending: list[Chunk] = []
        """Chunks not launched: full ones, then the one filling."""
        try:
            while (job := await self._next_job()) is not None:
                if not pending or (pending[-1].rows and not pending[-1].fits(job)):
                    pending.append(self._new_chunk())
                if pending[-1].fits(job):
                    pending[-1].add(job)
                else:  # alone, over the byte limit
                    limit = self.upload.max_bytes
                    reason = f"the row alone is over the upload's limit of {limit:,} bytes"
                    self._settle(job.journal_key, self._invalid(job, reason))
                while len(pending) > 1:
                    await self._launch(pending[0])
                    pending.pop(0)
            if pending and pending[-1].rows and not self._stopping:
                await self._launch(pending[-1])
                pending.pop()
        finally:
            for chunk in pending:  # the run stopped before they went: none of it was sent
                for row, result in ChunkUpload.not_sent(chunk):
                    self._settle(row.journal_key, result)
                chunk.discard()

    def _new_chunk(self) -> Chunk:
        number = self._next_index
        return Chunk(
            Path(self._folder.name),
            number,
            fields=self._fields,
            extra=self.upload.creates.extra_columns,
            max_rows=self.upload.max_rows,
            max_bytes=self.upload.max_bytes,
        )

    async def _next_job(self) -> Job | None:
        """The next valid row to upload; rows that need no upload are reported on the way."""
        while not self._stopping:
            await self._window.acquire()
            row = await self._read()
            if row is None:
                self._window.release()
                return None
            admitted = self._ledger.admit(*row)
            if isinstance(admitted, Job):
                reason = unsendable(admitted.body, self._fields, self.upload.creates.extra_columns)
                if reason is None:
                    return admitted
                self._settle(admitted.journal_key, self._invalid(admitted, reason))
            elif admitted is not None:  # None: it waits for an earlier row's result
                self._emit(admitted)
        return None

    def _invalid(self, job: Job, reason: str) -> RowResult:
        """A row the upload cannot carry: invalid, and journaled as not sent."""
        journal = self._ledger.journal
        journal.set(job.journal_key, State.FAILED, position=job.index, line=job.line, reason=reason)
        body, cells = job.body, job.cells
        return RowResult(
            job.index,
            Outcome.INVALID,
            line=job.line,
            key=job.key,
            error=reason,
            body=body,
            cells=cells,
        )

    async def _read(self) -> tuple[int, Row] | None:
        """The next input row with its index, or None at the end."""
        if self._exhausted:
            return None
        source = self._input
        try:
            row = await anext(source) if isinstance(source, AsyncIterator) else next(source)
        except (StopIteration, StopAsyncIteration):
            self._exhausted = True
            return None
        index = self._next_index
        self._next_index += 1
        return index, row

    async def _launch(self, chunk: Chunk) -> None:
        """Upload `chunk` in a task of its own once fewer than `uploads` are in flight."""
        await self._slots.acquire()
        upload = ChunkUpload(
            self.client,
            self.upload,
            chunk,
            self._params,
            journal=self._journal,
            polling=self._polling,
            sink=RowSink(self._settle, self._ledger.journal, self._room_for_results),
        )
        task = asyncio.create_task(self._guarded(self._upload(upload)))
        self._chunks.add(task)
        task.add_done_callback(self._chunks.discard)

    async def _upload(self, upload: ChunkUpload) -> None:
        try:
            error = await upload.run()
        finally:
            self._slots.release()
        if isinstance(error, _FATAL):
            self.stop(None, f"stopped after a fatal error: {error}")

    async def _resume_earlier(self) -> bool:
        """Wait for the jobs of chunks earlier runs sent, and journal what became of each row;
        False (the run stops) when one cannot be read."""
        journal = self._journal
        if journal is None:
            return True
        for chunk in journal.earlier():
            if chunk.job is None:
                journal.lost(chunk.id)
                continue
            try:
                await settle_earlier(
                    self.client, self.upload, self._params, journal, chunk, self._polling
                )
            except NotFoundError:  # the server forgot it: its rows are uploaded again
                logger.info(
                    "upload job %s of an earlier run is unknown: uploading again", chunk.job
                )
                journal.lost(chunk.id)
            except APIError as error:
                self._stopping = True
                self.stop_reason = (
                    f"cannot learn the outcome of upload job {chunk.job} of an earlier run "
                    f"({error}); run the load again to wait for it"
                )
                return False
        return True


def bulk_upload(
    client: BaseClient,
    upload: Upload[Any],
    rows: Iterable[Row] | AsyncIterable[Row],
    *,
    path_params: Mapping[str, Any] | None = None,
    journal: Path | str | None = None,
    failures_out: Path | str | None = None,
    dry_run: bool = False,
    uploads: int = 2,
    polling: PollPolicy = UPLOAD_POLLING,
) -> UploadRun:
    """Load every row through `upload` (an operation's x-upload) of `client`; iterate the run.

    `rows` are what `bulk_create` takes (request models of `upload.creates`, mappings of wire
    names or `InputRow`s), read lazily; invalid rows are reported with their line and never
    uploaded. Valid rows go in chunks of at most `upload.max_rows` rows and
    `upload.max_bytes` bytes, each uploaded as the loader's own CSV and polled with
    `polling` to the end of its job; at most `uploads` chunks are in flight. `journal` is a
    file (shared with `bulk_create`'s: same API, create operation and path parameters) that
    records each row and each chunk's job, so that a rerun after a crash waits for a job
    instead of uploading its chunk again. `failures_out` and `dry_run` are `bulk_create`'s.
    """
    if uploads < 1:
        raise ValueError(f"uploads must be 1 or more, not {uploads}")
    params = dict(path_params or {})
    expand_path(upload.operation.path, path_values(params))  # a bad value fails here
    scope = {"api": client.api.name, "operation": upload.creates.name, "path_params": params}
    opened = SeenKeys() if journal is None or dry_run else UploadJournal(Path(journal), scope)
    failures = open_run_failures(failures_out, rows, opened)
    return UploadRun(
        client,
        upload,
        rows,
        path_params=params,
        journal=opened,
        failures=failures,
        dry_run=dry_run,
        uploads=uploads,
        polling=polling,
    )
