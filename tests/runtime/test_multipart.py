"""Multipart bodies against real aiohttp servers on 127.0.0.1 that parse them part by part.

The servers read each part with aiohttp's multipart reader, chunk by chunk, and keep only
what the test asserts (name, file name, media type, size, digest, first bytes).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import os
import socket
import sys
import tracemalloc
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import attrs
import pytest
from aiohttp import hdrs, web
from openapi_core import Config, OpenAPI
from openapi_core.contrib.aiohttp import AIOHTTPOpenAPIWebRequest

from leadkit.apis.coldsend import models
from leadkit.apis.coldsend.spec import SPEC as COLDSEND_SPEC
from leadkit.runtime import (
    BodyNotReplayableError,
    FilePart,
    RequestFailed,
    RequestValidationError,
    RetryScheduled,
)
from leadkit.runtime.errors import AuthenticationError, InternalServerError
from tests.runtime.test_secrets import shown
from tests.transport_support import CAMPAIGN, KEY, Recorder, coldsend, serve
from tests.waiting import eventually

sys.path.insert(0, str(Path(__file__).parents[1] / "golden" / "expected"))
import inventory  # the golden fixture package
from inventory.spec import SPEC as INVENTORY_SPEC

JOB = str(uuid.uuid4())
CSV = b"email,First Name\nada@example.com,Ada\ngrace@example.com,Grace\n"


@attrs.frozen
class Seen:
    """One part as the server read it."""

    filename: str | None
    content_type: str | None
    size: int
    sha256: str
    head: bytes


@attrs.define
class Uploads:
    """What the server received: each request's parts and headers; the answers to give."""

    requests: list[dict[str, Seen]] = attrs.field(factory=list)
    headers: list[dict[str, str]] = attrs.field(factory=list)
    statuses: list[int] = attrs.field(factory=list)
    """Statuses to answer, in order (then 200)."""


async def read_parts(request: web.Request) -> dict[str, Seen]:
    """Every part of a multipart body, read in chunks; none is held whole."""
    reader = await request.multipart()
    seen: dict[str, Seen] = {}
    async for part in reader:
        assert isinstance(part, object) and hasattr(part, "read_chunk")
        digest, size, head = hashlib.sha256(), 0, b""
        while chunk := await part.read_chunk(64 * 1024):
            digest.update(chunk)
            size += len(chunk)
            head += chunk[: max(0, 200 - len(head))]
        name = str(part.name)
        seen[name] = Seen(
            part.filename, part.headers.get(hdrs.CONTENT_TYPE), size, digest.hexdigest(), head
        )
    return seen


def upload_server(state: Uploads) -> Any:
    async def handle(request: web.Request) -> web.StreamResponse:
        state.headers.append(dict(request.headers))
        state.requests.append(await read_parts(request))
        status = state.statuses.pop(0) if state.statuses else 200
        if status != 200:
            return web.json_response(
                {"detail": "busy"}, status=status, headers={"Retry-After": "0"}
            )
        if request.path.startswith("/items/"):
            return web.json_response({"id": 1, "url": "https://img.example/1"}, status=201)
        return web.json_response({"job_id": JOB, "queued": True}, status=202)

    return handle


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def test_each_part_arrives_as_the_spec_declares() -> None:
    state = Uploads()
    async with serve(upload_server(state)) as url, coldsend(url) as client:
        accepted = await client.upload_leads(
            CAMPAIGN,
            file=CSV,
            mapping=models.LeadUploadMapping(email="email", first_name="First Name"),
        )
    assert accepted.job_id == uuid.UUID(JOB)
    assert accepted.additional_properties == {"queued": True}  # inferred shape: extras kept
    [parts] = state.requests
    assert parts["file"] == Seen("file", "text/csv", len(CSV), sha(CSV), CSV)
    mapping = parts["mapping"]
    assert (mapping.filename, mapping.content_type) == (None, "application/json")
    assert json.loads(mapping.head) == {"email": "email", "first_name": "First Name"}
    [headers] = state.headers
    assert headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert headers["X-API-Key"] == KEY


