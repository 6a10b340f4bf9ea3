"""The attempts of one call: pacing, retries, events and its typed outcome.

A client and the clients made from it by `with_options` share one `Sender`: its key, its
session and its rate limiter. Each call brings its own options (`Request.options`).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

import aiohttp
import attrs
import cattrs

from .api import ApiDescription, OperationSpec
from .errors import (
    AlreadyExistsError,
    APIConnectionError,
    APIError,
    APIStatusError,
    BodyNotReplayableError,
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
from .json_values import decode_json
from .learning import LearnedWindow
from .multipart import MultipartBody
from .options import CallOptions
from .ratelimit import RateLimiter
from .responses import parse_response
from .retry import (
    FailureKind,
    decide,
    failure_kind,
    is_own_duplicate,
    outcome_is_unknown,
    retries_ambiguous,
    server_delay,
)
from .secret import Secret
from .transport import SharedSession, read_body, redacted, transport_error

__all__ = ["ApiResponse", "Request", "Sender"]

T = TypeVar("T")
logger = logging.getLogger("leadkit")
StructureHook = Callable[[Any, Any], Any]
_UNPARSED: Any = object()


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
class Request(Generic[T]):
    """One call, ready to send and to send again; the headers hold the key, so no repr."""

    op: OperationSpec[T]
    url: str
    params: list[tuple[str, str]] | None
    headers: dict[str, str] = attrs.field(repr=False)
    payload: bytes | MultipartBody | None = attrs.field(repr=False)
    options: CallOptions
    before_send: Callable[[], None] | None = None
    unsent_again: Callable[[], None] | None = None
    learned: list[LearnedWindow] = attrs.field(factory=list)
    """What the responses to this call taught the rate limiter so far."""

    @property
    def label(self) -> str:
        return f"{self.op.method} {self.op.path}"


class Sender:
    """Sends calls of one API with one key, session and rate limiter; see the module docstring."""

    def __init__(
        self,
        api: ApiDescription,
        key: Secret,
        shared: SharedSession,
        limiter: RateLimiter,
        event_hooks: tuple[EventHook, ...],
    ) -> None:
        self.api = api
        self._key = key
        self._shared = shared
        self.limiter = limiter
        self._event_hooks = event_hooks
        self._hooks: dict[Any, StructureHook] = {}

    async def send(self, request: Request[T]) -> ApiResponse[T]:
        """Attempt `request` until it succeeds or `leadkit.runtime.retry` says to stop."""
        op, policy = request.op, request.options.retry
        ambiguous_seen = False
        first_sent: float | None = None
        attempt = 0
        while True:
            attempt += 1
            slot = self.limiter.reserve()
            if self.limiter.delay_until(slot) > 0:
                await self._wait_for_slot(request.label, slot)
            first_sent = time.monotonic() if first_sent is None else first_sent
            send_once = self._lean_attempt if self.lean else self._attempt
            try:
                response = await send_once(request, attempt, slot)
            except APIError as error:
                label = request.label
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
                    policy,
                    kind=kind,
                    safe_to_repeat=retries_ambiguous(op, policy),
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
                        self.limiter.pause(requested, f"429 on {label}")
                    if outcome_is_unknown(op.method, ambiguous_seen):
                        raise OutcomeUnknownError(error, attempts=attempt) from error
                    if spent:
                        logger.debug("%s: not retried: %s", label, spent)
                        raise BodyNotReplayableError(
                            error, reason=spent, attempts=attempt
                        ) from error
                    raise
                self.emit(
                    RetryScheduled,
                    operation=label,
                    attempt=attempt,
                    reason=decision.reason,
                    delay=decision.delay,
                )
                if not ambiguous_seen and request.unsent_again is not None:
                    request.unsent_again()  # only ambiguous failures can have been acted on
                if kind == "rate-limited":
                    self.limiter.pause(decision.delay, f"429 on {label}")
                else:
                    await asyncio.sleep(decision.delay)
            else:
                return response

    def emit(self, event: Callable[..., Event], **fields: Any) -> None:
        """Report an event to the hooks; without hooks, not even build it (hot path)."""
        if self._event_hooks:
            emit(self._event_hooks, event(**fields))

    def _requested_delay(self, error: APIError, kind: FailureKind) -> float | None:
        if kind not in ("rate-limited", "unavailable") or not isinstance(error, APIStatusError):
            return None
        return server_delay(
            error.headers,
            error.snippet,
            self.limiter.policy,
            body=self.api.response_converter.unstructure(error.body),
            rate_limited=kind == "rate-limited",
        )

    async def _wait_for_slot(self, label: str, slot: float) -> None:
        """Sleep until the reserved `slot` starts; give it back if the wait is cancelled."""
        try:
            while (wait := self.limiter.wait(slot)).delay > 0:
                logger.debug(
                    "%s waits %.3fs for the rate limiter: %s", label, wait.delay, wait.reason
                )
                self.emit(
                    RateLimitWait,
                    operation=label,
                    delay=wait.delay,
                    kind=wait.kind,
                    window=wait.window,
                    reason=wait.reason,
                )
                await asyncio.sleep(wait.delay)
        except BaseException:
            self.limiter.cancel(slot)
            raise

    @property
    def lean(self) -> bool:
        """Whether attempts take the lean path: nothing listens to their events or logs."""
        return not self._event_hooks and not logger.isEnabledFor(logging.DEBUG)

    async def _attempt(self, request: Request[T], attempt: int, slot: float) -> ApiResponse[T]:
        """Send `request` once in `slot`; parse the response or raise a typed error. (With
        no event hook and no debug logging, `_lean_attempt` does it instead.)"""
        label = request.label

        def announce() -> None:
            self.emit(RequestSent, operation=label, attempt=attempt, url=request.url)

        try:
            status, headers, raw, whole, elapsed = await self._exchanged(request, slot, announce)
        except APIConnectionError as error:
            logger.debug("%s attempt %d failed: %s", label, attempt, error)
            self.emit(
                RequestFailed, operation=label, attempt=attempt, error=str(error), sent=error.sent
            )
            raise
        logger.debug("%s attempt %d -> %s in %.3fs", label, attempt, status, elapsed)
        self.emit(
            ResponseReceived, operation=label, attempt=attempt, status=status, elapsed=elapsed
        )
        parsed = parse_response(self.api, request.op, label, status, headers, raw, whole)
        return ApiResponse(status, headers, parsed, elapsed, attempt, tuple(request.learned))

    async def _lean_attempt(self, request: Request[T], attempt: int, slot: float) -> ApiResponse[T]:
        """`_attempt` with no events or logs to make, and a declared success body read
        whole decoded and structured here; any other answer, or a body that fails either
        step, goes to `parse_response`, so the outcome is always the full path's."""
        status, headers, raw, whole, elapsed = await self._exchanged(request, slot)
        op = request.op
        kind = op.success.get(status) if whole else None
        parsed = _UNPARSED if kind is None else self._success(kind, raw)
        if parsed is _UNPARSED:
            parsed = parse_response(self.api, op, request.label, status, headers, raw, whole)
        return ApiResponse(status, headers, parsed, elapsed, attempt, tuple(request.learned))

    def _success(self, kind: Any, raw: bytes) -> Any:
        """The success body `raw` structured as `kind` by the response converter's function
        for it (the generated one); _UNPARSED when either step fails."""
        hook = self._hooks.get(kind)
        if hook is None:
            hook = self._hooks[kind] = self.api.response_converter.get_structure_hook(kind)
        try:
            return hook(decode_json(raw), kind)
        except (ValueError, TypeError, RecursionError, cattrs.BaseValidationError):
            return _UNPARSED  # parse_response words the error

    async def _exchanged(
        self, request: Request[Any], slot: float, announce: Callable[[], None] | None = None
    ) -> tuple[int, Mapping[str, str], bytes, bool, float]:
        """Send `request` once in `slot` on a connection of the pool: the status, headers
        and body (`_exchange`) and the seconds it took. `before_send`, then `announce`, are
        called just before it goes; the connection is freed and the limiter told after,
        whatever happens (the slot goes back when no connection can be had: the client
        closed, the wait cancelled)."""
        try:
            session = self._shared.open()  # RuntimeError once the client is closed
            connections = self._shared.connections
            assert connections is not None
            await connections.acquire()
        except BaseException:  # nothing was sent
            self.limiter.cancel(slot)
            raise
        headers: Mapping[str, str] | None = None
        started = time.monotonic()
        try:
            if request.before_send is not None:
                request.before_send()
            if announce is not None:
                announce()
            status, headers, raw, whole = await self._exchange(session, request)
        finally:
            self._settle(request, slot, connections, headers)
        return status, headers, raw, whole, time.monotonic() - started

    def _settle(
        self,
        request: Request[Any],
        slot: float,
        connections: asyncio.Semaphore,
        headers: Mapping[str, str] | None,
    ) -> None:
        """The attempt in `slot` ended, answered with `headers` or not: free its connection
        and tell the limiter, which may learn from the headers."""
        connections.release()
        if (learned := self.limiter.settle(slot, headers)) is not None:
            self._learned(request, learned)

    def _learned(self, request: Request[Any], learned: LearnedWindow) -> None:
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
        self.emit(
            RateLimitLearned,
            operation=request.label,
            previous=learned.previous,
            window=learned.window,
            reason=learned.reason,
        )

    async def _exchange(
        self, session: aiohttp.ClientSession, request: Request[Any]
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
        self, session: aiohttp.ClientSession, request: Request[Any]
    ) -> tuple[int, Mapping[str, str], bytes, bool]:
        """Send `request`; the answer as `_exchange` gives it, any echo of the key masked."""
        async with session.request(
            request.op.method,
            request.url,
            params=request.params,
            headers=request.headers,
            data=request.payload,
            timeout=request.options.timeout,
            allow_redirects=False,  # a redirect would carry the API key to another host
            raise_for_status=False,  # even on a session made with True: errors are typed here
        ) as response:
            raw, whole = await read_body(response)
            headers = redacted(response.headers, self._key)
            return response.status, headers, self._key.redact_bytes(raw), whole
