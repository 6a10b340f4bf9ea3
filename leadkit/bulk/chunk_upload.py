"""One chunk's upload: journaled, uploaded, its job polled to the end, each row reported.

The rows are journaled as sent with the chunk before the file goes (`UploadJournal.begin`),
the job's id as soon as the upload is answered. An upload whose answer was lost (the
connection dropped after the file was sent, a 500) is sent again, up to `UPLOAD_ATTEMPTS`
times: the API counts a repeated row as a duplicate instead of storing it twice. Each row
then gets one result: the job's verdict on it (`JobReport`), the upload's error, or, when
the run stops first, what a rerun will do with it. The results go out as the run's consumer
takes them (`RowSink.room`), so a chunk of 10,000 rows is never 10,000 results in memory.
`settle_earlier` does the end of the same for a chunk an earlier run left to its job.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs

from ..runtime.client import BaseClient
from ..runtime.errors import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    JobFailedError,
    OutcomeUnknownError,
    PermissionDeniedError,
)
from ..runtime.polling import Job as PolledJob
from ..runtime.polling import PollPolicy, Upload
from .chunks import Chunk, Spooled
from .inputs import request_fields
from .job_report import JobReport
from .journal import Journal, State
from .ledger import NOT_SENT_REASON
from .results import Outcome, RowResult
from .seen import SeenKeys
from .upload_journal import EarlierChunk, UploadJournal

__all__ = ["IN_FLIGHT_UPLOAD_REASON", "UPLOAD_ATTEMPTS", "ChunkUpload", "RowSink", "settle_earlier"]

logger = logging.getLogger("leadkit")

UPLOAD_ATTEMPTS = 3
"""Uploads of one chunk whose answer is lost before the chunk is failed."""
_KEY_REFUSED = (AuthenticationError, PermissionDeniedError)
"""Errors of a poll that stop the run (any other leaves the job to a rerun)."""
IN_FLIGHT_UPLOAD_REASON = (
    "in flight when interrupted; may exist — loading it again uploads it again "
    "(a repeat counts as a duplicate)"
)


@attrs.frozen
class RowSink:
    """Where a chunk's rows go once reported: the run's results, and the row journal."""

    settle: Callable[[str, RowResult], None]
    """Report a row (by its journal key) and the rows that waited for it."""
    journal: Journal | SeenKeys
    room: Callable[[], Awaitable[None]]
    """Wait until the consumer has taken enough results: a chunk's rows are reported as
    they are taken, not all at once (memory stays flat however large the chunk)."""


_Verdict = Callable[[Spooled], tuple[Outcome, State | None, str | None]]
"""A row's outcome, the journal state it leaves (None: as it is) and the reason."""


def _result(row: Spooled, outcome: Outcome, reason: str | None, job: str | None) -> RowResult:
    return RowResult(
        row.index,
        outcome,
        line=row.line,
        key=row.key,
        error=reason,
        body=row.body,
        cells=row.cells,
        job=job,
    )


