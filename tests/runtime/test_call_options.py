"""Each call's options (`timeout=`, `retry=`, `extra_headers=`) and `with_options`: what they
change, what they refuse, and that clients made with it share one session and one limiter."""

from __future__ import annotations

import asyncio
import inspect
import json
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from multidict import CIMultiDict

from leadkit.apis.breakcold.client import BreakcoldClient
from leadkit.apis.coldsend.client import ColdsendClient
from leadkit.bulk import Outcome, bulk_create
from leadkit.runtime import BaseClient, RateLimitPolicy, RetryPolicy, Window
from leadkit.runtime.errors import (
    APITimeoutError,
    InternalServerError,
    OutcomeUnknownError,
    RateLimitError,
)
from leadkit.sandbox import Sandbox, SandboxConfig
from tests.golden.expected.inventory.client import InventoryClient
from tests.transport_support import CAMPAIGN, FAST, KEY, coldsend, lead_json, serve

BODY = {"email": "ada@example.com"}
CLIENTS = (ColdsendClient, BreakcoldClient, InventoryClient)


class Echo:
    """Answers each create 201 after `failures` 503s; keeps the headers of each request and
    the most requests it held at once."""

    def __init__(self, failures: int = 0, delay: float = 0.0) -> None:
        self.failures = failures
        self.delay = delay
        self.seen: list[CIMultiDict[str]] = []
        self.active = self.peak = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.seen.append(request.headers.copy())
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.active -= 1
        if len(self.seen) <= self.failures:
            return web.json_response({"detail": "busy"}, status=503)
        email = json.loads(await request.read())["email"]
        return web.json_response(lead_json(email), status=201)

    def header(self, name: str) -> list[str]:
        """Every value of header `name` the last request carried (a repeat would show)."""
        return self.seen[-1].getall(name, [])


def _methods(client: type[BaseClient]) -> list[tuple[str, Any]]:
    return [
        (name, method)
        for name, method in vars(client).items()
        if inspect.iscoroutinefunction(method) and not name.startswith("_")
    ]


@pytest.mark.parametrize("client", CLIENTS, ids=lambda c: c.__name__)
def test_every_generated_method_takes_the_call_options_keyword_only(
    client: type[BaseClient],
) -> None:
    options = inspect.signature(BaseClient.with_options, eval_str=True).parameters
    methods = _methods(client)
    assert len(methods) >= 2
    for name, method in methods:
        params = inspect.signature(method).parameters
        for option in ("timeout", "retry", "extra_headers"):
            param = params[option]
            assert param.kind is inspect.Parameter.KEYWORD_ONLY, (name, option)
            assert (param.default, param.annotation) == (None, options[option].annotation)


@pytest.mark.parametrize("client", CLIENTS[:2], ids=lambda c: c.__name__)
def test_bulk_methods_take_bulk_creates_options_typed(client: type[BaseClient]) -> None:
    wanted = [
        (p.name, p.annotation, p.default)
        for p in inspect.signature(bulk_create, eval_str=True).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name != "path_params"
    ]
    bulk = [method for name, method in vars(client).items() if name.endswith("_bulk")]
    assert bulk
    for method in bulk:
        params = inspect.signature(method).parameters.values()  # evaluated: no __future__
        keyword = [(p.name, p.annotation, p.default) for p in params if p.kind is p.KEYWORD_ONLY]
        assert keyword == wanted
        assert all(p.kind is not p.VAR_KEYWORD for p in params)


async def test_extra_headers_go_with_that_call_only_and_replace_a_header_in_any_case() -> None:
    server = Echo()
    async with serve(server.handle) as url, coldsend(url) as client:
        extra = {"X-Trace": "t-1", "user-agent": "mine/1.0"}
        await client.add_lead(CAMPAIGN, body=BODY, extra_headers=extra)
        assert (server.header("X-Trace"), server.header("User-Agent")) == (["t-1"], ["mine/1.0"])
        assert server.header("X-API-Key") == [KEY]
        await client.add_lead(CAMPAIGN, body=BODY)
        assert server.header("X-Trace") == []
        assert server.header("User-Agent")[0].startswith("leadkit/")


