"""The x-rate-limit declaration: every key read, every mistake named; the delays it points to."""

from __future__ import annotations

from typing import Any

import pytest

from leadkit.apis.breakcold.client import BreakcoldClient
from leadkit.apis.coldsend.client import ColdsendClient
from leadkit.runtime.api import RateLimitPolicy, Window, rate_limit_from_spec
from leadkit.runtime.retry import pointed_delay, server_delay

WINDOWS = {"windows": [{"limit": 60, "seconds": 60}]}


def test_the_specs_declare_where_each_api_puts_its_429_delay() -> None:
    breakcold, coldsend = BreakcoldClient.api.rate_limit, ColdsendClient.api.rate_limit
    assert breakcold is not None and coldsend is not None
    assert (breakcold.retry_after_body_pointer, breakcold.retry_after_body_unit) == (
        "/error/retryAfterMs",
        "ms",
    )
    assert coldsend.retry_after_body_pattern == r"Retry after (\d+) seconds"


def test_a_body_pointer_is_read_with_its_unit() -> None:
    policy = rate_limit_from_spec(
        {**WINDOWS, "retry-after-body": {"pointer": "/error/retryAfterMs", "unit": "ms"}}
    )
    assert policy == RateLimitPolicy(
        (Window(60, 60.0),),
        retry_after_body_pointer="/error/retryAfterMs",
        retry_after_body_unit="ms",
    )
    seconds = rate_limit_from_spec({**WINDOWS, "retry-after-body": {"pointer": "/wait"}})
    assert seconds is not None and seconds.retry_after_body_unit == "s"


@pytest.mark.parametrize(
    ("declared", "message"),
    [
        (
            {**WINDOWS, "retry-after-body-pointer": "/error/retryAfterMs"},
            "unknown key(s) retry-after-body-pointer; known: windows, headers, reset, "
            "retry-after-body-pattern, retry-after-body",
        ),
        (
            {**WINDOWS, "retry-after-body": "/error/retryAfterMs"},
            "retry-after-body must be a mapping: {pointer: /error/retryAfterMs, unit: ms}",
        ),
        (
            {**WINDOWS, "retry-after-body": {"pointer": "error.retryAfterMs"}},
            "retry-after-body needs pointer: a JSON pointer such as /error/retryAfterMs, "
            "not 'error.retryAfterMs'",
        ),
        (
            {**WINDOWS, "retry-after-body": {"unit": "ms"}},
            "retry-after-body needs pointer: a JSON pointer such as /error/retryAfterMs, not None",
        ),
        (
            {**WINDOWS, "retry-after-body": {"pointer": "/a~b"}},
            "retry-after-body pointer '/a~b': '~' must be written ~0, '/' ~1",
        ),
        (
            {**WINDOWS, "retry-after-body": {"pointer": "/wait", "unit": "minutes"}},
            "retry-after-body unit must be one of s, ms, not 'minutes'",
        ),
        (
            {**WINDOWS, "retry-after-body": {"pointer": "/wait", "units": "ms"}},
            "retry-after-body takes pointer and unit, not units",
        ),
        (
            {**WINDOWS, "headers": {"limits": "X-RateLimit-Limit"}},
            "headers must map limit, remaining and reset to header names",
        ),
    ],
)
def test_a_wrong_declaration_is_refused_saying_what_is_wrong(declared: Any, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        rate_limit_from_spec(declared)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("body", "pointer", "unit", "expected"),
    [
        ({"error": {"retryAfterMs": 12000}}, "/error/retryAfterMs", "ms", 12.0),
        ({"error": {"retryAfterMs": "1500"}}, "/error/retryAfterMs", "ms", 1.5),
        ({"wait": 3}, "/wait", "s", 3.0),
        ({"a/b": {"~c": 2}}, "/a~1b/~0c", "s", 2.0),
        ({"waits": [5, 7]}, "/waits/1", "s", 7.0),
        ({"error": {"retryAfterMs": -5}}, "/error/retryAfterMs", "ms", None),
        ({"error": {"retryAfterMs": True}}, "/error/retryAfterMs", "ms", None),
        ({"error": {"retryAfterMs": "soon"}}, "/error/retryAfterMs", "ms", None),
        ({"error": "rate_limited"}, "/error/retryAfterMs", "ms", None),
        ({"waits": [5]}, "/waits/3", "s", None),
        (None, "/error/retryAfterMs", "ms", None),
    ],
)
def test_a_delay_is_found_at_its_pointer_or_not_at_all(
    body: Any, pointer: str, unit: Any, expected: float | None
) -> None:
    assert pointed_delay(body, pointer, unit) == expected


def test_the_pointer_comes_after_the_headers_and_before_the_pattern() -> None:
    policy = RateLimitPolicy(
        (Window(60, 60.0),),
        retry_after_body_pattern=r"after (\d+)",
        retry_after_body_pointer="/error/retryAfterMs",
        retry_after_body_unit="ms",
    )
    body = {"error": {"retryAfterMs": 2500}}
    assert server_delay({}, "after 9", policy, 0.0, body=body) == 2.5
    assert server_delay({"Retry-After": "4"}, "after 9", policy, 0.0, body=body) == 4.0
    assert server_delay({"X-RateLimit-Reset": "6"}, "", policy, 0.0, body=body) == 6.0
    assert server_delay({}, "after 9", policy, 0.0, body={}) == 9.0
    assert server_delay({"Retry-After": "-3"}, "", policy, 0.0, body=body) == 2.5
