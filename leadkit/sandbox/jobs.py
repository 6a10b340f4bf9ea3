"""Upload jobs: each runs in the background, through the statuses its x-upload names.

A job waits `QUEUED_SECONDS` (sandbox time), then runs when the jobs of its API before it
have ended (one at a time, in order): it validates every row against the create
operation's request schema (at `VALIDATION_SPEEDUP` times the pace), then processes the
rows at `SandboxConfig.upload_rate` rows per sandbox second. A row that is refused is an
error item with its number; a row whose dedupe key the scope (or the file) has already is
counted a duplicate; any other is created and stored as the create operation stores it. A
file that cannot be read as rows fails the job, with the reason as its one error item.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Coroutine, Mapping
from typing import Any

import attrs

from .forms import TooLarge, UploadForm
from .problems import OperationValidator, describe
from .ratelimit import Clock
from .records import Records, canonical, dedupe_key
from .responses import ResponseBuilder
from .spec import ApiModel, Operation, UploadSpec
from .upload_rows import FileProblem, RowReader, read_file

__all__ = ["QUEUED_SECONDS", "VALIDATION_SPEEDUP", "JobBoard", "JobRunner", "UploadJob"]

QUEUED_SECONDS = 1.0
"""Sandbox seconds a new job stays queued before it may start."""
VALIDATION_SPEEDUP = 10.0
"""How much faster than processing a job validates its rows."""
TICK = 0.05
"""Wall-clock seconds between two steps of a running job."""


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")


@attrs.define
class UploadJob:
    """One upload's job: its phase, counts and refused rows."""

    id: str
    params: dict[str, str]
    phase: str = "queued"
    total: int = 0
    processed: int = 0
    created: int = 0
    duplicates: int = 0
    errors: int = 0
    error_items: list[dict[str, Any]] = attrs.field(factory=list)
    started_at: str | None = None
    completed_at: str | None = None

    @property
    def percentage(self) -> int:
        if self.total == 0:
            return 100 if self.phase in ("completed", "failed") else 0
        return self.processed * 100 // self.total


@attrs.frozen
class _Row:
    """A row read from the file: its body, and why it is refused (None: it is not)."""

    body: dict[str, Any]
    reason: str | None


class JobBoard:
    """Every upload job of a sandbox by id, and the tasks running them."""

    def __init__(self) -> None:
        self.jobs: dict[str, UploadJob] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def run(self, job: UploadJob, work: Coroutine[Any, Any, None]) -> None:
        """Keep `job` and run `work` for it in the background."""
        self.jobs[job.id] = job
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def clear(self) -> None:
        """Forget every job and cancel those still running."""
        for task in self._tasks:
            task.cancel()
        self.jobs.clear()


