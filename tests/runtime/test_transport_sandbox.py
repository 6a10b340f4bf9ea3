"""The transport against the sandbox: each injected fault's documented outcome, 429 bursts,
and 1,000 creates with every fault switched on at once."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import Any

import attrs
import pytest

from leadkit.apis.breakcold.client import API as BREAKCOLD
from leadkit.apis.coldsend.client import API as COLDSEND
from leadkit.runtime import (
    AlreadyExistsError,
    APIError,
    BaseClient,
    OutcomeUnknownError,
    RateLimitPolicy,
    RateLimitWait,
    RequestSent,
    RetryPolicy,
    RetryScheduled,
    Window,
)
from leadkit.runtime.errors import ConflictError, InternalServerError, RateLimitError
from leadkit.sandbox import FaultConfig, Sandbox, SandboxConfig
from tests.transport_support import CAMPAIGN, Recorder, breakcold, coldsend

SCALE = 3600.0
"""Sandbox seconds per wall second: Coldsend's hour lasts one second."""


def scaled(policy: RateLimitPolicy | None) -> RateLimitPolicy:
    """The spec's rate-limit policy with its windows as short as the sandbox's."""
    assert policy is not None
    windows = tuple(Window(limit=w.limit, seconds=w.seconds / SCALE) for w in policy.windows)
    return attrs.evolve(policy, windows=windows)


def sandbox(**faults: Any) -> Sandbox:
    config = SandboxConfig(time_scale=SCALE, faults=FaultConfig(seed=0, **faults))
    return Sandbox(config, port=0)


def client_for(api: str, sb: Sandbox, **kwargs: Any) -> BaseClient:
    make: Callable[..., BaseClient] = coldsend if api == "coldsend" else breakcold
    policy = scaled(COLDSEND.rate_limit if api == "coldsend" else BREAKCOLD.rate_limit)
    return make(sb.base_url(api), rate_limit=policy, **kwargs)


async def create(client: BaseClient, email: str) -> Any:
    """One create through whichever generated client this is."""
    body = {"email": email}
    if hasattr(client, "add_lead_with_response"):
        return await client.add_lead_with_response(CAMPAIGN, body=body)
    return await client.create_lead_with_response(body=body)  # type: ignore[attr-defined]


# fault -> (Coldsend's outcome, Breakcold's outcome), every request of the run faulted
OUTCOMES: dict[str, tuple[tuple[type[Exception], int, int], tuple[type[Exception], int, int]]] = {
    # (exception, attempts, leads stored)
    "drop_before": ((OutcomeUnknownError, 3, 0), (OutcomeUnknownError, 1, 0)),
    "drop_after": ((AlreadyExistsError, 2, 1), (OutcomeUnknownError, 1, 1)),
    "malformed": ((OutcomeUnknownError, 3, 0), (OutcomeUnknownError, 1, 0)),
    "rate_limit_burst": ((RateLimitError, 3, 0), (RateLimitError, 3, 0)),
}


@pytest.mark.parametrize("api", ["coldsend", "breakcold"])
@pytest.mark.parametrize("fault", sorted(OUTCOMES))
async def test_each_fault_has_its_documented_outcome(api: str, fault: str) -> None:
    expected, attempts, stored = OUTCOMES[fault][api == "breakcold"]
    retry = RetryPolicy(max_attempts=3, backoff_base=0.01, backoff_cap=0.05)
    async with sandbox(**{fault: 1.0}) as sb, client_for(api, sb, retry=retry) as client:
        with pytest.raises(APIError) as caught:
            await create(client, "ada@example.com")
        assert type(caught.value) is expected
        assert caught.value.attempts == attempts
        assert len(sb.leads(api)) == stored
        assert sb.stats["requests"] == attempts


async def test_5xx_faults_retry_503_everywhere_and_500_502_only_where_safe() -> None:
    retry = RetryPolicy(max_attempts=10, backoff_base=0.01, backoff_cap=0.05)
    async with sandbox(error_5xx=0.5) as sb:
        async with client_for("coldsend", sb, retry=retry) as client:
            for i in range(20):
                await create(client, f"c{i}@example.com")  # every one ends created
        assert len(sb.leads("coldsend")) == 20
        sb.reset()
        outcomes: Counter[str] = Counter()
        async with client_for("breakcold", sb, retry=retry) as client:
            for i in range(40):
                try:
                    await create(client, f"b{i}@example.com")
                    outcomes["created"] += 1
                except OutcomeUnknownError as error:
                    assert isinstance(error.cause, InternalServerError)
                    assert error.cause.status in (500, 502)
                    outcomes["unknown"] += 1
        assert outcomes["created"] == len(sb.leads("breakcold"))
        assert outcomes["unknown"] == sb.stats["status:500"] + sb.stats["status:502"] > 0
        assert sb.stats["status:503"] > 0  # they were retried, not reported


