"""Long-running jobs: an operation that starts a job on the server, and polling it to its end.

A spec declares the job with ``x-poll`` on the starting operation (which operation reads its
status, which field holds its id and status, which statuses end it and which of those mean
failure). For such an operation the generated client has ``<op>_and_wait(...)``, which starts
the job and waits for it, and ``<op>_job(..., job_id)``, a `Job` for a job started earlier
(by this process or one that was killed): no request is sent until it is awaited or iterated.

A `Job` is asyncio-native: ``await job`` (or ``await job.result(timeout=...,
on_progress=...)``) gives the final status, ``async for status in job`` gives each status read
until the job ends. Polls are ordinary calls of the status operation: they go through the
client's rate limiter and retries, so polling never spends more of the rate budget than the
windows allow. Between polls the wait grows from `PollPolicy.first` by `factor` up to `cap`;
a ``Retry-After`` on a status response sets the next wait instead. Stopping the wait (a
timeout, a cancelled task) leaves the job running on the server and says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import inspect
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Generator, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs

from .api import OperationSpec
from .errors import JobFailedError, JobTimeoutError
from .events import JobPolled, JobWaitStopped
from .paths import query_value
from .retry import header_value, retry_after_delay

if TYPE_CHECKING:
    from .client import BaseClient

__all__ = ["DEFAULT_POLLING", "Job", "Poll", "PollPolicy", "ProgressHook", "Upload", "UploadCounts"]

S = TypeVar("S")
logger = logging.getLogger("leadkit")

ProgressHook = Callable[[S], Awaitable[None] | None]
"""Called with each status read; a coroutine function is awaited."""


@attrs.frozen(kw_only=True)
class PollPolicy:
    """How often a job is polled: `first` seconds after it starts, each wait then `factor`
    times longer, never longer than `cap` (a status response's ``Retry-After`` wins)."""

    first: float = attrs.field(default=1.0, validator=attrs.validators.ge(0))
    factor: float = attrs.field(default=2.0, validator=attrs.validators.ge(1))
    cap: float = attrs.field(default=30.0, validator=attrs.validators.ge(0))

    def delay(self, waits: int) -> float:
        """Seconds of the wait that follows `waits` earlier waits."""
        return min(self.cap, self.first * self.factor**waits)


DEFAULT_POLLING = PollPolicy()


@attrs.frozen(kw_only=True, eq=False)  # identity: it holds an OperationSpec
class Poll(Generic[S]):
    """An operation's ``x-poll`` declaration, as the runtime reads it."""

    started_by: str
    """The starting operation's name, e.g. ``upload_leads``."""
    operation: OperationSpec[S]
    """The operation that reads the job's status."""
    id_param: str
    """The path parameter of `operation` that takes the job's id (wire name)."""
    status: str
    """The status model's attribute holding the job's status."""
    done: frozenset[str]
    failed: frozenset[str]
    progress: str | None = None
    """The status model's attribute holding a percentage done, if the spec names one."""
    resume: str
    """The client method that makes a `Job` of a job id, e.g. ``upload_leads_job``."""


@attrs.frozen(kw_only=True)
class UploadCounts:
    """The attributes of an upload job's status model holding its counts (x-upload's)."""

    total: str
    created: str
    duplicates: str
    errors: str
    processed: str | None = None


@attrs.frozen(kw_only=True, eq=False)  # identity: it holds OperationSpecs
class Upload(Generic[S]):
    """An operation's ``x-upload``: a file of rows, each created as `creates` would create
    it, by a job that `poll` follows; what the bulk loader needs to upload rows and account
    for each one."""

    operation: OperationSpec[Any]
    """The operation that takes the file and starts the job."""
    creates: OperationSpec[Any]
    """The create operation each row is a request of (its body's fields are the columns)."""
    poll: Poll[S]
    job_id: str
    """The attribute of the operation's answer holding the job's id."""
    file: str
    """The part holding the file."""
    mapping: str | None
    """The JSON part holding the mapping, request field -> file column (None: none)."""
    max_rows: int
    max_bytes: int
    counts: UploadCounts
    errors: str
    """The status model's attribute listing the refused rows."""
    error_row: tuple[str, ...]
    """Keys an error item may give its row's number under, in the order they are read."""
    error_message: tuple[str, ...]
    first_row: int
    """The number the first row after the header has in the errors."""


def _text(value: Any) -> str:
    return str(value.value) if isinstance(value, enum.Enum) else str(value)


class Job(Generic[S]):
    """One job on the server: poll its status, iterate its progress, await its end.

    `id` is the job's id as text (save it to wait again later, e.g. after a crash); `latest`
    the last status read (None before the first poll); `polls` how many were read.
    """

    def __init__(
        self,
        client: BaseClient,
        poll: Poll[S],
        path_params: Mapping[str, Any],
        *,
        polling: PollPolicy = DEFAULT_POLLING,
        started: bool = False,
    ) -> None:
        """A job of `client`, read through `poll.operation` with `path_params`; `started`:
        it was started just now, so the first poll waits `polling.first`."""
        self._client = client
        self._poll = poll
        self._path_params = dict(path_params)
        self._polling = polling
        self._wait_first = started
        self._retry_after: float | None = None
        self.id = query_value(path_params[poll.id_param])
        self.latest: S | None = None
        self.polls = 0

    def __repr__(self) -> str:
        return f"Job({self._poll.started_by}, id={self.id!r}, state={self.state!r})"

    @property
    def state(self) -> str | None:
        """The job's status as text, e.g. ``IN_PROGRESS`` (None before the first poll)."""
        return None if self.latest is None else _text(getattr(self.latest, self._poll.status))

    @property
    def done(self) -> bool:
        """Whether the last status read ends the job."""
        return self.state in self._poll.done

    @property
    def failed(self) -> bool:
        """Whether the last status read is a failure."""
        return self.state in self._poll.failed

    @property
    def resume(self) -> str:
        """The call that makes this job again from its id, e.g. after a crash."""
        args = ", ".join(repr(query_value(value)) for value in self._path_params.values())
        return f"{self._poll.resume}({args})"

    async def poll(self) -> S:
        """Read the job's status once, now, through the client's rate limiter and retries."""
        response = await self._client.call(self._poll.operation, path_params=self._path_params)
        self.latest, self.polls = response.parsed, self.polls + 1
        asked = header_value(response.headers, "Retry-After")
        self._retry_after = None if asked is None else retry_after_delay(asked, time.time())
        return response.parsed

    def __aiter__(self) -> AsyncIterator[S]:
        """Each status read until the job ends (a job known to have ended reads none)."""
        return self._statuses()

    async def _statuses(self) -> AsyncGenerator[S, None]:
        waits = 0
        delay = self._polling.first if self._wait_first else 0.0
        while not self.done:
            if delay:
                await asyncio.sleep(delay)
            self._wait_first = False
            status = await self.poll()
            delay = (
                self._retry_after if self._retry_after is not None else self._polling.delay(waits)
            )
            waits += 1
            self._report(delay)
            yield status

    def _report(self, delay: float) -> None:
        progress = getattr(self.latest, self._poll.progress) if self._poll.progress else None
        self._client._sender.emit(
            JobPolled,
            operation=self._poll.started_by,
            job_id=self.id,
            status=self.state,
            progress=progress if isinstance(progress, int | float) else None,
            polls=self.polls,
            done=self.done,
            next_poll_in=None if self.done else delay,
        )

    async def result(
        self, *, timeout: float | None = None, on_progress: ProgressHook[S] | None = None
    ) -> S:
        """Poll until the job ends; its final status.

        `timeout` bounds the wait in seconds (None: no bound); `on_progress` is called with
        each status read. Raises JobFailedError (holding the final status) for a failed job,
        JobTimeoutError when the wait outlasts `timeout`; either way, and when the waiting
        task is cancelled, the job itself goes on, on the server.
        """
        try:
            async with asyncio.timeout(timeout) as deadline:
                async with contextlib.aclosing(self._statuses()) as statuses:
                    async for status in statuses:
                        if on_progress is not None and inspect.isawaitable(
                            outcome := on_progress(status)
                        ):
                            await outcome
        except TimeoutError:
            if not deadline.expired():
                raise
            self._stopped(f"no end within {timeout:g}s")
            raise JobTimeoutError(
                operation=self._poll.started_by,
                job_id=self.id,
                timeout=timeout or 0.0,
                status=self.latest,
                resume=self.resume,
            ) from None
        except asyncio.CancelledError:
            self._stopped("the waiting task was cancelled")
            raise
        return self._final()

    def __await__(self) -> Generator[Any, None, S]:
        return self.result().__await__()

    def _final(self) -> S:
        assert self.latest is not None and self.state is not None  # the loop ran to the end
        if self.failed:
            raise JobFailedError(
                operation=self._poll.started_by,
                job_id=self.id,
                state=self.state,
                status=self.latest,
            )
        return self.latest

    def _stopped(self, reason: str) -> None:
        logger.info(
            "%s job %s: stopped waiting (%s); it keeps running on the server: wait again with %s",
            self._poll.started_by,
            self.id,
            reason,
            self.resume,
        )
        self._client._sender.emit(
            JobWaitStopped,
            operation=self._poll.started_by,
            job_id=self.id,
            reason=reason,
            status=self.state,
        )
