"""Retry decisions as small pure functions: what failed, whether to try again, and when.

Strategy, by what is known about the failed attempt:

================================  =====================================================
failure                           decision
================================  =====================================================
not sent (refused, DNS, connect   retry after backoff, any method: the server never
timeout)                          saw the request
429                               every task of the client pauses until the delay the
                                  server asked for (``Retry-After``, ``X-RateLimit-Reset``
                                  read as the spec declares, the delay in the body at
                                  the spec's JSON pointer or matching its pattern),
                                  else backoff; then retry
503                               retry after the server's delay, else backoff
ambiguous (sent, then read        idempotent method (GET, PUT, DELETE, ...): retry.
timeout / reset / 500 / 502 /     Operation that declares a de-duplication conflict
504, JSON or HTML body)          status (Coldsend: 409): retry, and a conflict that
                                  follows an ambiguous attempt raises
                                  `AlreadyExistsError`: an earlier attempt created it.
                                  Any other operation (Breakcold's create): no retry,
                                  `OutcomeUnknownError` says the record may exist.
TLS / certificate failure         no retry: it will not fix itself
2xx whose body is cut, malformed  no retry: the server did it. `ResponseValidationError`
or not the declared one           with the status, even after an ambiguous attempt
any other status                  no retry, the typed error is raised
================================  =====================================================

A conflict on the first attempt, or after only unambiguous ones, is a plain
`ConflictError` (the record existed before the call). Giving up (attempts or time
spent) after an ambiguous attempt raises `OutcomeUnknownError`, never the last plain
error, so a record the server may hold is never reported as simply failed. Backoff is
full jitter: uniform in [0, min(cap, base * 2**(attempt-1))).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any, Literal, TypeGuard

import attrs
from multidict import CIMultiDict, CIMultiDictProxy

from .api import DelayUnit, OperationSpec, RateLimitPolicy, ResetKind
from .errors import APIConnectionError, APIError, APIStatusError, APITLSError

__all__ = [
    "DEFAULT_RETRY",
    "IDEMPOTENT_METHODS",
    "Decision",
    "FailureKind",
    "RetryPolicy",
    "backoff_delay",
    "body_delay",
    "conflict_status",
    "decide",
    "failure_kind",
    "header_value",
    "is_own_duplicate",
    "outcome_is_unknown",
    "pointed_delay",
    "reset_delay",
    "reset_seconds",
    "retries_ambiguous",
    "retry_after_delay",
    "seconds_value",
    "server_clock",
    "server_delay",
]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
FailureKind = Literal["not-sent", "rate-limited", "unavailable", "ambiguous", "final"]
_AMBIGUOUS_STATUSES = frozenset({500, 502, 504})
_TIMESTAMP_FLOOR = 1_000_000_000.0
"""A Reset value this large is a Unix timestamp, whatever else it could mean."""


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How hard a client tries: attempts, total time, and full-jitter backoff bounds.

    `max_elapsed` bounds the seconds from the first attempt to the start of the last;
    the wait for a rate-limit slot before the first attempt is not counted, so calls
    queued behind a paced limiter do not fail for waiting their turn.

    `trust_conflict_status`: a create whose spec declares a conflict status (x-dedupe) is
    repeated after an ambiguous failure, trusting the server to answer a repeat of a
    record it already made with that status; the bulk loader likewise resends rows left
    in flight. False never repeats a create that may have been applied, for an API whose
    duplicate answer is not trusted (Coldsend's 409 for a duplicate email is inferred).
    """

    max_attempts: int = attrs.field(default=5, validator=attrs.validators.ge(1))
    max_elapsed: float = attrs.field(default=300.0, validator=attrs.validators.ge(0))
    backoff_base: float = attrs.field(default=0.5, validator=attrs.validators.ge(0))
    backoff_cap: float = attrs.field(default=30.0, validator=attrs.validators.ge(0))
    trust_conflict_status: bool = True


DEFAULT_RETRY = RetryPolicy()


@attrs.frozen
class Decision:
    """Retry after `delay` seconds, or give up; `reason` is logged and sent in events."""

    retry: bool
    reason: str
    delay: float = 0.0


