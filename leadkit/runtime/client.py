"""BaseClient: the session, the key, and each call's attempts, pacing and typed outcome.

Retry decisions live in `leadkit.runtime.retry`, pacing in `leadkit.runtime.ratelimit`;
this module only follows them, logs each at debug level and reports `events`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import Any, ClassVar, Generic, Literal, Self, TypeVar
from urllib.parse import urlsplit

import aiohttp
import attrs

from .. import __version__
from .api import ApiDescription, OperationSpec, RateLimitPolicy, Window
from .converters import CheckedBody, check_request
from .errors import (
    AlreadyExistsError,
    APIConnectionError,
    APIError,
    APIStatusError,
    BodyNotReplayableError,
    MissingApiKeyError,
    OutcomeUnknownError,
    ResponseValidationError,
)
from .events import (
    Event,
    EventHook,
    RateLimitLearned,
    RateLimitWait,
    RequestFailed,
    RequestSent,
    ResponseReceived,
    RetryScheduled,
    emit,
)
from .learning import LearnedWindow
from .multipart import MultipartBody, encode_parts
from .paths import expand_path, path_values, query_value
from .ratelimit import RateLimiter
from .responses import parse_response
from .retry import (
    DEFAULT_RETRY,
    FailureKind,
    RetryPolicy,
    decide,
    failure_kind,
    is_own_duplicate,
    outcome_is_unknown,
    retries_ambiguous,
    server_delay,
)
from .secret import Secret
from .transport import is_loopback, pool_size, read_body, redacted, transport_error

__all__ = ["DEFAULT_TIMEOUT", "ApiResponse", "BaseClient", "expand_path", "path_values"]

T = TypeVar("T")
logger = logging.getLogger("leadkit")

DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=60, connect=10, sock_read=30)
_NO_BODY: Any = object()
_STATIC_HEADERS = {
    "Accept": "application/json",
    "Content-Type": "application/json",
    "User-Agent": f"leadkit/{__version__}",
}


@attrs.frozen
class ApiResponse(Generic[T]):
    """A parsed success response with its status code and headers."""

    status: int
    headers: Mapping[str, str]
    parsed: T
    elapsed: float
    """Seconds from sending the last attempt to reading the whole body."""
    attempts: int = 1
    """Attempts this call took, retries included."""
    learned: tuple[LearnedWindow, ...] = ()
    """Rate-limit windows this call's responses corrected (usually none), oldest first."""


@attrs.frozen(eq=False)  # one call's request: compared by identity
class _Request(Generic[T]):
    """Everything needed to send one call again; the headers hold the key, so no repr."""

    op: OperationSpec[T]
    url: str
    params: list[tuple[str, str]] | None
    headers: dict[str, str] = attrs.field(repr=False)
    payload: bytes | MultipartBody | None = attrs.field(repr=False)
    before_send: Callable[[], None] | None = None
    unsent_again: Callable[[], None] | None = None
    learned: list[LearnedWindow] = attrs.field(factory=list)
    """What the responses to this call taught the rate limiter so far."""

    @property
    def label(self) -> str:
        return f"{self.op.method} {self.op.path}"


def _limiter_policy(
    declared: RateLimitPolicy | None, override: RateLimitPolicy | Literal[False] | None
) -> RateLimitPolicy | None:
    """The spec's policy, the user's override, or (False) the spec's without windows."""
    if override is None:
        return declared
    if override is False:
        return attrs.evolve(declared, windows=()) if declared else None
    return override


