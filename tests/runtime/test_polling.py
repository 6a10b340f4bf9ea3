"""Long-running jobs (x-poll) against a real aiohttp job server on 127.0.0.1: start, poll with
backoff through the rate limiter, progress, failure, timeout, cancellation and resuming."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from aiohttp import web

from leadkit.apis.coldsend import models
from leadkit.runtime import (
    JobFailedError,
    JobPolled,
    JobTimeoutError,
    JobWaitStopped,
    PollPolicy,
    RateLimitPolicy,
    RateLimitWait,
    RetryScheduled,
    Window,
)
from tests.transport_support import CAMPAIGN, Recorder, coldsend, serve

sys.path.insert(0, str(Path(__file__).parents[1] / "golden" / "expected"))
import inventory  # the golden fixture package

JOB = str(uuid.uuid4())
FAST = PollPolicy(first=0.01, factor=2.0, cap=0.04)
POLL_PATH = f"/api/public/v1/campaigns/{CAMPAIGN}/leads/upload/{JOB}"


def status(state: str, percent: int = 0, **extra: Any) -> dict[str, Any]:
    """A LeadUploadProgress body."""
    return {
        "job_id": JOB,
        "campaign_id": CAMPAIGN,
        "status": state,
        "progress_percentage": percent,
        "processed_count": percent,
        "success_count": percent,
        "duplicate_count": 0,
        "error_count": 0,
        "total_count": 100,
        "errors": [],
        "started_at": None,
        "completed_at": None,
        **extra,
    }


@attrs.define
class JobServer:
    """Answers an upload with JOB and each poll with the next scripted answer (the last repeats)."""

    answers: list[tuple[int, dict[str, Any], dict[str, str]]]
    uploads: int = 0
    polls: list[float] = attrs.field(factory=list)
    """When each poll arrived (monotonic)."""

    def script(self, *answers: Any) -> None:
        self.answers = [a if isinstance(a, tuple) else (200, a, {}) for a in answers]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.method == "POST":
            self.uploads += 1
            await request.read()
            return web.json_response({"job_id": JOB}, status=202)
        assert request.path == POLL_PATH
        self.polls.append(time.monotonic())
        code, body, headers = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return web.json_response(body, status=code, headers=headers)


@pytest.fixture
def server() -> Iterator[JobServer]:
    yield JobServer(answers=[])


PROGRESS = [
    status("PENDING"),
    status("VALIDATING"),
    status("IN_PROGRESS", 40),
    status("IN_PROGRESS", 80),
    status("COMPLETED", 100, completed_at="2025-01-01T00:00:00Z"),
]


async def test_and_wait_starts_polls_with_growing_waits_and_returns_the_final_status(
    server: JobServer,
) -> None:
    server.script(*PROGRESS)
    events, seen = Recorder(), []
    async with serve(server.handle) as url, coldsend(url, event_hooks=[events]) as client:
        final = await client.upload_leads_and_wait(
            CAMPAIGN, file=b"email\na@b.c\n", polling=FAST, on_progress=lambda s: seen.append(s)
        )
    assert isinstance(final, models.LeadUploadProgress)
    assert (final.status, final.progress_percentage, server.uploads) == ("COMPLETED", 100, 1)
    assert [s.status for s in seen] == [
        "PENDING",
        "VALIDATING",
        "IN_PROGRESS",
        "IN_PROGRESS",
        "COMPLETED",
    ]
    polled = [e for _, e in events.of(JobPolled)]
    assert [(e.status, e.progress, e.polls, e.done) for e in polled] == [
        ("PENDING", 0, 1, False),
        ("VALIDATING", 0, 2, False),
        ("IN_PROGRESS", 40, 3, False),
        ("IN_PROGRESS", 80, 4, False),
        ("COMPLETED", 100, 5, True),
    ]
    # first 0.01 s, then twice as long each time, never longer than the cap
    assert [e.next_poll_in for e in polled] == [0.01, 0.02, 0.04, 0.04, None]
    assert {(e.operation, e.job_id) for e in polled} == {("upload_leads", JOB)}


async def test_an_async_progress_callback_is_awaited(server: JobServer) -> None:
    server.script(status("IN_PROGRESS", 50), status("COMPLETED", 100))
    seen: list[int] = []

    async def report(snapshot: models.LeadUploadProgress) -> None:
        await asyncio.sleep(0)
        seen.append(snapshot.progress_percentage)

    async with serve(server.handle) as url, coldsend(url) as client:
        await client.upload_leads_and_wait(CAMPAIGN, file=b"x", polling=FAST, on_progress=report)
    assert seen == [50, 100]


async def test_a_failed_job_raises_with_its_final_status(server: JobServer) -> None:
    server.script(status("IN_PROGRESS", 10), status("FAILED", 10, errors=[{"row": 2}]))
    async with serve(server.handle) as url, coldsend(url) as client:
        with pytest.raises(JobFailedError) as caught:
            await client.upload_leads_and_wait(CAMPAIGN, file=b"x", polling=FAST)
    error = caught.value
    assert (error.operation, error.job_id, error.state) == ("upload_leads", JOB, "FAILED")
    assert isinstance(error.status, models.LeadUploadProgress)
    assert error.status.errors == [{"row": 2}]
    assert str(error) == f"upload_leads job {JOB} ended FAILED"


async def test_a_retry_after_on_a_poll_sets_the_next_wait(server: JobServer) -> None:
    server.script(
        (200, status("IN_PROGRESS"), {"Retry-After": "0"}),
        (200, status("IN_PROGRESS"), {}),
        status("COMPLETED", 100),
    )
    events = Recorder()
    slow = PollPolicy(first=0.01, factor=1.0, cap=0.05)
    async with serve(server.handle) as url, coldsend(url, event_hooks=[events]) as client:
        await client.upload_leads_and_wait(CAMPAIGN, file=b"x", polling=slow)
    assert [e.next_poll_in for _, e in events.of(JobPolled)] == [0.0, 0.01, None]


async def test_polls_go_through_the_rate_limiter_and_its_retries(server: JobServer) -> None:
    """Two requests per 0.3 s: the upload and the polls share the limiter; a 429 on a poll is
    retried (a GET), and polling goes on."""
    server.script(
        status("PENDING"),
        (429, {"detail": "Rate limit exceeded. Retry after 0 seconds."}, {"Retry-After": "0"}),
        status("IN_PROGRESS", 50),
        status("COMPLETED", 100),
    )
    events = Recorder()
    limit = RateLimitPolicy(windows=(Window(limit=2, seconds=0.3),))
    fast = PollPolicy(first=0.0, factor=1.0, cap=0.0)
    async with (
        serve(server.handle) as url,
        coldsend(url, rate_limit=limit, event_hooks=[events]) as client,
    ):
        final = await client.upload_leads_and_wait(CAMPAIGN, file=b"x", polling=fast)
    assert final.status == "COMPLETED"
    waits = [e for _, e in events.of(RateLimitWait)]
    assert waits and {e.operation for e in waits} == {
        "GET /api/public/v1/campaigns/{campaign_id}/leads/upload/{job_id}"
    }
    assert [e.reason for _, e in events.of(RetryScheduled)] == ["rate-limited (server asked)"]
    gaps = [later - earlier for earlier, later in zip(server.polls, server.polls[2:], strict=False)]
    assert all(gap >= 0.29 for gap in gaps), gaps  # never three requests in one window


async def test_a_timeout_stops_waiting_says_the_job_goes_on_and_it_can_be_resumed(
    server: JobServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.script(status("IN_PROGRESS", 30))
    events = Recorder()
    async with serve(server.handle) as url, coldsend(url, event_hooks=[events]) as client:
        with (
            caplog.at_level(logging.INFO, logger="leadkit"),
            pytest.raises(JobTimeoutError) as caught,
        ):
            await client.upload_leads_and_wait(CAMPAIGN, file=b"x", polling=FAST, max_wait=0.1)
        error = caught.value
        assert (error.job_id, error.timeout) == (JOB, 0.1)
        assert isinstance(error.status, models.LeadUploadProgress)
        assert error.status.progress_percentage == 30
        assert error.resume == f"upload_leads_job({CAMPAIGN!r}, {JOB!r})"
        assert "keeps running on the server" in str(error) and error.resume in str(error)
        [stopped] = [e for _, e in events.of(JobWaitStopped)]
        assert (stopped.job_id, stopped.status, stopped.reason) == (
            JOB,
            "IN_PROGRESS",
            "no end within 0.1s",
        )
        assert "keeps running on the server" in caplog.text
        # resumed by its id, as after a crash: no second upload
        server.script(status("COMPLETED", 100))
        final = await client.upload_leads_job(CAMPAIGN, JOB, polling=FAST)
    assert final.status == "COMPLETED"
    assert server.uploads == 1


async def test_cancelling_the_wait_leaves_the_job_running_and_says_so(
    server: JobServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.script(status("IN_PROGRESS", 30))
    events = Recorder()
    async with serve(server.handle) as url, coldsend(url, event_hooks=[events]) as client:
        job = client.upload_leads_job(CAMPAIGN, JOB, polling=FAST)
        waiting = asyncio.create_task(job.result())
        while job.polls < 2:
            await asyncio.sleep(0.005)
        with caplog.at_level(logging.INFO, logger="leadkit"):
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
    [stopped] = [e for _, e in events.of(JobWaitStopped)]
    assert stopped.reason == "the waiting task was cancelled"
    assert (
        f"upload_leads job {JOB}: stopped waiting (the waiting task was cancelled)" in caplog.text
    )
    assert job.state == "IN_PROGRESS" and not job.done


async def test_a_job_by_id_sends_nothing_until_used_then_iterates_each_status(
    server: JobServer,
) -> None:
    server.script(status("IN_PROGRESS", 50), status("COMPLETED", 100))
    async with serve(server.handle) as url, coldsend(url) as client:
        job = client.upload_leads_job(CAMPAIGN, JOB, polling=PollPolicy(first=60.0, cap=0.01))
        assert (job.id, job.latest, job.state, server.polls) == (JOB, None, None, [])
        # a job resumed by its id is polled at once (`first` is for a job just started)
        states = [s.status async for s in job]
        assert states == ["IN_PROGRESS", "COMPLETED"]
        assert job.done and not job.failed and job.polls == 2
        final = await job  # already ended: no further poll
    assert final is job.latest and len(server.polls) == 2
    assert repr(job) == f"Job(upload_leads, id={JOB!r}, state='COMPLETED')"


async def test_a_failed_job_iterates_to_its_last_status_then_awaits_to_the_error(
    server: JobServer,
) -> None:
    server.script(status("FAILED"))
    async with serve(server.handle) as url, coldsend(url) as client:
        job = client.upload_leads_job(CAMPAIGN, uuid.UUID(JOB), polling=FAST)
        assert [s.status async for s in job] == ["FAILED"]
        with pytest.raises(JobFailedError):
            await job


async def test_a_poll_once(server: JobServer) -> None:
    server.script(status("VALIDATING", 5))
    async with serve(server.handle) as url, coldsend(url) as client:
        job = client.upload_leads_job(CAMPAIGN, JOB)
        snapshot = await job.poll()
    assert (snapshot.status, job.state, job.polls, job.done) == (
        "VALIDATING",
        "VALIDATING",
        1,
        False,
    )


async def test_the_fixture_job_by_string_id_with_an_enum_status() -> None:
    """The golden fixture's start_import: a camelCase string id, an enum status (an unknown
    value is kept and does not end the job), a number progress, a JSON part."""
    answers = [
        {"importId": "imp-1", "state": "queued"},
        {"importId": "imp-1", "state": "paused", "percent": None},
        {"importId": "imp-1", "state": "running", "percent": 50.5},
        {"importId": "imp-1", "state": "done", "percent": 100},
    ]
    settings: list[bytes] = []

    async def handle(request: web.Request) -> web.StreamResponse:
        if request.method == "POST":
            async for part in await request.multipart():
                if part.name == "settings":
                    settings.append(bytes(await part.read()))
            return web.json_response({"importId": "imp-1"}, status=202)
        assert request.path == "/imports/imp-1"
        return web.json_response(answers.pop(0))

    events = Recorder()
    async with (
        serve(handle) as url,
        inventory.InventoryClient(api_key="tok", base_url=url, event_hooks=[events]) as client,
    ):
        final = await client.start_import_and_wait(
            data=b"name\nbolt\n", settings={"dryRun": True}, polling=FAST
        )
    assert final.state == inventory.models.State.DONE
    assert settings == [b'{"dryRun":true}']
    polled = [(e.status, e.progress, e.done) for _, e in events.of(JobPolled)]
    assert polled == [
        ("queued", None, False),
        ("paused", None, False),
        ("running", 50.5, False),
        ("done", 100, True),
    ]