def header_value(headers: Mapping[str, str], name: str) -> str | None:
    """A header's value, matching its name without regard to case."""
    if name in headers:
        return headers[name]
    if isinstance(headers, CIMultiDictProxy | CIMultiDict):
        return None  # aiohttp's headers: the lookup above already ignored case
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), None)


def failure_kind(error: APIError) -> FailureKind:
    """What a failed attempt says about whether the server acted on the request."""
    if isinstance(error, APITLSError):
        return "final"
    if isinstance(error, APIConnectionError):
        return "ambiguous" if error.sent else "not-sent"
    if isinstance(error, APIStatusError):
        if error.status == 429:
            return "rate-limited"
        if error.status == 503:
            return "unavailable"
        if error.status in _AMBIGUOUS_STATUSES:
            return "ambiguous"
    return "final"


def retries_ambiguous(op: OperationSpec[Any], policy: RetryPolicy = DEFAULT_RETRY) -> bool:
    """Whether repeating `op` after an ambiguous failure can neither duplicate nor drop."""
    if op.method.upper() in IDEMPOTENT_METHODS:
        return True
    return policy.trust_conflict_status and conflict_status(op) is not None


def conflict_status(op: OperationSpec[Any]) -> int | None:
    """The status by which `op`'s server says "this record already exists", if declared."""
    return op.dedupe.conflict_status if op.dedupe else None


def is_own_duplicate(
    error: APIError, op: OperationSpec[Any], ambiguous_before: bool
) -> TypeGuard[APIStatusError]:
    """Whether `error` is the dedupe conflict caused by an earlier ambiguous attempt."""
    conflict = conflict_status(op)
    return (
        ambiguous_before
        and conflict is not None
        and isinstance(error, APIStatusError)
        and error.status == conflict
    )


def outcome_is_unknown(method: str, ambiguous_seen: bool) -> bool:
    """Whether giving up now leaves a non-idempotent call possibly applied: an earlier
    attempt was ambiguous, and no later answer (not even a 4xx) undoes what it did."""
    return ambiguous_seen and method.upper() not in IDEMPOTENT_METHODS


def backoff_delay(policy: RetryPolicy, attempt: int, draw: float) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2**(attempt-1))); `draw` is in [0, 1)."""
    ceiling = min(policy.backoff_cap, policy.backoff_base * 2.0 ** (attempt - 1))
    return ceiling * draw


def seconds_value(value: Any) -> float | None:
    """A header's or a body's number as seconds: finite and not negative, else None
    (``-1``, ``nan``, ``inf``, words and booleans cannot be a delay, a count or a time)."""
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if type(value) not in (int, float):
        return None
    return float(value) if 0 <= value < math.inf else None  # NaN fails the comparison


def _http_date(value: str) -> float | None:
    """An HTTP date as a Unix time (in any of its three forms; all are GMT, the asctime one
    says so only by convention)."""
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return when.replace(tzinfo=when.tzinfo or dt.UTC).timestamp()


def retry_after_delay(value: str, now: float) -> float | None:
    """Seconds asked by a ``Retry-After`` value: a number of seconds or an HTTP date."""
    if (seconds := seconds_value(value)) is not None:
        return seconds
    when = _http_date(value)
    return None if when is None else max(0.0, when - now)


SKEW_TOLERANCE = 5.0
"""Seconds by which this machine's clock and a response's Date may differ before a Unix
timestamp in that response is read against the Date (which has whole seconds only)."""


def server_clock(headers: Mapping[str, str], now: float) -> float:
    """The server's Unix time as its ``Date`` header gives it, when this machine's clock
    (`now`) is more than SKEW_TOLERANCE seconds off it; else `now`."""
    date = header_value(headers, "Date")
    said = _http_date(date) if date is not None else None
    if said is None or abs(said + 0.5 - now) <= SKEW_TOLERANCE:
        return now
    return said + 0.5  # the middle of the second Date names


def reset_delay(value: str, kind: ResetKind | None, now: float) -> float | None:
    """Seconds until a rate-limit Reset value, read as `kind` (None: guess by magnitude)."""
    number = seconds_value(value)
    if number is None:
        return None
    if kind == "unix-timestamp" or (kind is None and number >= _TIMESTAMP_FLOOR):
        return max(0.0, number - now)
    return number


def reset_seconds(
    headers: Mapping[str, str], policy: RateLimitPolicy | None, now: float
) -> float | None:
    """Seconds until the Reset a response announces (read as the spec says), if it says one.

    A Unix timestamp is read against the server's clock (`server_clock`).
    """
    value = header_value(headers, policy.reset_header if policy else "X-RateLimit-Reset")
    if value is None:
        return None
    kind = policy.reset_kind if policy else None
    return reset_delay(value, kind, now if kind == "delta-seconds" else server_clock(headers, now))


def body_delay(text: str, pattern: str | None) -> float | None:
    """Seconds written in an error body, found by the spec's pattern (first group)."""
    if not pattern or not text:
        return None
    match = re.search(pattern, text)
    if match is None or not match.groups():
        return None
    return seconds_value(match.group(1))