class BaseClient:
    """Shared behaviour of every generated client; subclasses set `api`."""

    api: ClassVar[ApiDescription]

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        session: aiohttp.ClientSession | None = None,
        timeout: aiohttp.ClientTimeout | float = DEFAULT_TIMEOUT,
        allow_insecure_http: bool = False,
        retry: RetryPolicy = DEFAULT_RETRY,
        rate_limit: RateLimitPolicy | Literal[False] | None = None,
        event_hooks: Iterable[EventHook] = (),
    ) -> None:
        """Configure the key, base URL and transport.

        `retry` bounds the attempts of each call. `rate_limit` replaces the spec's
        rate-limit declaration (windows, header meanings); False keeps the header
        feedback and 429 pauses but drops the proactive windows. `event_hooks` are
        called with every `leadkit.runtime.events` event.
        """
        env_var = self.api.auth.env_var
        self._key = Secret(api_key if api_key is not None else os.environ.get(env_var, ""))
        del api_key  # no local holds the key itself: tracebacks printed with locals show them
        if not self._key.reveal():
            raise MissingApiKeyError(
                f"{type(self).__name__} needs an API key: pass api_key=... or set {env_var}"
            )
        if self._key.reveal() != self._key.reveal().strip() or not self._key.reveal().isprintable():
            raise ValueError(
                "the API key has surrounding whitespace or a control character "
                "(a trailing newline from a file?); pass the key alone"
            )
        self.base_url = (base_url or self.api.base_url).rstrip("/")
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(  # the value is not repeated: it may be a key in the wrong place
                "base_url must be an http(s) URL such as https://api.example.com"
            )
        if "@" in parts.netloc or parts.query or parts.fragment:
            raise ValueError(  # it would show in reprs, events and logs
                "base_url must hold no user:password@, query or fragment; pass the key as api_key"
            )
        if parts.scheme == "http" and not is_loopback(parts.hostname) and not allow_insecure_http:
            raise ValueError(
                f"refusing to send the API key over plain HTTP to {parts.hostname}; "
                "use https or pass allow_insecure_http=True"
            )
        self._timeout = (
            timeout
            if isinstance(timeout, aiohttp.ClientTimeout)
            else aiohttp.ClientTimeout(total=timeout)
        )
        self._session = session
        self._owns_session = session is None
        self._closed = False
        self._connections: asyncio.Semaphore | None = None
        """As many as the session's pool holds: a call waits here, before it counts as sent,
        and never inside aiohttp, where waiting would count against the connect timeout."""
        self._retry = retry
        self._limiter = RateLimiter(_limiter_policy(self.api.rate_limit, rate_limit))
        self._event_hooks = tuple(event_hooks)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    @property
    def rate_limit_windows(self) -> tuple[Window, ...]:
        """The windows the client paces itself to: the spec's (or `rate_limit`'s) until a
        response's rate-limit headers correct them (`RateLimitLearned` events say when)."""
        return self._limiter.windows

    async def __aenter__(self) -> Self:
        self._closed = False
        self._ensure_session()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the session if this client created it; a session passed in stays open.

        Calls made later raise RuntimeError until `async with` opens the client again.
        """
        self._closed = True
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    def _ensure_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise RuntimeError(f"{type(self).__name__} is closed; use it inside `async with`")
        if self._session is None or self._session.closed:
            if not self._owns_session:
                raise RuntimeError("the aiohttp session passed to this client is closed")
            self._session = aiohttp.ClientSession(timeout=self._timeout)
            self._connections = None
        if self._connections is None:
            self._connections = asyncio.Semaphore(pool_size(self._session.connector))
        return self._session

    def _encode_body(self, op: OperationSpec[Any], body: Any) -> bytes:
        if isinstance(body, CheckedBody):
            return body.payload
        return check_request(self.api.request_converter, body, op.body_type).payload

    def _with_parts(self, request: _Request[T], parts: Mapping[str, Any]) -> _Request[T]:
        """`request` with the multipart body of `parts`, checked; aiohttp writes its
        Content-Type, with the boundary. (No local of a frame still running when the call
        fails holds the headers: tracebacks printed with locals would show the key.)"""
        op = request.op
        body = encode_parts(self.api.request_converter, op.name, op.parts or (), parts)
        headers = {k: v for k, v in request.headers.items() if k != "Content-Type"}
        return attrs.evolve(request, payload=body, headers=headers)

    def _headers(self, extra: Mapping[str, Any] | None) -> dict[str, str]:
        auth = self.api.auth
        headers = {**_STATIC_HEADERS, auth.header: auth.prefix + self._key.reveal()}
        if extra:
            headers.update({k: query_value(v) for k, v in extra.items() if v is not None})
        return headers

    async def _request(
        self,
        op: OperationSpec[T],
        *,
        path_params: Mapping[str, Any],
        query: Mapping[str, Any] | None = None,
        headers: Mapping[str, Any] | None = None,
        body: Any = _NO_BODY,
        parts: Mapping[str, Any] | None = None,
        before_send: Callable[[], None] | None = None,
        unsent_again: Callable[[], None] | None = None,
    ) -> ApiResponse[T]:
        """Send one operation and return its parsed response, or raise an APIError.

        `body` is a JSON body; `parts` the values of a multipart body's parts, by wire name
        (`leadkit.runtime.multipart`): both are checked before anything is sent.

        `before_send` is called just before each attempt goes out, after any wait for the
        rate limiter (the bulk loader journals "sent" there); `unsent_again` when a failed
        attempt will be retried and no attempt so far can have been acted on (never sent,
        429, 503), so the call is as good as unsent until the next `before_send`.
        """
        params = [
            (name, query_value(item))
            for name, value in (query or {}).items()
            if value is not None
            for item in (value if isinstance(value, list) else [value])
        ]
        payload = None if body is _NO_BODY else self._encode_body(op, body)
        url = self.base_url + expand_path(op.path, path_values(path_params))
        request = _Request(
            op, url, params or None, self._headers(headers), payload, before_send, unsent_again
        )
        if parts is not None:
            request = self._with_parts(request, parts)
        return await self._send(request)

    async def _send(self, request: _Request[T]) -> ApiResponse[T]:
        """Attempt `request` until it succeeds or `leadkit.runtime.retry` says to stop."""
        op, label = request.op, request.label
        safe = retries_ambiguous(op, self._retry)
        ambiguous_seen = False
        first_sent: float | None = None
        attempt = 0
        while True:
            attempt += 1
            slot = self._limiter.reserve()
            if self._limiter.delay_until(slot)[0] > 0:
                await self._wait_for_slot(label, slot)
            first_sent = time.monotonic() if first_sent is None else first_sent
            try:
                response = await self._attempt(request, attempt, slot)
            except APIError as error:
                error.attempts = attempt
                if isinstance(error, ResponseValidationError):  # a 2xx: the record exists
                    raise
                if is_own_duplicate(error, op, ambiguous_seen):
                    logger.debug("%s: conflict after an ambiguous attempt: exists", label)
                    raise AlreadyExistsError.from_conflict(error) from error
                kind = failure_kind(error)
                ambiguous_seen = ambiguous_seen or kind == "ambiguous"
                requested = self._requested_delay(error, kind)
                decision = decide(
                    self._retry,
                    kind=kind,
                    safe_to_repeat=safe,
                    attempt=attempt,
                    elapsed=time.monotonic() - first_sent,
                    requested=requested,
                    draw=random.random(),
                )
                logger.debug("%s attempt %d: %s -> %s", label, attempt, kind, decision)
                body = request.payload
                spent = body.spent() if decision.retry and isinstance(body, MultipartBody) else None
                if not decision.retry or spent:
                    if kind == "rate-limited" and requested:  # this call gives up; others wait
                        self._limiter.pause(requested, f"429 on {label}")
                    if outcome_is_unknown(op.method, ambiguous_seen):
                        raise OutcomeUnknownError(error, attempts=attempt) from error
                    if spent:
                        logger.debug("%s: not retried: %s", label, spent)
                        raise BodyNotReplayableError(
                            error, reason=spent, attempts=attempt
                        ) from error
                    raise
                self._emit(
                    RetryScheduled,
                    operation=label,
                    attempt=attempt,
                    reason=decision.reason,
                    delay=decision.delay,
                )
                if not ambiguous_seen and request.unsent_again is not None:
                    request.unsent_again()  # only ambiguous failures can have been acted on
                if kind == "rate-limited":
                    self._limiter.pause(decision.delay, f"429 on {label}")
                else:
                    await asyncio.sleep(decision.delay)
            else:
                return response

    def _emit(self, event: Callable[..., Event], **fields: Any) -> None:
        """Report an event to the hooks; without hooks, not even build it (hot path)."""
        if self._event_hooks:
            emit(self._event_hooks, event(**fields))

    def _requested_delay(self, error: APIError, kind: FailureKind) -> float | None:
        if kind not in ("rate-limited", "unavailable") or not isinstance(error, APIStatusError):
            return None
        return server_delay(
            error.headers,
            error.snippet,
            self._limiter.policy,
            body=self.api.response_converter.unstructure(error.body),
            rate_limited=kind == "rate-limited",
        )

    async def _wait_for_slot(self, label: str, slot: float) -> None:
        """Sleep until the reserved `slot` starts; give it back if the wait is cancelled."""
        try:
            while (wait := self._limiter.delay_until(slot))[0] > 0:
                delay, reason = wait
                logger.debug("%s waits %.3fs for the rate limiter: %s", label, delay, reason)
                self._emit(RateLimitWait, operation=label, delay=delay, reason=reason)
                await asyncio.sleep(delay)
        except BaseException:
            self._limiter.cancel(slot)
            raise

    async def _attempt(self, request: _Request[T], attempt: int, slot: float) -> ApiResponse[T]:
        """Send `request` once in `slot`; parse the response or raise a typed error."""
        label = request.label
        response_headers: Mapping[str, str] | None = None
        session = self._ensure_session()
        connections = self._connections
        assert connections is not None
        try:
            await connections.acquire()
        except BaseException:  # cancelled while waiting for a connection: nothing was sent
            self._limiter.cancel(slot)
            raise
        started = time.monotonic()
        try:
            if request.before_send is not None:
                request.before_send()
            self._emit(RequestSent, operation=label, attempt=attempt, url=request.url)
            status, response_headers, raw, whole = await self._exchange(session, request)
        except APIConnectionError as error:
            logger.debug("%s attempt %d failed: %s", label, attempt, error)
            self._emit(
                RequestFailed, operation=label, attempt=attempt, error=str(error), sent=error.sent
            )
            raise
        finally:
            connections.release()
            if (learned := self._limiter.settle(slot, response_headers)) is not None:
                self._learned(request, learned)
        elapsed = time.monotonic() - started
        logger.debug("%s attempt %d -> %s in %.3fs", label, attempt, status, elapsed)
        self._emit(
            ResponseReceived, operation=label, attempt=attempt, status=status, elapsed=elapsed
        )
        parsed = parse_response(self.api, request.op, label, status, response_headers, raw, whole)
        return ApiResponse(
            status=status,
            headers=response_headers,
            parsed=parsed,
            elapsed=elapsed,
            attempts=attempt,
            learned=tuple(request.learned),
        )

    def _learned(self, request: _Request[Any], learned: LearnedWindow) -> None:
        """A response to `request` corrected a rate-limit window: say so everywhere."""
        request.learned.append(learned)
        logger.info(
            "%s: rate limit learned: %d per %.4gs -> %d per %.4gs (%s)",
            request.label,
            learned.previous.limit,
            learned.previous.seconds,
            learned.window.limit,
            learned.window.seconds,
            learned.reason,
        )
        self._emit(
            RateLimitLearned,
            operation=request.label,
            previous=learned.previous,
            window=learned.window,
            reason=learned.reason,
        )

    async def _exchange(
        self, session: aiohttp.ClientSession, request: _Request[Any]
    ) -> tuple[int, Mapping[str, str], bytes, bool]:
        """One HTTP exchange: status, headers, body and whether the body was read whole;
        transport failures become errors saying whether the request was sent."""
        try:
            return await self._fetch(session, request)
        except (TimeoutError, aiohttp.ClientError) as exc:
            error = transport_error(exc, request.label, self._key)
        # raised out here, not in the except block: aiohttp's exception, which holds the
        # request's headers and so the key, must not ride along as __context__; nor is the
        # response (its headers unmasked) a local here, for tracebacks printed with locals
        raise error

    async def _fetch(
        self, session: aiohttp.ClientSession, request: _Request[Any]
    ) -> tuple[int, Mapping[str, str], bytes, bool]:
        """Send `request`; the answer as `_exchange` gives it, any echo of the key masked."""
        async with session.request(
            request.op.method,
            request.url,
            params=request.params,
            headers=request.headers,
            data=request.payload,
            timeout=self._timeout,
            allow_redirects=False,  # a redirect would carry the API key to another host
            raise_for_status=False,  # even on a session made with True: errors are typed here
        ) as response:
            raw, whole = await read_body(response)
            headers = redacted(response.headers, self._key)
            return response.status, headers, self._key.redact_bytes(raw), whole