@pytest.mark.parametrize("name", ["X-API-Key", "x-api-key", "X-API-KEY"])
async def test_extra_headers_cannot_replace_the_key_and_never_show_the_value(name: str) -> None:
    server, other_key = Echo(), "cs_live_an0ther-k3y-that-must-not-show"
    async with serve(server.handle) as url, coldsend(url) as client:
        with pytest.raises(ValueError, match=f"cannot set {name}: the client sends its API key"):
            await client.add_lead(CAMPAIGN, body=BODY, extra_headers={name: other_key})
        with pytest.raises(ValueError) as caught:
            client.with_options(extra_headers={name: other_key})
    assert other_key not in str(caught.value) and other_key not in repr(caught.value)
    assert server.seen == []  # nothing was sent


@pytest.mark.parametrize(
    ("headers", "error"),
    [
        ({"X-Trace": "a\r\nX-Injected: 1"}, "X-Trace'\\]: the value must be a string without"),
        ({"X-Trace": 42}, "X-Trace'\\]: the value must be a string"),
        ({"Bad Name": "v"}, "a header name must be a non-empty string"),
        ({"": "v"}, "a header name must be a non-empty string"),
    ],
)
async def test_extra_headers_that_cannot_be_sent_are_refused_naming_the_header(
    headers: dict[str, Any], error: str
) -> None:
    async with serve(Echo().handle) as url, coldsend(url) as client:
        with pytest.raises(ValueError, match=error) as caught:
            await client.add_lead(CAMPAIGN, body=BODY, extra_headers=headers)
    assert "Injected" not in str(caught.value)


async def test_extra_header_values_show_in_no_repr() -> None:
    secret = "Bearer s3cr3t-proxy-t0ken"
    async with serve(Echo().handle) as url, coldsend(url) as client:
        derived = client.with_options(extra_headers={"Proxy-Authorization": secret})
        shown = f"{derived!r} {derived._options!r} {derived.rate_limiter!r}"
    assert "Proxy-Authorization" in repr(derived._options)
    assert secret not in shown and KEY not in shown


async def test_retry_false_makes_one_attempt_and_a_policy_replaces_the_clients() -> None:
    server = Echo(failures=2)
    async with serve(server.handle) as url, coldsend(url) as client:  # FAST: 4 attempts
        with pytest.raises(InternalServerError) as caught:
            await client.add_lead(CAMPAIGN, body=BODY, retry=False)
        assert (caught.value.attempts, len(server.seen)) == (1, 1)
        with pytest.raises(InternalServerError) as caught:
            await client.add_lead(CAMPAIGN, body=BODY, retry=RetryPolicy(max_attempts=1))
        assert len(server.seen) == 2
        response = await client.add_lead_with_response(CAMPAIGN, body=BODY)
        assert (response.status, response.attempts) == (201, 1)  # the 503s were spent above


async def test_a_calls_timeout_replaces_the_clients_for_that_call() -> None:
    server = Echo(delay=0.5)
    async with serve(server.handle) as url, coldsend(url, timeout=30) as client:
        with pytest.raises(OutcomeUnknownError) as caught:  # sent, then timed out
            await client.add_lead(CAMPAIGN, body=BODY, timeout=0.05, retry=False)
        assert isinstance(caught.value.cause, APITimeoutError)
        assert (await client.add_lead(CAMPAIGN, body=BODY)).email == BODY["email"]
        with pytest.raises(OutcomeUnknownError) as caught:
            await client.add_lead(
                CAMPAIGN, body=BODY, timeout=aiohttp.ClientTimeout(sock_read=0.05), retry=False
            )
        assert "timed out waiting for the response" in str(caught.value)


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"timeout": 0}, "timeout must be a positive finite number of seconds"),
        ({"timeout": float("nan")}, "timeout must be a positive finite number"),
        ({"timeout": True}, "timeout takes seconds or an aiohttp.ClientTimeout, not bool"),
        ({"retry": True}, "retry takes a RetryPolicy or False, not bool"),
        ({"retry": 3}, "retry takes a RetryPolicy or False, not int"),
        ({"extra_headers": [("X-A", "b")]}, "extra_headers takes a mapping, not list"),
    ],
)
def test_wrong_options_are_refused_saying_what_they_take(
    options: dict[str, Any], error: str
) -> None:
    with pytest.raises((TypeError, ValueError), match=error):
        coldsend("http://127.0.0.1:9").with_options(**options)