class ChunkUpload:
    """The upload of one chunk, from its journal entry to its rows' results."""

    def __init__(
        self,
        client: BaseClient,
        upload: Upload[Any],
        chunk: Chunk,
        path_params: Mapping[str, Any],
        *,
        journal: UploadJournal | None,
        polling: PollPolicy,
        sink: RowSink,
    ) -> None:
        self.client = client
        self.upload = upload
        self.chunk = chunk
        self.job_id: str | None = None
        self._params = dict(path_params)
        self._journal = journal
        self._polling = polling
        self._sink = sink
        self._sent = False
        """An attempt of the upload went out: the file may have reached the server."""
        self._ended = False
        """The job's final status was read."""
        self._reported = 0
        """The chunk's first rows whose results went out."""

    @staticmethod
    def not_sent(chunk: Chunk) -> Iterator[tuple[Spooled, RowResult]]:
        """The results of a chunk's rows when none of it was sent."""
        for row in chunk.spooled():
            yield row, _result(row, Outcome.FAILED, NOT_SENT_REASON, None)

    @staticmethod
    async def wait(job: PolledJob[Any]) -> tuple[Any, bool]:
        """The job's final status, and whether it failed."""
        try:
            return await job.result(), False
        except JobFailedError as failed:
            return failed.status, True

    async def run(self) -> APIError | None:
        """Upload the chunk and report each row; the error that failed the upload (or a poll
        of its job, for a key refused), if one did."""
        journal = self._journal
        try:
            path = self.chunk.write_csv()
            entry = journal.begin(self.chunk.spooled()) if journal is not None else 0
            try:
                self.job_id = await self._start(path)
            except APIError as error:
                await self._report_all(error, State.UNKNOWN if self._sent else State.FAILED)
                return error
            if journal is not None:
                journal.accepted(entry, self.job_id)
            params = {**self._params, self.upload.poll.id_param: self.job_id}
            job = PolledJob(
                self.client, self.upload.poll, params, polling=self._polling, started=True
            )
            try:
                status, failed = await self.wait(job)
            except APIError as error:
                await self._unknown(error)  # the journal keeps the job: a rerun polls it again
                return error if isinstance(error, _KEY_REFUSED) else None
            self._ended = True
            await self._report(status, failed)
            if journal is not None:
                journal.done(entry)
            return None
        except asyncio.CancelledError:
            self._interrupted()
            raise
        finally:
            self.chunk.discard()

    async def _start(self, path: Path) -> str:
        """Upload the file; the job's id. A lost answer is followed by another upload."""
        parts: dict[str, Any] = {self.upload.file: path}
        if self.upload.mapping is not None:
            parts[self.upload.mapping] = self._mapping()

        def sent() -> None:
            self._sent = True

        for attempt in range(1, UPLOAD_ATTEMPTS + 1):
            try:
                response = await self.client.call(
                    self.upload.operation, path_params=self._params, parts=parts, before_send=sent
                )
            except (OutcomeUnknownError, APIConnectionError) as error:
                if attempt == UPLOAD_ATTEMPTS or not self._sent:
                    raise
                logger.info(
                    "upload %s: the answer was lost (%s); uploading it again", path.name, error
                )
                continue
            return str(getattr(response.parsed, self.upload.job_id))
        raise AssertionError("unreachable")  # the loop returns or raises

    def _mapping(self) -> dict[str, str]:
        """The mapping part: each field the mapping can name, and its column."""
        part = next(p for p in self.upload.operation.parts or () if p.name == self.upload.mapping)
        named = request_fields(self.client.api, part.type).types
        return {field: column for field, column in self.chunk.mapping().items() if field in named}

    def _write(self, row: Spooled, state: State, reason: str | None) -> None:
        self._sink.journal.set(
            row.journal_key, state, position=row.index, line=row.line, reason=reason
        )

    async def _settle_rows(self, verdict: _Verdict, job: str | None) -> None:
        """Report each row not reported yet as `verdict` says, journaling the state it
        gives, as fast as the consumer takes the results."""
        for row in itertools.islice(self.chunk.spooled(), self._reported, None):
            await self._sink.room()
            outcome, state, reason = verdict(row)
            if state is not None:
                self._write(row, state, reason)
            self._sink.settle(row.journal_key, _result(row, outcome, reason, job))
            self._reported += 1

    async def _report(self, status: Any, failed: bool) -> None:
        """Each row as the job's final status says."""
        rows = [(row.position, row.key) for row in self.chunk.spooled()]
        assert self.job_id is not None
        report = JobReport(self.upload, status, rows, job=self.job_id, failed=failed)

        def verdict(row: Spooled) -> tuple[Outcome, State | None, str | None]:
            said = report.verdict(row.position)
            return said.outcome, said.state, said.reason

        await self._settle_rows(verdict, self.job_id)

    async def _report_all(self, error: APIError, state: State) -> None:
        """Every row failed with the upload's error."""
        await self._settle_rows(lambda row: (Outcome.FAILED, state, str(error)), None)

    async def _unknown(self, error: APIError) -> None:
        """The job's end could not be read: every row fails, its outcome unknown (the
        journal keeps the row sent, with the job)."""
        rerun = (
            "a rerun with the journal waits for the job again"
            if self._journal is not None
            else "loading it again is safe (a repeat counts as a duplicate)"
        )
        reason = f"could not learn the outcome of upload job {self.job_id} ({error}); {rerun}"
        await self._settle_rows(lambda row: (Outcome.FAILED, None, reason), self.job_id)

    def _interrupted(self) -> None:
        """The run stopped the chunk: each row not reported yet fails, saying what a rerun
        does with it."""
        if self.job_id is not None:
            rerun = (
                "a rerun with the journal waits for it"
                if self._journal is not None
                else "loading it again is safe (a repeat counts as a duplicate)"
            )
            where = "had ended, its rows not all reported," if self._ended else "was still running"
            reason = f"its upload job {self.job_id} {where} when the load stopped; {rerun}"
        else:
            reason = IN_FLIGHT_UPLOAD_REASON if self._sent else NOT_SENT_REASON
        for row in itertools.islice(self.chunk.spooled(), self._reported, None):
            if not self._sent:
                self._write(row, State.QUEUED, None)
            self._sink.settle(row.journal_key, _result(row, Outcome.FAILED, reason, self.job_id))


async def settle_earlier(
    client: BaseClient,
    upload: Upload[Any],
    path_params: Mapping[str, Any],
    journal: UploadJournal,
    chunk: EarlierChunk,
    polling: PollPolicy,
) -> None:
    """Poll the job of a chunk an earlier run sent to its end, and journal each of its rows'
    outcome (the run then resumes them from the journal)."""
    assert chunk.job is not None
    params = {**path_params, upload.poll.id_param: chunk.job}
    job: PolledJob[Any] = PolledJob(client, upload.poll, params, polling=polling)
    status, failed = await ChunkUpload.wait(job)
    rows = journal.rows_of(chunk.id)
    keyed = [
        (place, key.removeprefix("key:") if key.startswith("key:") else None) for key, place in rows
    ]
    report = JobReport(upload, status, keyed, job=chunk.job, failed=failed)
    for key, place in rows:
        verdict = report.verdict(place)
        journal.resolve(key, verdict.state, verdict.reason)
    journal.done(chunk.id)
    journal.commit()
