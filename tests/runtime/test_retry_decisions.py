"""The retry decisions as pure functions: no network, no clock, no randomness."""

from __future__ import annotations

import time
from email.utils import formatdate
from typing import Any

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from leadkit.apis.breakcold.client import API as BREAKCOLD
from leadkit.apis.breakcold.client import CREATE_LEAD
from leadkit.apis.coldsend.client import ADD_LEAD
from leadkit.apis.coldsend.client import API as COLDSEND
from leadkit.runtime.api import OperationSpec
from leadkit.runtime.errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    APITLSError,
    ResponseValidationError,
    error_class_for_status,
)
from leadkit.runtime.retry import (
    RetryPolicy,
    backoff_delay,
    body_delay,
    decide,
    failure_kind,
    header_value,
    is_own_duplicate,
    outcome_is_unknown,
    reset_delay,
    retries_ambiguous,
    retry_after_delay,
    server_delay,
)

NOW = 1_750_000_000.0
GET_LEAD: OperationSpec[Any] = OperationSpec(
    name="get_lead", method="GET", path="/lead/{id}", body_type=None, success={200: None}, errors={}
)


def status_error(status: int, headers: dict[str, str] | None = None, text: str = "") -> APIError:
    return error_class_for_status(status)(
        operation="POST /x", status=status, headers=headers or {}, body=None, snippet=text
    )


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (APIConnectionError("refused", operation="POST /x", sent=False), "not-sent"),
        (APITimeoutError("connect timeout", operation="POST /x", sent=False), "not-sent"),
        (APITimeoutError("read timeout", operation="POST /x", sent=True), "ambiguous"),
        (APIConnectionError("reset", operation="POST /x", sent=True), "ambiguous"),
        (APITLSError("bad certificate", operation="POST /x", sent=False), "final"),
        (status_error(429), "rate-limited"),
        (status_error(503), "unavailable"),
        (status_error(500), "ambiguous"),
        (status_error(502), "ambiguous"),
        (status_error(504), "ambiguous"),
        (status_error(501), "final"),
        (status_error(400), "final"),
        (status_error(409), "final"),
        (status_error(422), "final"),
        (ResponseValidationError("bad", operation="POST /x", status=200, snippet=""), "final"),
    ],
)
def test_failure_kind_says_whether_the_server_may_have_acted(error: APIError, kind: str) -> None:
    assert failure_kind(error) == kind


def test_ambiguous_failures_are_repeated_only_when_that_is_safe() -> None:
    assert retries_ambiguous(ADD_LEAD)  # Coldsend declares 409 for a duplicate email
    assert not retries_ambiguous(ADD_LEAD, RetryPolicy(trust_conflict_status=False))
    assert not retries_ambiguous(CREATE_LEAD)  # Breakcold declares no conflict status
    assert retries_ambiguous(GET_LEAD)


def test_a_conflict_is_our_own_duplicate_only_after_an_ambiguous_attempt() -> None:
    conflict = status_error(409)
    assert is_own_duplicate(conflict, ADD_LEAD, ambiguous_before=True)
    assert not is_own_duplicate(conflict, ADD_LEAD, ambiguous_before=False)
    assert not is_own_duplicate(conflict, CREATE_LEAD, ambiguous_before=True)
    assert not is_own_duplicate(status_error(422), ADD_LEAD, ambiguous_before=True)


def test_giving_up_after_an_ambiguous_attempt_leaves_the_outcome_unknown() -> None:
    assert outcome_is_unknown("POST", ambiguous_seen=True)  # even if a 422 comes later
    assert not outcome_is_unknown("POST", ambiguous_seen=False)
    assert not outcome_is_unknown("GET", ambiguous_seen=True)


@pytest.mark.parametrize(
    ("attempt", "draw", "expected"),
    [(1, 0.5, 0.25), (2, 0.5, 0.5), (3, 0.999, 1.998), (10, 1.0, 30.0), (4, 0.0, 0.0)],
)
def test_backoff_is_full_jitter_under_a_capped_exponential(
    attempt: int, draw: float, expected: float
) -> None:
    assert backoff_delay(RetryPolicy(), attempt, draw) == pytest.approx(expected)


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after_delay("7", NOW) == 7.0
    assert retry_after_delay(" 1.5 ", NOW) == 1.5
    assert retry_after_delay(formatdate(NOW + 30, usegmt=True), NOW) == pytest.approx(30.0)
    assert retry_after_delay(formatdate(NOW - 30, usegmt=True), NOW) == 0.0
    asctime = time.asctime(time.gmtime(NOW + 30))  # "Sun Nov  6 08:49:37 1994", no zone
    assert retry_after_delay(asctime, NOW) == pytest.approx(30.0)
    assert retry_after_delay("soon", NOW) is None