def test_with_options_keeps_what_is_not_given_and_adds_headers() -> None:
    policy = RetryPolicy(max_attempts=7, trust_conflict_status=False)
    client = coldsend("http://127.0.0.1:9", retry=policy, timeout=12)
    derived = client.with_options(extra_headers={"X-A": "1"}).with_options(
        retry=False, extra_headers={"x-a": "2", "X-B": "3"}
    )
    assert derived.retry == RetryPolicy(max_attempts=1, trust_conflict_status=False)
    assert derived.timeout == client.timeout == aiohttp.ClientTimeout(total=12)
    assert dict(derived._options.extra_headers) == {"x-a": "2", "X-B": "3"}
    assert client.retry is policy  # the client it was made from is unchanged
    assert derived.rate_limiter is client.rate_limiter


async def test_a_derived_client_shares_the_session_and_closing_it_closes_nothing_else() -> None:
    server = Echo()
    async with serve(server.handle) as url:
        client = coldsend(url)
        async with client:
            async with client.with_options(extra_headers={"X-Trace": "d"}) as derived:
                await derived.add_lead(CAMPAIGN, body=BODY)
            with pytest.raises(RuntimeError, match="ColdsendClient is closed"):
                await derived.add_lead(CAMPAIGN, body=BODY)
            await client.add_lead(CAMPAIGN, body=BODY)  # its session is still open
            other = client.with_options(timeout=5)
        with pytest.raises(RuntimeError, match=r"this one was made from \(with_options\)"):
            await other.add_lead(CAMPAIGN, body=BODY)
        async with client:  # opened again: so are the clients made from it
            await other.add_lead(CAMPAIGN, body=BODY)
    assert len(server.seen) == 3


async def test_a_derived_client_uses_the_pool_of_a_session_passed_in_and_leaves_it_open() -> None:
    server = Echo(delay=0.2)
    connector = aiohttp.TCPConnector(limit=1)
    async with serve(server.handle) as url, aiohttp.ClientSession(connector=connector) as session:
        async with coldsend(url, session=session) as client:
            derived = client.with_options(timeout=10)
            calls = [client.add_lead(CAMPAIGN, body=BODY), derived.add_lead(CAMPAIGN, body=BODY)]
            await asyncio.gather(*calls)
        assert not session.closed
    assert (len(server.seen), server.peak) == (2, 1)  # one connection for both, in turn


async def test_bulk_through_a_derived_client_follows_its_retry_policy() -> None:
    server = Echo(failures=1)
    async with serve(server.handle) as url, coldsend(url, retry=FAST) as client:
        run = client.with_options(retry=False).add_lead_bulk(CAMPAIGN, [BODY])
        [result] = [r async for r in run]
    assert (result.outcome, result.attempts, len(server.seen)) == (Outcome.FAILED, 1, 1)


SCALE = 60.0
"""Sandbox seconds per wall second."""


async def _creates(client: ColdsendClient, count: int, tag: str) -> list[str]:
    """`count` creates at once; the outcome of each: created, or the error's class name."""

    async def one(i: int) -> str:
        try:
            await client.add_lead(CAMPAIGN, body={"email": f"{tag}{i}@example.com"})
        except RateLimitError as error:
            return type(error).__name__
        return "created"

    return await asyncio.gather(*(one(i) for i in range(count)))


@pytest.mark.parametrize("shared", [True, False], ids=["with_options", "two-clients"])
async def test_two_clients_from_one_pace_as_one_against_the_sandbox(shared: bool) -> None:
    """One limiter's windows hold across a client and one made from it: the sandbox refuses
    none; two separate clients, each keeping the window, overrun it together.

    The clients' window is a fifth longer than the sandbox's: its window starts when the
    first request arrives, a little after the client counts it sent.
    """
    config = SandboxConfig(time_scale=SCALE, enforce_windows=("4/30s",))
    policy = RateLimitPolicy(windows=(Window(limit=4, seconds=1.2 * 30 / SCALE),))
    async with Sandbox(config, port=0) as sb:
        url, key = sb.base_url("coldsend"), sb.api_key("coldsend")
        first = ColdsendClient(api_key=key, base_url=url, rate_limit=policy, retry=False)
        async with first:
            if shared:
                second = first.with_options(extra_headers={"X-Trace": "second"})
            else:
                second = ColdsendClient(api_key=key, base_url=url, rate_limit=policy, retry=False)
            async with second:
                outcomes = await asyncio.gather(_creates(first, 6, "a"), _creates(second, 6, "b"))
        refused = sb.stats["status:429"]
    everything = outcomes[0] + outcomes[1]
    if shared:
        assert everything == ["created"] * 12
        assert refused == 0
    else:
        assert everything.count("RateLimitError") == refused > 0
