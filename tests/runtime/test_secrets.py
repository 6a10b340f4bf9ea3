"""The key stays secret where earlier tests did not look: echoed back by a server, in a
base URL, in the locals of a traceback, in every file and line of `leadkit load`."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import subprocess
import sys
import traceback
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from rich.console import Console
from rich.traceback import Traceback

from leadkit.apis.coldsend.client import ColdsendClient
from leadkit.runtime import APIError, RetryPolicy
from leadkit.runtime.events import RequestFailed
from tests.processes import running_async
from tests.transport_support import CAMPAIGN, KEY, Recorder, coldsend, lead_json, serve

ROOT = Path(__file__).resolve().parents[2]
ONCE = RetryPolicy(max_attempts=1)


def with_locals(error: BaseException) -> str:
    """The traceback as `rich.traceback.install(show_locals=True)` prints it."""
    text = io.StringIO()
    tb = Traceback.from_exception(type(error), error, error.__traceback__, show_locals=True)
    Console(file=text, width=400).print(tb)
    return text.getvalue()


def shown(error: BaseException) -> str:
    """Everything an exception shows: text, repr, attributes, its traceback with locals."""
    texts = [str(error), repr(error), repr(vars(error)), with_locals(error)]
    texts += ["".join(traceback.format_exception(error))]
    cause = getattr(error, "cause", None)
    if cause is not None:
        texts += [str(cause), repr(vars(cause)), with_locals(cause)]
    return "\n".join(texts)


async def echo(request: web.Request) -> web.Response:
    """A server that quotes the key back: in its error texts, a header, a success field."""
    key = request.headers["X-API-Key"]
    email = (await request.json())["email"]
    headers = {"X-Echo": f"key={key}"}
    if email.startswith("401"):
        return web.json_response({"detail": f"Invalid API key: {key}"}, status=401, headers=headers)
    if email.startswith("422"):
        detail = [{"loc": ["body", "email"], "msg": f"refused for {key}", "type": "value_error"}]
        return web.json_response({"detail": detail}, status=422, headers=headers)
    if email.startswith("500"):
        return web.Response(text=f"<html>{key}</html>", status=500, content_type="text/html")
    return web.json_response({**lead_json(email), "first_name": key}, status=201, headers=headers)


@pytest.mark.parametrize("email", ["401@x.io", "422@x.io", "500@x.io"])
async def test_a_key_the_server_echoes_is_masked_in_the_error(email: str) -> None:
    async with serve(echo) as url, coldsend(url) as client:
        with pytest.raises(APIError) as caught:
            await client.add_lead(CAMPAIGN, body={"email": email})
    text = shown(caught.value)
    assert "***" in text  # the echo is there, masked
    assert KEY not in text


async def test_a_key_the_server_echoes_is_masked_in_a_success_response() -> None:
    async with serve(echo) as url, coldsend(url) as client:
        response = await client.add_lead_with_response(CAMPAIGN, body={"email": "ok@x.io"})
    assert response.parsed.first_name == "***"
    assert response.headers["x-echo"] == "key=***"  # still read case-insensitively
    assert KEY not in repr(response)


async def test_a_key_too_short_to_be_real_is_not_masked_in_what_the_server_sends() -> None:
    async with serve(echo) as url, ColdsendClient(api_key="ada", base_url=url) as client:
        lead = await client.add_lead(CAMPAIGN, body={"email": "ada@x.io"})
    assert (lead.email, lead.first_name) == ("ada@x.io", "ada")  # data, not garbled


@asynccontextmanager
async def raw_server(answer: bytes) -> AsyncIterator[str]:
    """A TCP server that answers every request with `answer`, the key in place of KEY."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        (key,) = [line[11:] for line in head.split(b"\r\n") if line.startswith(b"X-API-Key: ")]
        writer.write(answer.replace(b"KEY", key))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 2KEY OK\r\n\r\n",  # aiohttp quotes a bad status line
        b"HTTP/1.1 200 OK\r\nKEY\r\nContent-Length: 0\r\n\r\n",  # and a bad header line
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nKEY\r\n",  # and a bad chunk
    ],
)
async def test_a_key_quoted_in_a_malformed_response_is_masked(
    answer: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger: leadkit, aiohttp.*, asyncio
    asyncio.get_running_loop().set_debug(True)
    events = Recorder()
    async with raw_server(answer) as url, coldsend(url, retry=ONCE, event_hooks=[events]) as client:
        with pytest.raises(APIError) as caught:
            await client.add_lead(CAMPAIGN, body={"email": "ada@example.com"})
    (failed,) = [event for _, event in events.of(RequestFailed)]
    text = "\n".join([shown(caught.value), repr(failed), caplog.text])
    assert "***" in failed.error
    assert KEY not in text


async def test_a_response_cut_short_leaves_no_echoed_header_among_the_locals() -> None:
    answer = b"HTTP/1.1 201 Created\r\nX-Echo: KEY\r\nContent-Length: 500\r\n\r\n{"
    async with raw_server(answer) as url, coldsend(url, retry=ONCE) as client:
        with pytest.raises(APIError, match="payload is not completed") as caught:
            await client.add_lead(CAMPAIGN, body={"email": "ada@example.com"})
    assert KEY not in shown(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        KEY,  # the key given where the URL goes
        f"https://{KEY}@api.example.com",
        f"https://user:{KEY}@api.example.com",
        f"https://api.example.com/v1?api_key={KEY}",
        f"https://api.example.com/v1#{KEY}",
    ],
)
def test_a_base_url_that_is_or_holds_the_key_is_refused_without_repeating_it(url: str) -> None:
    with pytest.raises(ValueError, match="base_url") as caught:
        ColdsendClient(api_key=KEY, base_url=url)
    assert KEY not in str(caught.value)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"api_key": KEY, "base_url": "http://api.example.com"},
        {"api_key": KEY, "base_url": "ftp://api.example.com"},
        {"api_key": KEY, "event_hooks": 5},  # any later failure
        {"api_key": KEY + "\n"},
    ],
)
def test_a_construction_error_printed_with_locals_does_not_show_the_key(
    kwargs: dict[str, Any],
) -> None:
    with pytest.raises((ValueError, TypeError)) as caught:
        ColdsendClient(**kwargs)
    tb = caught.value.__traceback__
    assert tb is not None and tb.tb_next is not None
    error = caught.value.with_traceback(tb.tb_next)  # the client's frames: this one holds KEY
    assert "__init__" in with_locals(error)
    assert KEY not in with_locals(error)