def test_reset_is_read_with_the_meaning_the_spec_declares() -> None:
    assert reset_delay(str(int(NOW) + 42), "unix-timestamp", NOW) == pytest.approx(42.0)
    assert reset_delay("42", "delta-seconds", NOW) == 42.0
    assert reset_delay(str(int(NOW) - 5), "unix-timestamp", NOW) == 0.0
    assert reset_delay(str(int(NOW) + 42), None, NOW) == pytest.approx(42.0)  # no spec: guess
    assert reset_delay("42", None, NOW) == 42.0
    assert reset_delay("later", "delta-seconds", NOW) is None


def test_the_delay_in_a_429_body_is_found_by_the_spec_pattern() -> None:
    pattern = COLDSEND.rate_limit.retry_after_body_pattern if COLDSEND.rate_limit else None
    body = '{"detail":"Rate limit exceeded. Retry after 60 seconds."}'
    assert body_delay(body, pattern) == 60.0
    assert body_delay('{"detail":"Rate limit exceeded."}', pattern) is None
    assert body_delay(body, None) is None


def test_server_delay_prefers_retry_after_then_reset_then_body() -> None:
    cold, breakcold = COLDSEND.rate_limit, BREAKCOLD.rate_limit
    body = "Rate limit exceeded. Retry after 60 seconds."
    reset = {"x-ratelimit-reset": str(int(NOW) + 20)}
    assert server_delay({"Retry-After": "3", **reset}, body, cold, NOW) == 3.0
    assert server_delay(reset, body, cold, NOW) == pytest.approx(20.0)
    assert server_delay({}, body, cold, NOW) == 60.0
    assert server_delay({"X-RateLimit-Reset": "20"}, "", breakcold, NOW) == 20.0
    assert server_delay({}, body, breakcold, NOW) is None  # Breakcold declares no body pattern


def test_header_lookup_ignores_case() -> None:
    assert header_value({"x-ratelimit-remaining": "3"}, "X-RateLimit-Remaining") == "3"
    assert header_value({}, "Retry-After") is None
    received = CIMultiDictProxy(CIMultiDict({"x-ratelimit-remaining": "4"}))  # as aiohttp gives
    assert header_value(received, "X-RateLimit-Remaining") == "4"
    assert header_value(received, "Retry-After") is None


POLICY = RetryPolicy(max_attempts=3, max_elapsed=10.0, backoff_base=1.0, backoff_cap=8.0)


def test_decide_retries_with_the_server_delay_or_backoff() -> None:
    asked = decide(
        POLICY,
        kind="rate-limited",
        safe_to_repeat=False,
        attempt=1,
        elapsed=0,
        requested=4.0,
        draw=0.5,
    )
    assert (asked.retry, asked.delay) == (True, 4.0)
    backoff = decide(
        POLICY,
        kind="not-sent",
        safe_to_repeat=False,
        attempt=2,
        elapsed=0,
        requested=None,
        draw=0.5,
    )
    assert (backoff.retry, backoff.delay) == (True, 1.0)


@pytest.mark.parametrize(
    ("kind", "safe", "attempt", "elapsed", "requested", "why"),
    [
        ("final", True, 1, 0.0, None, "not retryable"),
        ("ambiguous", False, 1, 0.0, None, "not safe to repeat"),
        ("not-sent", True, 3, 0.0, None, "after 3 attempts"),
        ("rate-limited", True, 1, 7.0, 4.0, "max_elapsed"),
    ],
)
def test_decide_gives_up_and_says_why(
    kind: Any, safe: bool, attempt: int, elapsed: float, requested: float | None, why: str
) -> None:
    decision = decide(
        POLICY,
        kind=kind,
        safe_to_repeat=safe,
        attempt=attempt,
        elapsed=elapsed,
        requested=requested,
        draw=0.5,
    )
    assert not decision.retry
    assert why in decision.reason


def test_ambiguous_failures_of_a_safe_operation_are_retried() -> None:
    decision = decide(
        POLICY, kind="ambiguous", safe_to_repeat=True, attempt=1, elapsed=0, requested=None, draw=0
    )
    assert decision.retry


def test_retry_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)


def test_attempts_show_in_the_error_text() -> None:
    error = status_error(500)
    assert "attempts" not in str(error)
    error.attempts = 4
    assert str(error).endswith("(after 4 attempts)")
    assert isinstance(error, APIStatusError)