async def test_under_injected_429_bursts_every_task_pauses_together() -> None:
    events = Recorder()
    async with (
        sandbox(rate_limit_burst=0.1, latency_ms=(0, 3)) as sb,
        client_for("coldsend", sb, event_hooks=[events]) as client,
    ):
        await asyncio.gather(*(create(client, f"u{i}@example.com") for i in range(50)))
        assert len(sb.leads("coldsend")) == 50
    bursts = [(t, e) for t, e in events.of(RetryScheduled) if e.reason.startswith("rate-limited")]
    assert len(bursts) >= 2
    sends = [t for t, _ in events.of(RequestSent)]
    wait_ends = [t + wait.delay for t, wait in events.of(RateLimitWait)]
    for refused_at, retry in bursts:
        resume = refused_at + retry.delay
        first_after = min(t for t in sends if t > refused_at)
        assert first_after >= resume - 0.01  # nothing goes out during the pause
        # sending resumes when the pause ends, or when a wait the limiter announced ends
        # (the 429's X-RateLimit-Reset may be later than its Retry-After)
        announced = [resume, *(end for end in wait_ends if end > refused_at)]
        assert min(abs(first_after - end) for end in announced) < 0.1


def classify(error: APIError) -> str:
    if isinstance(error, ConflictError):  # AlreadyExistsError included
        return "exists"
    return "unknown" if isinstance(error, OutcomeUnknownError) else "failed"


async def run_creates(client: BaseClient, emails: list[str]) -> dict[str, list[str]]:
    """Create every email with 50 tasks; email lists by reported outcome, reasons of failures."""
    report: dict[str, list[str]] = {"created": [], "exists": [], "unknown": [], "failed": []}
    reasons: list[str] = []
    gate = asyncio.Semaphore(50)

    async def one(email: str) -> None:
        async with gate:
            try:
                await create(client, email)
                report["created"].append(email)
            except APIError as error:
                report[classify(error)].append(email)
                reasons.append(str(error))

    await asyncio.gather(*(one(email) for email in emails))
    assert all(reasons)  # every failure says why
    return report


ALL_FAULTS = {
    "error_5xx": 0.1,
    "rate_limit_burst": 0.05,
    "latency_ms": (0, 5),
    "drop_before": 0.05,
    "drop_after": 0.05,
    "malformed": 0.05,
}


@pytest.mark.slow
async def test_1000_coldsend_creates_with_every_fault_leave_one_record_per_reported_lead() -> None:
    emails = [f"lead{i % 900}@example.com" for i in range(1000)]  # 100 true duplicates
    retry = RetryPolicy(max_attempts=10, max_elapsed=60, backoff_base=0.01, backoff_cap=0.2)
    async with sandbox(**ALL_FAULTS) as sb, client_for("coldsend", sb, retry=retry) as client:
        report = await run_creates(client, emails)
        stored = Counter(lead["email"] for lead in sb.leads("coldsend"))
        stats = sb.stats
    assert sum(len(v) for v in report.values()) == 1000
    assert all(n == 1 for n in stored.values())  # exactly one record per email
    reported = set(report["created"]) | set(report["exists"])
    assert reported <= set(stored)
    assert set(stored) - reported <= set(report["unknown"])  # never silently dropped
    assert max(Counter(report["created"]).values()) == 1  # never created twice
    assert stats["created"] == len(stored)
    assert len(report["exists"]) >= 100
    assert stats["fault:drop_after"] > 0 and stats["fault:rate_limit_burst"] > 0


async def test_breakcold_creates_with_every_fault_report_every_possible_lead_as_unknown() -> None:
    emails = [f"lead{i}@example.com" for i in range(200)]
    async with sandbox(**ALL_FAULTS) as sb, client_for("breakcold", sb) as client:
        report = await run_creates(client, emails)
        stored = Counter(lead["email"] for lead in sb.leads("breakcold"))
        stats = sb.stats
    assert all(n == 1 for n in stored.values())  # nothing was sent twice
    assert set(report["created"]) <= set(stored)
    assert set(stored) - set(report["created"]) <= set(report["unknown"])
    ambiguous = ("fault:drop_before", "fault:drop_after", "status:500", "status:502")
    assert len(report["unknown"]) == sum(stats[name] for name in ambiguous)
    assert not report["exists"] and not report["failed"]