def pointed_delay(body: Any, pointer: str | None, unit: DelayUnit = "s") -> float | None:
    """Seconds given in a decoded JSON error body at a JSON pointer (RFC 6901), in `unit`."""
    if not pointer:
        return None
    for token in pointer.split("/")[1:]:
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(body, dict):
            body = body.get(token)
        elif isinstance(body, list) and token.isdigit() and int(token) < len(body):
            body = body[int(token)]
        else:
            return None
    number = seconds_value(body)
    return None if number is None else number / 1000 if unit == "ms" else number


def server_delay(
    headers: Mapping[str, str],
    body_text: str,
    policy: RateLimitPolicy | None,
    now: float | None = None,
    *,
    body: Any = None,
    rate_limited: bool = True,
) -> float | None:
    """The delay the server asked for: Retry-After, then the Reset header, then the body
    (the spec's JSON pointer into the decoded `body`, then its pattern over `body_text`).

    The Reset header counts only for a 429 (`rate_limited`; on a 503 it tells when the
    rate window resets, not when the service is back) and only while it is in the
    future; it is capped at the longest window of `policy`, so a Reset that was not
    believed as a window (beyond the ceiling) cannot stall the client.
    """
    now = time.time() if now is None else now
    retry_after = header_value(headers, "Retry-After")
    if retry_after is not None and (delay := retry_after_delay(retry_after, now)) is not None:
        return delay
    if rate_limited and (delay := reset_seconds(headers, policy, now)):
        return min(delay, policy.horizon) if policy else delay
    if policy is None:
        return None
    pointed = pointed_delay(body, policy.retry_after_body_pointer, policy.retry_after_body_unit)
    return (
        pointed if pointed is not None else body_delay(body_text, policy.retry_after_body_pattern)
    )


def decide(
    policy: RetryPolicy,
    *,
    kind: FailureKind,
    safe_to_repeat: bool,
    attempt: int,
    elapsed: float,
    requested: float | None,
    draw: float,
) -> Decision:
    """Whether to try again after attempt number `attempt` failed with `kind`.

    `safe_to_repeat` is `retries_ambiguous(op)`; `requested` is the server's delay;
    `draw` is a uniform random number in [0, 1) for the jitter.
    """
    if kind == "final":
        return Decision(False, "not retryable")
    if kind == "ambiguous" and not safe_to_repeat:
        return Decision(False, "ambiguous failure on an operation that is not safe to repeat")
    if attempt >= policy.max_attempts:
        return Decision(False, f"{kind}: gave up after {attempt} attempts")
    delay = requested if requested is not None else backoff_delay(policy, attempt, draw)
    if elapsed + delay > policy.max_elapsed:
        return Decision(
            False, f"{kind}: a retry in {delay:.3g}s would pass max_elapsed={policy.max_elapsed}s"
        )
    source = "server asked" if requested is not None else "backoff"
    return Decision(True, f"{kind} ({source})", delay)
