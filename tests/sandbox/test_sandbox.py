"""The sandbox, driven over real HTTP on 127.0.0.1: by the generated clients and by raw requests."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import re
import sqlite3
import threading
import time
import urllib.parse
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from jsonschema import Draft202012Validator

from leadkit.apis.breakcold import BreakcoldClient
from leadkit.apis.breakcold.spec import SPEC as BREAKCOLD_SPEC
from leadkit.apis.coldsend import ColdsendClient, models
from leadkit.apis.coldsend.spec import SPEC as COLDSEND_SPEC
from leadkit.codegen.build import build_api
from leadkit.codegen.contract import contract
from leadkit.codegen.load import LoadedSpec
from leadkit.runtime.api import Window
from leadkit.runtime.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    ConflictError,
    InternalServerError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
)
from leadkit.runtime.retry import RetryPolicy
from leadkit.sandbox import FaultConfig, Sandbox, SandboxConfig
from leadkit.sandbox.dialects import FastApiDialect, retry_after_text
from leadkit.sandbox.ratelimit import Clock, RateLimiter
from leadkit.sandbox.spec import load_api, read_api
from leadkit.sandbox.storage import SqliteStore
from tests.waiting import eventually

CS_KEY = "cs_live_test"
BC_KEY = "bc_test"
SPECS = {"coldsend": COLDSEND_SPEC, "breakcold": BREAKCOLD_SPEC}
COLDSEND_PATH = "/api/public/v1/campaigns/{}/leads/manual"


def conforms(api: str, schema: str, body: Any) -> list[str]:
    """Messages of everything in `body` that does not match the spec's schema `schema`."""
    root = Draft202012Validator(SPECS[api], format_checker=Draft202012Validator.FORMAT_CHECKER)
    validator = root.evolve(schema={"$ref": f"#/components/schemas/{schema}"})
    return [error.message for error in validator.iter_errors(body)]


def coldsend(sb: Sandbox, key: str = CS_KEY, **kwargs: Any) -> ColdsendClient:
    """A client that sends each call once and does not pace itself: faults reach the test."""
    options: dict[str, Any] = {"retry": RetryPolicy(max_attempts=1), "rate_limit": False}
    return ColdsendClient(api_key=key, base_url=sb.base_url("coldsend"), **options | kwargs)


def breakcold(sb: Sandbox, key: str = BC_KEY) -> BreakcoldClient:
    """Like `coldsend`, for Breakcold."""
    return BreakcoldClient(
        api_key=key,
        base_url=sb.base_url("breakcold"),
        retry=RetryPolicy(max_attempts=1),
        rate_limit=False,
    )