async def test_a_path_is_sent_under_its_name_and_a_file_part_names_its_own(tmp_path: Path) -> None:
    leads = tmp_path / "march leads.csv"
    leads.write_bytes(CSV)
    state = Uploads()
    async with serve(upload_server(state)) as url, coldsend(url) as client:
        await client.upload_leads(CAMPAIGN, file=leads, mapping={"email": "email"})
        await client.upload_leads(
            CAMPAIGN, file=FilePart(b"email\n", filename='März "x".csv', content_type="text/plain")
        )
    first, second = state.requests
    assert first["file"] == Seen("march leads.csv", "text/csv", len(CSV), sha(CSV), CSV)
    # as browsers send a file name: UTF-8 as it is, a quote percent-encoded
    assert second["file"].filename == "März %22x%22.csv"
    assert second["file"].content_type == "text/plain"
    assert "mapping" not in second  # an optional part left out is not sent


async def test_text_json_and_streamed_parts_of_the_fixture() -> None:
    async def thumbnail() -> AsyncIterator[bytes]:
        yield b"\x89PNG"
        yield bytearray(b"-thumb")

    state = Uploads()
    taken = dt.datetime(2025, 3, 1, 12, 30, tzinfo=dt.UTC)
    async with (
        serve(upload_server(state)) as url,
        inventory.InventoryClient(api_key="tok", base_url=url) as client,
    ):
        photo = await client.upload_photo(
            7,
            image=b"\x89PNG-full",
            caption="Front, in daylight",
            taken_at=taken,
            meta={"camera": "X100", "iso": 200},
            thumbnail=thumbnail(),
        )
    assert photo.url == "https://img.example/1"
    [parts] = state.requests
    assert list(parts) == ["image", "caption", "takenAt", "meta", "thumbnail"]
    assert (parts["image"].content_type, parts["image"].head) == ("image/png", b"\x89PNG-full")
    assert (parts["caption"].filename, parts["caption"].head) == (None, b"Front, in daylight")
    assert parts["takenAt"].head == b"2025-03-01T12:30:00+00:00"
    assert json.loads(parts["meta"].head) == {"camera": "X100", "iso": 200}
    thumb = parts["thumbnail"]
    assert (thumb.filename, thumb.content_type, thumb.head) == (
        "thumbnail",
        "application/octet-stream",
        b"\x89PNG-thumb",
    )


async def _nothing() -> AsyncIterator[bytes]:
    yield b""


@pytest.mark.parametrize(
    ("parts", "problem"),
    [
        ({"file": CSV, "mapping": {"email": 5}}, "mapping: expected str, got int @ $.email"),
        ({"file": CSV, "mapping": {"phone": "Phone"}}, "mapping: "),
        ({"file": "leads.csv"}, "file: a str is ambiguous for a file: pass pathlib.Path(...)"),
        (
            {"file": Path("/nonexistent/leads.csv")},
            "file: /nonexistent/leads.csv is not a readable file",
        ),
        ({"file": 12}, "file: expected bytes, a path or an async iterable of bytes, got int"),
        ({"file": None}, "file: the part is required"),
    ],
    ids=[
        "json-wrong-type",
        "json-undeclared-key",
        "file-str",
        "file-missing",
        "file-int",
        "file-none",
    ],
)
async def test_wrong_parts_are_refused_before_anything_is_sent(
    parts: dict[str, Any], problem: str
) -> None:
    state = Uploads()
    async with serve(upload_server(state)) as url, coldsend(url) as client:
        with pytest.raises(RequestValidationError) as caught:
            await client.upload_leads(CAMPAIGN, **parts)
    assert caught.value.model == "multipart body of upload_leads"
    assert any(p.startswith(problem) for p in caught.value.problems), caught.value.problems
    assert state.requests == []


# -- the contract ---------------------------------------------------------------------------


class _FullContentType(AIOHTTPOpenAPIWebRequest):
    """openapi-core's aiohttp request, with the boundary: its own drops the media type's
    parameters (aiohttp's `content_type`), so no multipart body would parse."""

    @property
    def content_type(self) -> str:
        return self.request.headers.get(hdrs.CONTENT_TYPE, "")


def _as_text(value: bytes, **parameters: str) -> str:
    """A file part's bytes as a str: openapi-core checks a part's value against the spec's
    `type: string`, which bytes never are (a binary part's content is not checked)."""
    return value.decode("latin-1")


