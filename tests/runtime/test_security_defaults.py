"""Security defaults: HTTPS outside loopback, TLS verified, and the key nowhere in any output."""

from __future__ import annotations

import logging
import ssl
import traceback
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from leadkit.apis.breakcold.client import BreakcoldClient
from leadkit.apis.coldsend.client import ColdsendClient
from leadkit.runtime import APIError
from leadkit.runtime.errors import APITLSError
from leadkit.sandbox import FaultConfig, Sandbox, SandboxConfig
from tests.processes import run
from tests.transport_support import CAMPAIGN, KEY, Recorder, coldsend, lead_json


@pytest.mark.parametrize("url", ["http://api.example.com", "http://10.0.0.7:8080"])
def test_plain_http_to_any_remote_host_needs_an_explicit_opt_out(url: str) -> None:
    with pytest.raises(ValueError, match="allow_insecure_http=True") as caught:
        ColdsendClient(api_key=KEY, base_url=url)
    assert KEY not in str(caught.value)
    assert ColdsendClient(api_key=KEY, base_url=url, allow_insecure_http=True).base_url == url


@pytest.mark.parametrize("url", ["http://localhost:1", "http://127.0.0.1:1", "http://[::1]:1"])
def test_plain_http_to_loopback_is_allowed(url: str) -> None:
    assert BreakcoldClient(api_key=KEY, base_url=url).base_url == url


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (openssl), trusted by nobody by default."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    run(
        *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
        *("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"),
        *("-keyout", key, "-out", cert),
        check=True,
    )
    return cert, key


async def test_tls_is_verified_and_a_bad_certificate_is_not_retried(
    certificate: tuple[Path, Path],
) -> None:
    cert, key = certificate
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)

    async def handler(request: web.Request) -> web.Response:
        return web.json_response(lead_json("ada@example.com"), status=201)

    app = web.Application()
    app.router.add_post("/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_context).start()
    url = f"https://127.0.0.1:{runner.addresses[0][1]}"
    try:
        async with coldsend(url) as client:
            with pytest.raises(APITLSError) as caught:
                await client.add_lead(CAMPAIGN, body={"email": "ada@example.com"})
        assert caught.value.attempts == 1
        assert "certificate verify failed" in str(caught.value)
        trusting = ssl.create_default_context(cafile=str(cert))  # the same server, trusted
        connector = aiohttp.TCPConnector(ssl=trusting)
        async with (
            aiohttp.ClientSession(connector=connector) as session,
            coldsend(url, session=session) as client,
        ):
            lead = await client.add_lead(CAMPAIGN, body={"email": "ada@example.com"})
        assert lead.email == "ada@example.com"
    finally:
        await runner.cleanup()


def texts_of(error: BaseException) -> list[str]:
    """Every text an exception can show: str, repr, its full traceback, its attributes."""
    found = [str(error), repr(error), "".join(traceback.format_exception(error))]
    for link in (error.__cause__, error.__context__, getattr(error, "cause", None)):
        if link is not None:
            found += [str(link), repr(link), repr(vars(link))]
    return [*found, repr(vars(error))]


async def test_no_log_repr_exception_or_event_of_a_failing_run_shows_the_key(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    faults = FaultConfig(
        seed=1, error_5xx=0.2, drop_before=0.2, drop_after=0.2, malformed=0.2, rate_limit_burst=0.03
    )
    events = Recorder()
    seen: list[str] = []
    async with Sandbox(SandboxConfig(time_scale=3600.0, faults=faults), port=0) as sb:
        clients: list[Any] = [
            coldsend(sb.base_url("coldsend"), event_hooks=[events]),
            BreakcoldClient(api_key=KEY, base_url=sb.base_url("breakcold"), event_hooks=[events]),
            ColdsendClient(
                api_key=KEY.replace("cs_live_", "cs_test_"), base_url=sb.base_url("coldsend")
            ),
        ]
        for client in clients:
            async with client:
                seen += [repr(client), str(client), repr(vars(client))]
                for i in range(12):
                    try:
                        if isinstance(client, BreakcoldClient):
                            result: Any = await client.create_lead_with_response(
                                body={"email": f"b{i}@example.com"}
                            )
                        else:
                            result = await client.add_lead_with_response(
                                CAMPAIGN, body={"email": f"c{i}@example.com"}
                            )
                        seen.append(repr(result))
                    except APIError as error:
                        seen += texts_of(error)
    seen += [repr(event) for _, event in events.events]
    seen += [caplog.text, *(repr(record.__dict__) for record in caplog.records)]
    assert any("OutcomeUnknownError" in text for text in seen)  # the run did fail, in many ways
    assert any("AuthenticationError" in text for text in seen)
    assert any("attempt" in record.getMessage() for record in caplog.records)
    assert len(events.events) > 30
    assert [text for text in seen if KEY in text or "s3cr3t" in text] == []