def transport_error(exc: APIError) -> APIConnectionError:
    """The connection error behind `exc` (an outcome-unknown error wraps it as `cause`)."""
    cause = getattr(exc, "cause", exc)
    assert isinstance(cause, APIConnectionError), repr(exc)
    return cause


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp session for what a generated client refuses to send."""
    async with aiohttp.ClientSession() as session:
        yield session


async def post(
    http: aiohttp.ClientSession, url: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], Any]:
    """POST JSON (or raw bytes, labelled JSON unless `headers` say otherwise).

    Return status, headers and the decoded body.
    """
    data = body if isinstance(body, bytes) else None
    payload = None if isinstance(body, bytes) else body
    sent = {"Content-Type": "application/json", **(headers or {})} if data else headers or {}
    async with http.post(url, json=payload, data=data, headers=sent) as response:
        return response.status, dict(response.headers), await response.json()


def cs_url(sb: Sandbox, campaign: object = None) -> str:
    return sb.base_url("coldsend") + COLDSEND_PATH.format(campaign or uuid.uuid4())


# --- success -----------------------------------------------------------------------------------


async def test_coldsend_success_is_stored_and_conforms(sandbox: Sandbox) -> None:
    campaign = uuid.uuid4()
    async with coldsend(sandbox) as client:
        response = await client.add_lead_with_response(
            campaign, body=models.ManualLeadRequest(email="ada@example.com", first_name="Ada")
        )
    lead = response.parsed
    assert response.status == 200
    assert (lead.email, lead.first_name, lead.status, lead.sequence_step) == (
        "ada@example.com",
        "Ada",
        "PENDING",
        0,
    )
    assert response.headers["X-RateLimit-Limit"] == "100"
    assert response.headers["X-RateLimit-Remaining"] == "99"
    reset = int(response.headers["X-RateLimit-Reset"])
    assert time.time() < reset <= time.time() + 61  # a Unix timestamp, as the spec says
    (stored,) = sandbox.leads("coldsend")
    assert stored["campaign_id"] == str(campaign)
    assert stored["lead_id"] == str(lead.lead_id)
    assert conforms("coldsend", "LeadResponse", stored) == []


async def test_breakcold_success_coerces_and_conforms(sandbox: Sandbox) -> None:
    async with breakcold(sandbox) as client:
        response = await client.create_lead_with_response(
            body={"email": "google", "contract_value": "5000", "is_company": True}
        )
    assert response.status == 200
    assert (response.parsed.email, response.parsed.contract_value) == ("google", 5000)
    assert response.parsed.is_company is True
    assert response.headers["X-RateLimit-Reset"] == "60"  # seconds until reset
    (stored,) = sandbox.leads("breakcold")
    assert conforms("breakcold", "Lead", stored) == []


# --- auth --------------------------------------------------------------------------------------


async def test_coldsend_401_texts(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    status, _, body = await post(http, cs_url(sandbox), {"email": "a@b.co"})
    assert (status, body) == (
        401,
        {"detail": "API key required. Include your API key in X-API-Key header."},
    )
    async with coldsend(sandbox, key="sk_not_coldsend") as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.add_lead(uuid.uuid4(), body={"email": "a@b.co"})
    assert caught.value.body.detail == "Invalid or revoked API key"
    assert "sk_not_coldsend" not in str(caught.value)
    assert sandbox.leads("coldsend") == []


async def test_breakcold_401_is_a_trpc_error(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    status, _, body = await post(http, sandbox.base_url("breakcold") + "/lead", {"email": "x"})
    assert status == 401
    assert body["code"] == body["data"]["code"] == "UNAUTHORIZED"
    assert body["data"] == {"code": "UNAUTHORIZED", "httpStatus": 401, "path": "lead.create"}
    assert conforms("breakcold", "ErrorBody", body) == []


async def test_coldsend_readonly_key_is_403(sandbox: Sandbox) -> None:
    async with coldsend(sandbox, key="cs_live_readonly") as client:
        with pytest.raises(PermissionDeniedError) as caught:
            await client.add_lead(uuid.uuid4(), body={"email": "a@b.co"})
    body = caught.value.body
    assert (body.error, body.required) == ("insufficient_scopes", ["leads:create"])
    assert body.detail == "Missing required scopes: leads:create"
    assert sandbox.leads("coldsend") == []


async def test_a_readonly_key_is_read_only_for_its_own_api_only() -> None:
    config = SandboxConfig(readonly_keys={"breakcold": frozenset({"cs_live_shared"})})
    async with Sandbox() as sb, breakcold(sb, key="cs_live_readonly") as client:
        created = await client.create_lead(body={"email": "a@b.co"})
    assert created.email == "a@b.co"  # the Coldsend read-only key is just a key to Breakcold
    async with Sandbox(config) as sb:
        async with breakcold(sb, key="cs_live_shared") as client:
            with pytest.raises(PermissionDeniedError) as caught:
                await client.create_lead(body={"email": "a@b.co"})
        async with coldsend(sb, key="cs_live_shared") as client:
            await client.add_lead(uuid.uuid4(), body={"email": "a@b.co"})
        assert caught.value.body.code == "FORBIDDEN"
        assert [lead["email"] for lead in sb.leads("coldsend")] == ["a@b.co"]
        assert sb.leads("breakcold") == []


# --- duplicates --------------------------------------------------------------------------------


async def test_coldsend_duplicate_email_in_campaign_is_409(sandbox: Sandbox) -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    async with coldsend(sandbox) as client:
        await client.add_lead(first, body={"email": "dup@example.com"})
        with pytest.raises(ConflictError) as caught:
            await client.add_lead(first, body={"email": "DUP@example.com "})
        await client.add_lead(second, body={"email": "dup@example.com"})
    assert caught.value.status == 409
    assert caught.value.body.detail == "Resource already exists"
    assert sorted(r["campaign_id"] for r in sandbox.leads("coldsend")) == sorted(
        [str(first), str(second)]
    )


@pytest.mark.parametrize(("policy", "stored"), [("allow", 2), ("reject", 1)])
async def test_breakcold_duplicates_follow_the_setting(policy: Any, stored: int) -> None:
    async with (
        Sandbox(SandboxConfig(duplicates={"breakcold": policy})) as sb,
        breakcold(sb) as client,
    ):
        await client.create_lead(body={"email": "same@example.com"})
        if policy == "reject":
            with pytest.raises(ConflictError) as caught:
                await client.create_lead(body={"email": "same@example.com"})
            assert caught.value.body.code == "CONFLICT"
        else:
            await client.create_lead(body={"email": "same@example.com"})
        assert len(sb.leads("breakcold")) == stored


# --- validation --------------------------------------------------------------------------------


async def test_coldsend_422_detail_items(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    headers = {"X-API-Key": CS_KEY}
    status, _, body = await post(http, cs_url(sandbox), {"first_name": 3}, headers)
    assert status == 422
    assert body["detail"] == [
        {"type": "missing", "loc": ["body", "email"], "msg": "Field required"},
        {
            "type": "string_type",
            "loc": ["body", "first_name"],
            "msg": "Input should be a valid string",
            "input": 3,
        },
    ]
    assert conforms("coldsend", "HTTPError", body) == []
    status, _, body = await post(http, cs_url(sandbox), b"{not json", headers)
    assert (status, body["detail"][0]["type"]) == (422, "json_invalid")
    assert sandbox.leads("coldsend") == []


async def test_coldsend_bad_campaign_id_reaches_the_client_as_422(sandbox: Sandbox) -> None:
    async with coldsend(sandbox) as client:
        with pytest.raises(UnprocessableEntityError) as caught:
            await client.add_lead("not-a-uuid", body={"email": "a@b.co"})
    (error,) = caught.value.field_errors
    assert (error.location, error.type) == (("path", "campaign_id"), "uuid_parsing")


async def test_breakcold_400_issues(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    url = sandbox.base_url("breakcold") + "/lead"
    body_sent = {"email": 5, "contract_currency": "XXX"}
    status, _, body = await post(http, url, body_sent, {"X-API-KEY": BC_KEY})
    assert status == 400
    assert (body["code"], body["message"]) == ("BAD_REQUEST", "Input validation failed")
    issues = {tuple(issue["path"]): issue for issue in body["issues"]}
    assert issues[("email",)]["message"] == "Expected string, received number"
    assert issues[("contract_currency",)]["code"] == "invalid_enum_value"
    assert conforms("breakcold", "ErrorBody", body) == []


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
async def test_a_body_not_labelled_json_is_refused_as_each_api_would(
    sandbox: Sandbox, http: aiohttp.ClientSession, content_type: str | None
) -> None:
    raw = b'{"email": "a@x.io"}'
    label = {"Content-Type": content_type} if content_type else {}
    skip = () if content_type else ("Content-Type",)  # aiohttp would add octet-stream

    async def send(url: str, key: dict[str, str]) -> tuple[int, Any]:
        async with http.post(url, data=raw, headers=key | label, skip_auto_headers=skip) as sent:
            return sent.status, await sent.json()

    status, body = await send(cs_url(sandbox), {"X-API-Key": CS_KEY})
    assert (status, body) == (
        422,
        {
            "detail": [
                {
                    "type": "model_attributes_type",
                    "loc": ["body"],
                    "msg": "Input should be a valid dictionary or object to extract fields from",
                    "input": raw.decode(),
                }
            ]
        },
    )
    status, body = await send(sandbox.base_url("breakcold") + "/lead", {"X-API-KEY": BC_KEY})
    said = f'Unsupported content-type "{content_type}"' if content_type else None
    assert (status, body["code"]) == (400, "BAD_REQUEST")
    assert body["issues"] == [
        {"code": "custom", "path": [], "message": said or "Missing content-type header"}
    ]
    assert conforms("breakcold", "ErrorBody", body) == []
    assert sandbox.leads("coldsend") == sandbox.leads("breakcold") == []


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "Application/JSON", "application/x+json"]
)
async def test_every_json_content_type_is_read(
    sandbox: Sandbox, http: aiohttp.ClientSession, content_type: str
) -> None:
    headers = {"X-API-Key": CS_KEY, "Content-Type": content_type}
    status, _, body = await post(http, cs_url(sandbox), b'{"email": "a@x.io"}', headers)
    assert (status, body["email"]) == (200, "a@x.io")


# --- rate limits -------------------------------------------------------------------------------


async def test_coldsend_429_after_100_per_minute(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    headers, url = {"X-API-Key": CS_KEY}, cs_url(sandbox)
    statuses = [
        (await post(http, url, {"email": f"l{i}@example.com"}, headers))[0] for i in range(100)
    ]
    assert statuses == [200] * 100
    async with coldsend(sandbox) as client:
        with pytest.raises(RateLimitError) as caught:
            await client.add_lead(uuid.uuid4(), body={"email": "late@example.com"})
    detail = caught.value.body.detail
    pattern = COLDSEND_SPEC["x-rate-limit"]["retry-after-body-pattern"]
    match = re.search(pattern, detail)
    assert detail.startswith("Rate limit exceeded. ") and match, detail
    assert 1 <= int(match.group(1)) <= 60
    assert caught.value.headers["X-RateLimit-Remaining"] == "0"
    assert int(caught.value.headers["X-RateLimit-Reset"]) >= time.time()
    assert len(sandbox.leads("coldsend")) == 100
    assert sandbox.stats["status:429"] == 1


async def test_time_scale_runs_a_window_in_a_second(http: aiohttp.ClientSession) -> None:
    async with Sandbox(SandboxConfig(time_scale=60.0)) as sb:
        url, headers = sb.base_url("breakcold") + "/lead", {"X-API-KEY": BC_KEY}
        for _ in range(60):
            await post(http, url, {}, headers)
        status, response_headers, body = await post(http, url, {}, headers)
        assert (status, body["code"]) == (429, "TOO_MANY_REQUESTS")
        # a time-scaled sandbox reports wall seconds to the millisecond (real time: whole ones)
        reset = float(response_headers["X-RateLimit-Reset"])
        assert 0 < reset <= 1.0
        await asyncio.sleep(reset + 0.05)  # the window the sandbox announced, passing
        status, response_headers, _ = await post(http, url, {}, headers)
        assert (status, response_headers["X-RateLimit-Remaining"]) == (200, "59")


async def test_enforced_windows_replace_the_specs_in_what_is_enforced_and_announced(
    http: aiohttp.ClientSession,
) -> None:
    config = SandboxConfig(time_scale=60.0, enforce_windows=("3/2m",))
    assert config.enforce_windows == (Window(3, 120.0),)
    async with Sandbox(config) as sb:
        for url, headers in (
            (sb.base_url("breakcold") + "/lead", {"X-API-KEY": BC_KEY}),
            (
                f"{sb.base_url('coldsend')}/api/public/v1/campaigns/{uuid.uuid4()}/leads/manual",
                {"X-API-Key": CS_KEY},
            ),
        ):
            answers = [await post(http, url, {"email": "a@b.co"}, headers) for _ in range(4)]
            statuses = [status for status, _, _ in answers]
            assert statuses[3] == 429 and 429 not in statuses[:3]
            first = answers[0][1]
            assert (first["X-RateLimit-Limit"], first["X-RateLimit-Remaining"]) == ("3", "2")
            reset = float(first["X-RateLimit-Reset"])  # 2 sandbox minutes: 2 wall seconds
            if reset > 1e9:  # Coldsend: a Unix timestamp
                reset -= time.time()
            assert 1.8 < reset <= 2.0


def test_enforce_windows_must_be_windows() -> None:
    with pytest.raises(ValueError, match="'60/60' is not a rate-limit window"):
        SandboxConfig(enforce_windows=("60/60",))
    with pytest.raises(TypeError, match="a sequence of windows"):
        SandboxConfig(enforce_windows="60/60s")  # type: ignore[arg-type]


def test_hourly_window_outlasts_the_minute_window() -> None:
    now = [0.0]
    policy = load_api("coldsend").rate_limit
    assert policy is not None
    limiter = RateLimiter(policy, Clock(monotonic=lambda: now[0]))
    for minute in range(10):
        now[0] = minute * 60.0
        assert all(limiter.hit("k").allowed for _ in range(100))
        assert not limiter.hit("k").allowed
    now[0] = 600.0
    decision = limiter.hit("k")
    assert (decision.allowed, decision.limit, decision.remaining) == (False, 1000, 0)
    assert decision.reset_after == pytest.approx(3000.0)
    now[0] = 3600.0
    assert limiter.hit("k").allowed


def test_the_limiter_forgets_a_key_once_all_its_windows_ended() -> None:
    now = [0.0]
    policy = load_api("coldsend").rate_limit  # 100 a minute, 1,000 an hour
    assert policy is not None
    limiter = RateLimiter(policy, Clock(monotonic=lambda: now[0]))
    for i in range(50):
        limiter.hit(f"seen-once-{i}")
    now[0] = 1.0
    limiter.hit("hourly")
    now[0] = 3599.0
    assert all(limiter.hit("busy").allowed for _ in range(100))
    assert limiter.tracked == 52
    now[0] = 3600.0  # every window of the seen-once keys has ended; hourly's hour has not
    assert not limiter.hit("busy").allowed  # busy's minute is still full
    assert limiter.tracked == 2
    now[0] = 3601.0
    assert limiter.hit("seen-once-0").remaining == 99  # a forgotten key starts afresh
    assert limiter.tracked == 3


def test_retry_after_text_follows_the_spec_pattern() -> None:
    pattern = COLDSEND_SPEC["x-rate-limit"]["retry-after-body-pattern"]
    assert retry_after_text(pattern, 42) == "Retry after 42 seconds"
    assert retry_after_text(None, 42) == ""


# --- faults ------------------------------------------------------------------------------------


def faulty(**faults: Any) -> Sandbox:
    return Sandbox(SandboxConfig(faults=FaultConfig(**faults)))


async def test_error_5xx_stores_nothing() -> None:
    async with faulty(error_5xx=1.0) as sb, coldsend(sb) as client:
        with pytest.raises(APIError) as caught:
            await client.add_lead(uuid.uuid4(), body={"email": "a@b.co"})
        error = getattr(caught.value, "cause", caught.value)
        assert isinstance(error, InternalServerError)
        assert error.status in (500, 502, 503)
        reason = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}
        assert str(error).endswith(f"{error.status} InternalServerError: {reason[error.status]}")
        assert sb.leads("coldsend") == []
        assert sb.stats["fault:error_5xx"] >= 1


async def test_malformed_is_an_html_502() -> None:
    async with faulty(malformed=1.0) as sb, breakcold(sb) as client:
        with pytest.raises(APIError) as caught:
            await client.create_lead(body={"email": "a@b.co"})
        error = getattr(caught.value, "cause", caught.value)
        assert isinstance(error, InternalServerError)
        assert error.status == 502
        assert error.snippet.startswith("<html>")
        assert sb.leads("breakcold") == []


async def test_rate_limit_burst_is_a_real_429() -> None:
    async with faulty(rate_limit_burst=1.0) as sb, breakcold(sb) as client:
        with pytest.raises(RateLimitError) as caught:
            await client.create_lead(body={"email": "a@b.co"})
        assert caught.value.body.code == "TOO_MANY_REQUESTS"
        assert caught.value.headers["X-RateLimit-Remaining"] == "0"
        assert caught.value.headers["X-RateLimit-Limit"] == "60"
        assert sb.leads("breakcold") == []
        assert sb.stats["fault:rate_limit_burst"] == 1


async def test_drop_before_stores_nothing() -> None:
    async with faulty(drop_before=1.0) as sb, coldsend(sb) as client:
        with pytest.raises(APIError) as caught:
            await client.add_lead(uuid.uuid4(), body={"email": "a@b.co"})
        assert transport_error(caught.value).sent
        assert sb.leads("coldsend") == []
        assert sb.stats["fault:drop_before"] == 1


async def test_drop_after_stores_the_lead_but_sends_no_response() -> None:
    async with faulty(drop_after=1.0) as sb, coldsend(sb) as client:
        with pytest.raises(APIError) as caught:
            await client.add_lead(uuid.uuid4(), body={"email": "kept@example.com"})
        assert transport_error(caught.value).sent
        assert [lead["email"] for lead in sb.leads("coldsend")] == ["kept@example.com"]
        assert sb.stats["fault:drop_after"] == 1


async def test_latency_delays_and_can_time_out() -> None:
    async with faulty(latency_ms=(150, 150)) as sb:
        async with coldsend(sb) as client:
            response = await client.add_lead_with_response(uuid.uuid4(), body={"email": "a@b.co"})
        assert response.elapsed >= 0.15
        async with coldsend(sb, timeout=0.05) as client:
            with pytest.raises(APIError) as caught:
                await client.add_lead(uuid.uuid4(), body={"email": "b@b.co"})
        assert isinstance(transport_error(caught.value), APITimeoutError)


async def test_a_reset_starts_the_seeded_faults_again(http: aiohttp.ClientSession) -> None:
    async with faulty(seed=3, error_5xx=0.5) as sb:

        async def statuses() -> list[int]:
            body, headers = {"email": "a@x.io"}, {"X-API-Key": CS_KEY}
            return [(await post(http, cs_url(sb), body, headers))[0] for _ in range(10)]

        first = await statuses()
        sb.reset()
        assert await statuses() == first
        assert len(set(first)) > 1


async def test_faults_repeat_with_the_seed(http: aiohttp.ClientSession) -> None:
    async def statuses(seed: int) -> list[int]:
        async with faulty(seed=seed, error_5xx=0.3, malformed=0.2) as sb:
            return [
                (
                    await http.post(
                        cs_url(sb), json={"email": f"{i}@x.io"}, headers={"X-API-Key": CS_KEY}
                    )
                ).status
                for i in range(20)
            ]

    first = await statuses(7)
    assert first == await statuses(7)
    assert first != await statuses(8)
    assert {200, 502} <= set(first)


def test_fault_probabilities_must_fit_in_one() -> None:
    with pytest.raises(ValueError, match=r"add up to 1\.2"):
        FaultConfig(error_5xx=0.6, drop_after=0.6)
    with pytest.raises(ValueError, match="probability"):
        FaultConfig(malformed=1.5)


# --- storage and inspection --------------------------------------------------------------------


async def test_sqlite_storage_survives_a_restart(tmp_path: Path) -> None:
    config = SandboxConfig(storage=tmp_path / "leads.sqlite")
    campaign = uuid.uuid4()
    async with Sandbox(config) as sb, coldsend(sb) as client:
        await client.add_lead(campaign, body={"email": "kept@example.com"})
    async with Sandbox(config) as sb, coldsend(sb) as client:
        assert [lead["email"] for lead in sb.leads("coldsend")] == ["kept@example.com"]
        with pytest.raises(ConflictError):
            await client.add_lead(campaign, body={"email": "kept@example.com"})


def test_two_stores_sharing_a_file_keep_a_lead_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, connect = tmp_path / "leads.sqlite", sqlite3.connect
    began = threading.Semaphore(0)  # released as a store begins a transaction

    def traced(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        def trace(statement: str) -> None:
            if statement.startswith("BEGIN"):
                began.release()

        db = connect(*args, **kwargs)
        db.set_trace_callback(trace)
        return db

    with monkeypatch.context() as patched:
        patched.setattr(sqlite3, "connect", traced)
        stores = [SqliteStore(path) for _ in range(2)]
    writer = sqlite3.connect(path, isolation_level=None)  # a third process, mid-write
    writer.execute("BEGIN IMMEDIATE")
    try:
        with ThreadPoolExecutor(2) as pool:
            inserts = [
                pool.submit(store.insert, "coldsend", "c", "a@x.io", {"n": n}, unique=True)
                for n, store in enumerate(stores)
            ]
            for _ in stores:  # both wait for the writer (a check-then-insert has checked by now)
                assert began.acquire(timeout=30), "a store did not begin its insert"
            writer.execute("ROLLBACK")
            stored = sorted(insert.result() for insert in inserts)
        assert stored == [False, True]
        assert len(stores[0].leads("coldsend")) == 1
    finally:
        writer.close()
        for store in stores:
            store.close()


async def test_a_storage_file_from_before_the_key_table_still_refuses_its_duplicates(
    tmp_path: Path,
) -> None:
    path, campaign = tmp_path / "old.sqlite", uuid.uuid4()
    with contextlib.closing(sqlite3.connect(path)) as old:
        old.execute(
            "CREATE TABLE leads (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
            " api TEXT NOT NULL, scope TEXT NOT NULL, key TEXT, record TEXT NOT NULL)"
        )
        old.execute(
            "INSERT INTO leads (api, scope, key, record) VALUES (?, ?, ?, ?)",
            ("coldsend", str(campaign), "kept@example.com", '{"email": "kept@example.com"}'),
        )
        old.commit()
    async with Sandbox(SandboxConfig(storage=path)) as sb, coldsend(sb) as client:
        with pytest.raises(ConflictError):
            await client.add_lead(campaign, body={"email": "kept@example.com"})
        assert sb.leads("coldsend") == [{"email": "kept@example.com"}]


async def test_stats_count_crashes_and_too_large_bodies(
    sandbox: Sandbox, http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = {"X-API-Key": CS_KEY, "Content-Type": "application/json"}
    huge = b" " * (1024**2 + 1)  # aiohttp's default client_max_size is 1 MiB
    async with http.post(cs_url(sandbox), data=huge, headers=headers) as response:
        assert response.status == 413

    def crash(*args: Any, **kwargs: Any) -> bool:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(sandbox.state.store, "insert", crash)
    async with http.post(cs_url(sandbox), json={"email": "a@x.io"}, headers=headers) as response:
        assert response.status == 500
    async with http.get(sandbox.url + "/_sandbox/stats") as response:
        stats = await response.json()
    assert (stats["status:413"], stats["status:500"]) == (1, 1)
    assert stats["requests"] == sum(n for name, n in stats.items() if name.startswith("status:"))


async def test_a_client_leaving_mid_body_is_counted_as_disconnected_not_500(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    target = urllib.parse.urlsplit(cs_url(sandbox))
    head = (
        f"POST {target.path} HTTP/1.1\r\nHost: {target.netloc}\r\nX-API-Key: {CS_KEY}\r\n"
        "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    )
    _, writer = await asyncio.open_connection(target.hostname, target.port)
    writer.write(head.encode() + b'{"email"')  # 8 of the 100 bytes promised, then gone
    await writer.drain()
    await eventually(lambda: sandbox.stats["requests"] == 1, "the request at the sandbox")
    writer.close()
    # the server notices the close on its own schedule
    await eventually(lambda: sandbox.stats["disconnected"] == 1, "the disconnection counted")
    async with http.get(sandbox.url + "/_sandbox/stats") as response:
        assert await response.json() == {"requests": 1, "disconnected": 1}
    assert sandbox.leads("coldsend") == []


async def test_inspection_endpoints(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    async with coldsend(sandbox) as client:
        await client.add_lead(uuid.uuid4(), body={"email": "seen@example.com"})
    async with http.get(sandbox.url + "/_sandbox/leads?api=coldsend") as response:
        assert [lead["email"] for lead in await response.json()] == ["seen@example.com"]
    async with http.get(sandbox.url + "/_sandbox/stats") as response:
        assert (await response.json())["created"] == 1
    async with http.get(sandbox.url + "/_sandbox/leads?api=nope") as response:
        assert response.status == 400
    async with http.post(sandbox.url + "/_sandbox/reset") as response:
        assert response.status == 204
    assert sandbox.leads("coldsend") == []
    assert sandbox.stats["created"] == 0


# --- derived from the spec ---------------------------------------------------------------------


async def test_a_spec_change_reaches_the_sandbox(http: aiohttp.ClientSession) -> None:
    spec = copy.deepcopy(BREAKCOLD_SPEC)
    spec["paths"]["/v4/lead"] = spec["paths"].pop("/lead")
    spec["components"]["securitySchemes"]["ApiKeyAuth"]["name"] = "X-Token"
    spec["x-rate-limit"]["windows"] = [{"limit": 2, "seconds": 60}]
    spec["components"]["schemas"]["CreateLeadRequest"]["required"] = ["email"]
    api = build_api(LoadedSpec(Path("breakcold.yaml"), "breakcold.yaml", "breakcold", spec, ""))
    async with Sandbox(apis=(read_api("breakcold", contract(api)),)) as sb:
        url, headers = sb.base_url("breakcold") + "/v4/lead", {"X-Token": BC_KEY}
        status, _, body = await post(http, url, {}, headers)
        assert (status, body["issues"][0]["path"]) == (400, ["email"])
        status, response_headers, _ = await post(http, url, {"email": "x"}, headers)
        assert (status, response_headers["X-RateLimit-Limit"]) == (200, "2")
        assert (await post(http, url, {"email": "y"}, headers))[0] == 429
        assert (await post(http, url, {"email": "y"}))[0] == 401


@pytest.mark.parametrize(
    "raw", [b"[" * 100_000, b'{"email": "a@x.io", "custom_fields": {"a": NaN}}', b"Infinity"]
)
async def test_a_body_json_cannot_carry_is_a_422_not_a_crash_nor_an_echo(
    sandbox: Sandbox, http: aiohttp.ClientSession, raw: bytes
) -> None:
    status, _, body = await post(http, cs_url(sandbox), raw, {"X-API-Key": CS_KEY})
    assert status == 422, body
    assert body["detail"][0]["type"] == "json_invalid"
    assert sandbox.leads("coldsend") == []


async def test_a_campaign_id_in_capitals_is_the_same_campaign(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    campaign, body, headers = uuid.uuid4(), {"email": "a@x.io"}, {"X-API-Key": CS_KEY}
    assert (await post(http, cs_url(sandbox, campaign), body, headers))[0] == 200
    assert (await post(http, cs_url(sandbox, str(campaign).upper()), body, headers))[0] == 409


def test_the_coldsend_429_text_is_the_documented_one() -> None:
    pattern = COLDSEND_SPEC["x-rate-limit"]["retry-after-body-pattern"]
    body = FastApiDialect().rate_limited(None, retry_after=retry_after_text(pattern, 60))  # type: ignore[arg-type]
    assert body == {"detail": "Rate limit exceeded. Retry after 60 seconds."}