def contract_server(spec: dict[str, Any], errors: list[str], reply: Any) -> Any:
    config = Config(
        extra_media_type_deserializers={
            media: _as_text for media in ("text/csv", "image/png", "application/octet-stream")
        }
    )
    openapi = OpenAPI.from_dict({**spec, "servers": [{"url": "http://127.0.0.1"}]}, config=config)

    async def handle(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        result = openapi.unmarshal_request(_FullContentType(request, body=body))
        errors.extend(f"{request.method} {request.path}: {e}" for e in result.errors)
        if not result.errors:
            errors.append(f"valid: {sorted(result.body)}")
        return reply(request)

    return handle


async def test_the_requests_sent_validate_against_the_spec(tmp_path: Path) -> None:
    """The contract: openapi-core, from the spec alone, accepts what the clients send."""
    leads = tmp_path / "leads.csv"
    leads.write_bytes(CSV)
    seen: list[str] = []
    accepted = contract_server(COLDSEND_SPEC, seen, lambda _: web.json_response({"job_id": JOB}))
    async with serve(accepted) as url, coldsend(url) as client:
        await client.upload_leads(
            CAMPAIGN, file=leads, mapping={"email": "email", "company": "Org"}
        )
        await client.upload_leads(CAMPAIGN, file=CSV)
    photo = lambda _: web.json_response({"id": 1, "url": "u"}, status=201)  # noqa: E731
    async with (
        serve(contract_server(INVENTORY_SPEC, seen, photo)) as url,
        inventory.InventoryClient(api_key="tok", base_url=url) as client,
    ):
        await client.upload_photo(
            3,
            image=b"\x89PNG",
            caption="c",
            taken_at=dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
            meta=inventory.models.PhotoMeta(iso=100),
        )
    assert seen == [
        "valid: ['file', 'mapping']",
        "valid: ['file']",
        "valid: ['caption', 'image', 'meta', 'takenAt']",
    ]


async def test_the_contract_check_refuses_a_wrong_body() -> None:
    """The same check catches a body the spec does not allow (the contract can fail)."""
    seen: list[str] = []
    accepted = contract_server(COLDSEND_SPEC, seen, lambda _: web.json_response({"job_id": JOB}))
    async with serve(accepted) as url, aiohttp.ClientSession() as session:
        form = aiohttp.FormData()
        form.add_field("mapping", json.dumps({"email": 5}), content_type="application/json")
        form.add_field("file", b"email\n", content_type="text/csv", filename="leads.csv")
        await session.post(
            f"{url}/api/public/v1/campaigns/{CAMPAIGN}/leads", data=form, headers={"X-API-Key": KEY}
        )
    [error] = seen
    assert "Request body validation error" in error and "5 is not of type 'string'" in error


# -- retries ------------------------------------------------------------------------------


def _open(path: Path) -> list[str]:
    """This process's open file descriptors on `path`."""
    fds = Path("/proc/self/fd")
    return [fd.name for fd in fds.iterdir() if os.path.realpath(fd) == str(path.resolve())]


async def test_bytes_and_paths_are_sent_again_whole_after_a_503(tmp_path: Path) -> None:
    leads = tmp_path / "leads.csv"
    leads.write_bytes(CSV)
    state = Uploads(statuses=[503, 200, 503])
    async with serve(upload_server(state)) as url, coldsend(url) as client:
        first = await client.upload_leads_with_response(
            CAMPAIGN, file=CSV, mapping={"email": "email"}
        )
        second = await client.upload_leads_with_response(CAMPAIGN, file=leads)
        # aiohttp closes each attempt's file in a worker thread, right after the attempt
        await eventually(lambda: _open(leads) == [], "every attempt's file closed")
    assert (first.attempts, second.attempts) == (2, 2)
    sent = [parts["file"] for parts in state.requests]
    assert [(s.size, s.sha256) for s in sent] == [(len(CSV), sha(CSV))] * 4
    assert [sorted(parts) for parts in state.requests[:2]] == [["file", "mapping"]] * 2


async def test_an_async_iterable_read_by_a_failed_attempt_is_not_sent_again() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield CSV[:10]
        yield CSV[10:]

    state, events = Uploads(statuses=[503]), Recorder()
    async with serve(upload_server(state)) as url, coldsend(url, event_hooks=[events]) as client:
        with pytest.raises(BodyNotReplayableError) as caught:
            await client.upload_leads(CAMPAIGN, file=chunks())
    error = caught.value
    assert isinstance(error.cause, InternalServerError) and error.cause.status == 503
    assert "the part 'file' was an async iterable, read by the failed attempt" in str(error)
    assert "pass bytes or a path to let the client retry" in str(error)
    assert len(state.requests) == 1  # not repeated, silently or otherwise
    assert events.of(RetryScheduled) == []


async def test_an_async_iterable_not_read_yet_is_sent_on_the_retry() -> None:
    """The first attempt cannot connect (nothing listens yet): the stream was not touched."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    state = Uploads()
    runner = web.AppRunner(web.Application(), handle_signals=False)
    runner.app.router.add_route("*", "/{tail:.*}", upload_server(state))
    await runner.setup()

    def listen_after_the_refusal(event: object) -> None:
        if isinstance(event, RequestFailed) and not event.sent:
            listener.listen(8)  # from now on connections queue; the site serves them

    async def chunks() -> AsyncIterator[bytes]:
        yield CSV

    try:
        async with coldsend(url, event_hooks=[listen_after_the_refusal]) as client:
            upload = asyncio.create_task(client.upload_leads_with_response(CAMPAIGN, file=chunks()))
            while (
                not upload.done()
                and listener.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 0
            ):
                await asyncio.sleep(0.001)
            await web.SockSite(runner, listener).start()
            response = await upload
    finally:
        await runner.cleanup()
    assert response.attempts == 2
    [parts] = state.requests
    assert (parts["file"].size, parts["file"].sha256) == (len(CSV), sha(CSV))


# -- streaming ------------------------------------------------------------------------------

MIB = 1024 * 1024
LARGE = 48 * MIB


@pytest.mark.slow
async def test_a_large_file_part_is_streamed_not_read_whole(tmp_path: Path) -> None:
    """48 MiB from a path and from an async iterable: the client's peak allocation (traced,
    the server's included) stays a small fraction of the file."""
    big = tmp_path / "big.csv"
    with big.open("wb") as out:
        for i in range(LARGE // MIB):
            out.write(bytes([65 + i % 26]) * MIB)
    expected = hashlib.sha256(big.read_bytes()).hexdigest()

    async def from_disk() -> AsyncIterator[bytes]:
        with big.open("rb") as source:
            while chunk := source.read(MIB):
                yield chunk

    state, peaks = Uploads(), []
    async with serve(upload_server(state)) as url, coldsend(url) as client:
        for content in (big, from_disk()):
            tracemalloc.start()
            try:
                await client.upload_leads(CAMPAIGN, file=content)
                peaks.append(tracemalloc.get_traced_memory()[1])
            finally:
                tracemalloc.stop()
    assert [(p["file"].size, p["file"].sha256) for p in state.requests] == [(LARGE, expected)] * 2
    assert all(peak < 8 * MIB for peak in peaks), peaks


# -- secrets ----------------------------------------------------------------------------------


async def test_a_failed_upload_shows_the_key_nowhere() -> None:
    """A server that quotes the key back, in a refusal and in a 503 that stops a stream."""

    statuses = [401, 503]

    async def echo(request: web.Request) -> web.StreamResponse:
        await read_parts(request)
        key = request.headers["X-API-Key"]
        return web.json_response({"detail": f"refused for {key}"}, status=statuses.pop(0))

    async def chunks() -> AsyncIterator[bytes]:
        yield CSV

    async with serve(echo) as url, coldsend(url) as client:
        with pytest.raises(AuthenticationError) as refused:
            await client.upload_leads(CAMPAIGN, file=CSV, mapping={"email": "email"})
        with pytest.raises(BodyNotReplayableError) as stopped:
            await client.upload_leads(CAMPAIGN, file=chunks())
    for error in (refused.value, stopped.value):
        text = shown(error)
        assert "***" in text and KEY not in text
