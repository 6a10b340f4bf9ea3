"""A hostile or odd server never leaks the key, never crashes a call with the wrong error."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiohttp import web

from leadkit.apis.coldsend.client import ADD_LEAD, ColdsendClient
from leadkit.runtime import RetryPolicy, errors
from leadkit.runtime.api import RateLimitPolicy, Window
from leadkit.runtime.retry import server_delay
from leadkit.runtime.transport import MAX_RESPONSE_BYTES
from tests.transport_support import CAMPAIGN, KEY, coldsend, lead_json, serve

BODY = {"email": "ada@example.com"}
NOW = 1_750_000_000.0


async def fail(request: web.Request) -> web.Response:
    return web.Response(status=500)


async def test_a_redirect_is_not_followed_so_the_key_stays_with_the_api() -> None:
    stolen: list[str] = []

    async def thief(request: web.Request) -> web.Response:
        stolen.append(request.headers.get("X-API-Key", ""))
        return web.json_response(lead_json("ada@example.com"), status=201)

    async with serve(thief) as elsewhere:

        async def redirect(request: web.Request) -> web.Response:
            raise web.HTTPTemporaryRedirect(elsewhere.replace("127.0.0.1", "localhost") + "/x")

        async with serve(redirect) as url, coldsend(url) as client:
            with pytest.raises(errors.APIStatusError) as caught:
                await client.add_lead(CAMPAIGN, body=BODY)
    assert caught.value.status == 307
    assert stolen == []
    assert KEY not in str(caught.value)


async def test_a_session_that_raises_for_status_still_gets_typed_errors() -> None:
    async def refuse(request: web.Request) -> web.Response:
        return web.json_response({"detail": "Missing required scopes"}, status=403)

    async with serve(refuse) as url, aiohttp.ClientSession(raise_for_status=True) as session:
        with pytest.raises(errors.PermissionDeniedError):
            await coldsend(url, session=session).add_lead(CAMPAIGN, body=BODY)


@pytest.mark.parametrize("remaining", ["1e400", "inf", "nan", "-inf"])
async def test_absurd_rate_limit_headers_do_not_break_a_successful_create(remaining: str) -> None:
    async def create(request: web.Request) -> web.Response:
        headers = {"X-RateLimit-Remaining": remaining, "X-RateLimit-Reset": "1e400"}
        return web.json_response(lead_json("ada@example.com"), status=201, headers=headers)

    async with serve(create) as url, coldsend(url) as client:
        lead = await client.add_lead(CAMPAIGN, body=BODY)
    assert lead.email == "ada@example.com"


@pytest.mark.parametrize("status", [201, 500])
async def test_json_nested_too_deep_is_a_typed_error(status: int) -> None:
    async def deep(request: web.Request) -> web.Response:
        return web.Response(status=status, body=b"[" * 100_000, content_type="application/json")

    async with serve(deep) as url, coldsend(url) as client:
        with pytest.raises(errors.APIError) as caught:
            await client.add_lead(CAMPAIGN, body=BODY)
    expected = errors.ResponseValidationError if status == 201 else errors.OutcomeUnknownError
    assert type(caught.value) is expected


@pytest.mark.parametrize("status", [202, 204])
async def test_an_undeclared_success_is_a_response_validation_error_not_a_failure(
    status: int,
) -> None:
    async def accept(request: web.Request) -> web.Response:
        return web.Response(status=status)

    async with serve(accept) as url, coldsend(url) as client:
        with pytest.raises(errors.ResponseValidationError, match=f"answered {status}") as caught:
            await client.add_lead(CAMPAIGN, body=BODY)
    assert caught.value.status == status


async def test_a_huge_error_message_is_cut_in_the_error_text_but_kept_in_the_body() -> None:
    detail = "x" * 100_000

    async def refuse(request: web.Request) -> web.Response:
        return web.json_response({"detail": detail}, status=403)

    async with serve(refuse) as url, coldsend(url) as client:
        with pytest.raises(errors.PermissionDeniedError) as caught:
            await client.add_lead(CAMPAIGN, body=BODY)
    assert len(str(caught.value)) < 1_000
    assert caught.value.body.detail == detail


async def test_a_failing_before_send_hook_gives_the_rate_limit_slot_back() -> None:
    async with serve(fail) as url, coldsend(url) as client:

        def broken() -> None:
            raise OSError("disk full")

        for _ in range(3):
            with pytest.raises(OSError, match="disk full"):
                await client.call(
                    ADD_LEAD,
                    path_params={"campaign_id": CAMPAIGN},
                    body=BODY,
                    before_send=broken,
                )
        assert client._sender.limiter._outstanding == []


@pytest.mark.parametrize(
    "timeout",
    [aiohttp.ClientTimeout(total=0.2), aiohttp.ClientTimeout(sock_read=0.2)],
    ids=["total", "sock-read"],
)
async def test_a_timeout_error_says_what_timed_out_without_empty_brackets(
    timeout: aiohttp.ClientTimeout,
) -> None:
    async def stall(request: web.Request) -> web.Response:
        await asyncio.sleep(1)
        return web.json_response(lead_json("ada@example.com"), status=201)

    retry = RetryPolicy(max_attempts=1)
    async with serve(stall) as url, coldsend(url, timeout=timeout, retry=retry) as client:
        with pytest.raises(errors.OutcomeUnknownError) as caught:
            await client.add_lead(CAMPAIGN, body=BODY)
    text = str(caught.value.cause)
    assert isinstance(caught.value.cause, errors.APITimeoutError)
    assert "timed out waiting for the response" in text
    assert "()" not in text and not text.endswith(" ")


@pytest.mark.parametrize("key", [KEY + "\n", " " + KEY, KEY[:5] + "\x00" + KEY[5:]])
def test_a_key_with_whitespace_or_control_characters_is_refused_at_once(key: str) -> None:
    with pytest.raises(ValueError, match="whitespace or a control character") as caught:
        ColdsendClient(api_key=key, base_url="http://127.0.0.1:1")
    assert KEY not in str(caught.value)


def test_a_503_waits_for_retry_after_only_never_for_the_rate_window_reset() -> None:
    reset = {"X-RateLimit-Reset": str(NOW + 44.7)}
    assert server_delay(reset, "", None, NOW, rate_limited=False) is None
    assert server_delay(reset, "", None, NOW) == pytest.approx(44.7)


def test_a_reset_already_past_falls_back_to_the_body_then_backoff() -> None:
    past = {"X-RateLimit-Reset": str(NOW - 5)}
    body, pattern = "Retry after 60 seconds", r"Retry after (\d+)"
    policy = RateLimitPolicy(
        (Window(100, 60.0),), reset_kind="unix-timestamp", retry_after_body_pattern=pattern
    )
    assert server_delay(past, body, policy, NOW) == 60.0
    assert server_delay(past, "", policy, NOW) is None
    skewed = {"X-RateLimit-Reset": str(NOW + 3600)}  # capped at the longest window
    assert server_delay(skewed, "", policy, NOW) == 60.0


@pytest.mark.parametrize("how", ["declared", "chunked", "gzip"])
@pytest.mark.parametrize("status", [201, 500])
async def test_a_body_too_long_to_read_is_a_typed_error_not_a_memory_blowup(
    how: str, status: int
) -> None:
    huge = b'{"detail": "' + b"x" * (MAX_RESPONSE_BYTES + 10) + b'"}'

    async def flood(request: web.Request) -> web.StreamResponse:
        if how == "declared":
            return web.Response(status=status, body=huge, content_type="application/json")
        response = web.StreamResponse(status=status, headers={"Content-Type": "application/json"})
        if how == "gzip":
            response.enable_compression(web.ContentCoding.gzip)
        else:
            response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(huge), 1 << 20):
            await response.write(huge[start : start + (1 << 20)])
        await response.write_eof()
        return response

    async with serve(flood) as url, coldsend(url) as client:
        with pytest.raises(errors.APIError) as caught:
            await client.add_lead(CAMPAIGN, body=BODY)
    error = caught.value
    if status == 201:
        assert isinstance(error, errors.ResponseValidationError)
        assert "too long to read" in str(error)
    else:
        assert isinstance(error, errors.OutcomeUnknownError)
        assert isinstance(error.cause, errors.InternalServerError)
        assert "too long to read" in str(error.cause) and error.cause.body is None