def test_a_key_from_the_environment_is_not_a_local_of_a_failed_construction(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLDSEND_API_KEY", KEY)
    with pytest.raises(ValueError) as caught:
        ColdsendClient(base_url="http://api.example.com")
    assert KEY not in with_locals(caught.value)


async def _leadkit(*args: str | Path) -> tuple[int, str]:
    """`leadkit load ARGS` in a subprocess with the key in its environment; code, output."""
    async with running_async(
        sys.executable, "-m", "leadkit.cli", "load", *args, cwd=ROOT,
        env={**os.environ, "COLDSEND_API_KEY": KEY},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    ) as process:  # fmt: skip
        async with asyncio.timeout(120):
            output, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, output.decode()


async def test_a_load_against_an_echoing_server_writes_the_key_nowhere(tmp_path: Path) -> None:
    leads = tmp_path / "leads.csv"
    leads.write_text("email\nok@x.io\n422@x.io\n")
    outputs = ["--failures-out", "failed.jsonl", "--report", "report.jsonl", "--journal", "j.db"]
    async with serve(echo) as url:
        code, output = await _leadkit(
            "coldsend", leads, "--campaign-id", CAMPAIGN, "--base-url", url,
            *(str(tmp_path / name) if name[0] != "-" else name for name in outputs),
        )  # fmt: skip
    assert code == 1
    assert "refused for ***" in (tmp_path / "failed.jsonl").read_text()
    files = [path.read_bytes() for path in tmp_path.iterdir()]  # journal (and -wal) included
    assert [text for text in [output.encode(), *files] if KEY.encode() in text] == []


@pytest.mark.parametrize("url", [KEY, f"http://{KEY}@127.0.0.1:1"])
async def test_load_refuses_a_base_url_holding_the_key_without_printing_it(
    url: str, tmp_path: Path
) -> None:
    leads = tmp_path / "leads.csv"
    leads.write_text("email\nada@example.com\n")
    code, output = await _leadkit("coldsend", leads, "--campaign-id", CAMPAIGN, "--base-url", url)
    assert code == 2
    assert "base_url" in output
    assert KEY not in output