class JobRunner:
    """Starts and runs the jobs of one upload operation, and says where each one stands."""

    def __init__(
        self,
        api: ApiModel,
        upload: UploadSpec,
        records: Records,
        builder: ResponseBuilder,
        *,
        board: JobBoard,
        clock: Clock,
        rate: float,
        turn: asyncio.Lock,
    ) -> None:
        self.api = api
        self.upload = upload
        self.creates: Operation = api.operation(upload.creates)
        self.status_op: Operation = api.operation(upload.status_operation)
        self._validator = OperationValidator(api, self.creates)
        self._records = records
        self._builder = builder
        self._board = board
        self._clock = clock
        self._rate = rate
        self._turn = turn
        """Held by the job that runs: one at a time per API, in order."""

    def start(self, params: Mapping[str, str], form: UploadForm) -> UploadJob:
        """A new job for the file of `form`, queued; it runs in the background. TooLarge
        for a file of more rows than the upload takes (nothing is started)."""
        problem: FileProblem | None = None
        try:
            header, cells = read_file(form.data)
        except FileProblem as exc:
            header, cells, problem = [], [], exc
        if len(cells) > self.upload.max_rows:
            limit = self.upload.max_rows
            raise TooLarge(f"the file has {len(cells):,} rows, over the limit of {limit:,}")
        job = UploadJob(str(uuid.uuid4()), dict(params))
        self._board.run(job, self._run(job, header, cells, form.mapping, problem))
        self._records.stats["uploads"] += 1
        return job

    def find(self, params: Mapping[str, str]) -> UploadJob | None:
        """The job the status operation's path parameters name (in their scope)."""
        job = self._board.jobs.get(canonical(str(params.get(self.upload.job_id))))
        if job is None or any(
            canonical(params.get(name, value)) != canonical(value)
            for name, value in job.params.items()
        ):
            return None
        return job

    def status(self, job: UploadJob) -> Any:
        """The status operation's answer for `job`."""
        counts = self.upload.counts
        values = {
            "total": job.total,
            "processed": job.processed,
            "created": job.created,
            "duplicates": job.duplicates,
            "errors": job.errors,
            "percentage": job.percentage,
            "started": job.started_at,
            "completed": job.completed_at,
        }
        body: dict[str, Any] = {
            counts[role]: value for role, value in values.items() if role in counts
        }
        body |= {self.upload.status_field: self.upload.statuses[job.phase]}
        body |= {self.upload.errors: job.error_items, self.upload.job_id: job.id, **job.params}
        schema = self.status_op.response_schema or {}
        return self._builder.build(schema, body)

    async def _wait(self, sandbox_seconds: float) -> None:
        await asyncio.sleep(self._clock.wall_seconds(sandbox_seconds))

    async def _run(
        self,
        job: UploadJob,
        header: list[str],
        cells: list[list[str]],
        mapping: Mapping[str, str] | None,
        problem: FileProblem | None,
    ) -> None:
        await self._wait(QUEUED_SECONDS)
        async with self._turn:
            job.phase, job.started_at = "validating", _now()
            try:
                if problem is not None:
                    raise problem
                reader = RowReader(self.api, self.creates, header, mapping)
            except FileProblem as exc:
                job.phase, job.completed_at = "failed", _now()
                job.error_items.append({self.upload.error_message: str(exc)})
                return
            job.total = len(cells)
            rows = [self._check(reader, row) for row in cells]
            await self._wait(len(rows) / (self._rate * VALIDATION_SPEEDUP))
            job.phase = "running"
            await self._process(job, rows)
            job.phase, job.completed_at = "completed", _now()

    def _check(self, reader: RowReader, cells: list[str]) -> _Row:
        """A row's body, and why it is refused if it is."""
        body, wrong = reader.read(cells)
        problems = self._validator.check_body(body)
        return _Row(body, wrong or (describe(problems) if problems else None))

    async def _process(self, job: UploadJob, rows: list[_Row]) -> None:
        """Process the rows at the sandbox's pace: refused, duplicate or created."""
        params = {name: job.params[name] for name in self.creates.path_params}
        schema = self.creates.response_schema or {}
        seen: set[str] = set()
        started = self._clock.now()
        while job.processed < len(rows):
            due = min(len(rows), int((self._clock.now() - started) * self._rate) + 1)
            for number in range(job.processed, due):
                row = rows[number]
                key = dedupe_key(row.body.get(self.creates.dedupe_field or ""))
                if row.reason is not None:
                    job.errors += 1
                    job.error_items.append(self._error(number, row))
                elif key in seen or not self._records.create(
                    params, key, self._builder.build(schema, row.body), unique=key is not None
                ):
                    job.duplicates += 1
                else:
                    job.created += 1
                if key is not None:
                    seen.add(key)
                job.processed += 1
            if job.processed < len(rows):
                await asyncio.sleep(TICK)

    def _error(self, number: int, row: _Row) -> dict[str, Any]:
        """The error item of a refused row: its number, its dedupe value, the reason."""
        item: dict[str, Any] = {self.upload.error_row: number + self.upload.first_row}
        field = self.creates.dedupe_field
        if field and isinstance(row.body.get(field), str):
            item[field] = row.body[field]
        return item | {self.upload.error_message: row.reason}
