"""BaseClient: the key, the base URL, the call options, and each call made into a request.

Its `Sender` (`leadkit.runtime.sender`) makes the attempts: it follows the retry decisions
of `leadkit.runtime.retry` and the pacing of `leadkit.runtime.ratelimit`. The options in
force for a call are `leadkit.runtime.options`.
"""

from __future__ import annotations

import copy
import os
import uuid
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType, TracebackType
from typing import Any, ClassVar, Literal, Self, TypeAlias, TypeVar
from urllib.parse import urlsplit

import aiohttp
import attrs

from .. import __version__
from .api import ApiDescription, OperationSpec, RateLimitPolicy, Window
from .errors import MissingApiKeyError
from .events import EventHook
from .multipart import encode_parts
from .options import (
    CallOptions,
    RetryOption,
    TimeoutOption,
    client_timeout,
    merge_headers,
    retry_policy,
)
from .paths import expand_path, path_values, query_value
from .ratelimit import RateLimiter, RateLimiterView
from .request_bodies import CheckedBody, check_request
from .retry import DEFAULT_RETRY, RetryPolicy
from .secret import Secret
from .sender import ApiResponse, Request, Sender
from .transport import SharedSession, is_loopback

__all__ = ["DEFAULT_TIMEOUT", "ApiResponse", "BaseClient", "expand_path", "path_values"]

T = TypeVar("T")

DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=60, connect=10)
"""No read timeout of its own: aiohttp re-arms it at every chunk read (two timers an
answer, about 4 % of a bulk create's CPU), and `total` bounds a stalled read anyway."""
_NO_BODY: Any = object()
_PathKey: TypeAlias = tuple[tuple[str, type, Any], ...]
"""Path parameters with their types, as `BaseClient._url` compares them."""
_KEPT_TYPES = frozenset((str, int, bool, uuid.UUID))
"""The path parameter values whose URL `BaseClient._url` keeps: immutable, compared exactly."""
_NO_PARAMS: Mapping[str, Any] = MappingProxyType({})
_STATIC_HEADERS = {
    "Accept": "application/json",
    "Content-Type": "application/json",
    "User-Agent": f"leadkit/{__version__}",
}


class _Headers(dict[str, str]):
    """Request headers, which hold the key: their repr names them and shows no value."""

    def __repr__(self) -> str:
        return f"<headers {sorted(self)!r}>"


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
        timeout: TimeoutOption = DEFAULT_TIMEOUT,
        allow_insecure_http: bool = False,
        retry: RetryOption = DEFAULT_RETRY,
        rate_limit: RateLimitPolicy | Literal[False] | None = None,
        event_hooks: Iterable[EventHook] = (),
    ) -> None:
        """Configure the key, base URL and transport.

        `timeout` is an aiohttp ClientTimeout or the seconds of a whole exchange; `retry`
        bounds the attempts of each call (False: one attempt). `rate_limit` replaces the spec's
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
        self._options = CallOptions(client_timeout(timeout), retry_policy(retry, DEFAULT_RETRY))
        self._shared = SharedSession(session, self._options.timeout, type(self).__name__)
        self._derived = False
        """Made by `with_options`: it uses the session of the client it was made from."""
        self._closed = False
        limiter = RateLimiter(_limiter_policy(self.api.rate_limit, rate_limit))
        self._limiter_view = RateLimiterView(limiter)
        self._sender = Sender(self.api, self._key, self._shared, limiter, tuple(event_hooks))
        self._made_headers: tuple[CallOptions, dict[str, str]] | None = None
        """The options the headers were made for last, and those headers (`_headers`)."""
        self._urls: dict[OperationSpec[Any], tuple[_PathKey, str]] = {}
        """Per operation: the path parameters of its last call, and its URL (`_url`)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    def with_options(
        self,
        *,
        timeout: TimeoutOption | None = None,
        retry: RetryOption | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Self:
        """A client like this one with other call options; None keeps this one's.

        It shares this client's session, connection pool and rate limiter, so the two
        pace together as one client; extra headers are added to this one's. It calls
        only while this client is open, and closing it closes nothing but itself. The key,
        base URL and rate limits are not options: a limiter paces one key against one
        server, so another key or server needs a client of its own.
        """
        derived = copy.copy(self)
        derived._options = self._options.merged(
            self.api.auth.header, timeout=timeout, retry=retry, extra_headers=extra_headers
        )
        derived._derived = True
        derived._closed = False
        return derived

    @property
    def retry(self) -> RetryPolicy:
        """The retry policy of this client's calls (a call's own `retry=` aside)."""
        return self._options.retry

    @property
    def timeout(self) -> aiohttp.ClientTimeout:
        """The timeout of this client's calls (a call's own `timeout=` aside)."""
        return self._options.timeout

    @property
    def rate_limiter(self) -> RateLimiterView:
        """A read-only view of the rate limiter this client (and every client made from it
        by `with_options`) paces its calls with."""
        return self._limiter_view

    @property
    def rate_limit_windows(self) -> tuple[Window, ...]:
        """The windows the client paces itself to: the spec's (or `rate_limit`'s) until a
        response's rate-limit headers correct them (`RateLimitLearned` events say when)."""
        return self._limiter_view.windows

    async def __aenter__(self) -> Self:
        self._closed = False
        if not self._derived:
            self._shared.closed = False
        self._check_open()
        self._shared.open()
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

        Calls made later raise RuntimeError until `async with` opens the client again, as
        do those of the clients made from it by `with_options`. Closing one of those
        closes only itself.
        """
        self._closed = True
        if not self._derived:
            await self._shared.close()

    def _check_open(self) -> None:
        """Raise RuntimeError when this client, or the one it was made from, is closed."""
        if self._closed:
            raise RuntimeError(f"{type(self).__name__} is closed; use it inside `async with`")
        if self._shared.closed:
            raise RuntimeError(
                f"the {type(self).__name__} this one was made from (with_options) is closed"
            )

    def _encode_body(self, op: OperationSpec[Any], body: Any) -> bytes:
        if isinstance(body, CheckedBody):
            return body.payload
        return check_request(self.api.request_converter, body, op.body_type).payload

    def _headers(self, params: Mapping[str, Any] | None, options: CallOptions) -> dict[str, str]:
        """The client's headers, then the operation's header `params`, then extra headers.

        Without `params`, the headers of the client's own options are made once (nothing
        changes them: aiohttp copies them, a multipart body copies them).
        """
        made = self._made_headers
        if not params and made is not None and made[0] is options:
            return made[1]
        auth = self.api.auth
        headers = _Headers({**_STATIC_HEADERS, auth.header: auth.prefix + self._key.reveal()})
        if params:
            headers.update({k: query_value(v) for k, v in params.items() if v is not None})
        if options.extra_headers:
            merge_headers(headers, options.extra_headers)
        if not params and options is self._options:
            self._made_headers = options, headers
        return headers

    def _url(self, op: OperationSpec[Any], path_params: Mapping[str, Any]) -> str:
        """The URL of `op` with `path_params`; the last one of each operation is kept, as
        a bulk load calls one operation with the same path parameters again and again.

        Kept only for values of `_KEPT_TYPES` (immutable, and compared with their types:
        True == 1, but the one is sent as "true").
        """
        given = tuple((k, type(v), v) for k, v in path_params.items())
        last = self._urls.get(op)
        if last is not None and last[0] == given:
            return last[1]
        url = self.base_url + expand_path(op.path, path_values(path_params))
        if all(kind in _KEPT_TYPES for _, kind, _ in given):
            self._urls[op] = given, url
        return url

    async def call(
        self,
        op: OperationSpec[T],
        *,
        path_params: Mapping[str, Any] = _NO_PARAMS,
        query: Mapping[str, Any] | None = None,
        headers: Mapping[str, Any] | None = None,
        body: Any = _NO_BODY,
        parts: Mapping[str, Any] | None = None,
        timeout: TimeoutOption | None = None,
        retry: RetryOption | None = None,
        extra_headers: Mapping[str, str] | None = None,
        before_send: Callable[[], None] | None = None,
        unsent_again: Callable[[], None] | None = None,
    ) -> ApiResponse[T]:
        """Send the operation `op` (a generated ``OperationSpec`` constant) and return its
        parsed response, or raise an APIError; what every generated method does.

        `path_params`, `query` and `headers` hold the operation's parameters by wire name
        (a None value is left out, a list in the query repeats the name); `body` is the
        request body (a model, a mapping, or a `CheckedBody`), checked before anything is
        sent; none given sends none. `parts` are the values of a multipart body's parts by
        wire name (`leadkit.runtime.multipart`), checked too. `timeout`, `retry` and
        `extra_headers` change this call's options as `with_options` does a client's.

        `before_send` is called just before each attempt goes out, after any wait for the
        rate limiter (the bulk loader journals "sent" there); `unsent_again` when a failed
        attempt will be retried and no attempt so far can have been acted on (never sent,
        429, 503), so the call is as good as unsent until the next `before_send`.
        """
        self._check_open()
        options = self._options
        if timeout is not None or retry is not None or extra_headers is not None:
            options = options.merged(
                self.api.auth.header, timeout=timeout, retry=retry, extra_headers=extra_headers
            )
        params = (
            [
                (name, query_value(item))
                for name, value in query.items()
                if value is not None
                for item in (value if isinstance(value, list) else [value])
            ]
            if query
            else None
        )
        payload = None if body is _NO_BODY else self._encode_body(op, body)
        request = Request(
            op,
            self._url(op, path_params),
            params or None,
            self._headers(headers, options),
            payload,
            options,
            before_send,
            unsent_again,
        )
        if parts is not None:
            request = self._with_parts(request, parts)
        return await self._sender.send(request)

    def _with_parts(self, request: Request[T], parts: Mapping[str, Any]) -> Request[T]:
        """`request` with the multipart body of `parts`, checked; aiohttp writes its
        Content-Type, with the boundary. (No local of a frame still running when the call
        fails holds the headers: tracebacks printed with locals would show the key.)"""
        op = request.op
        body = encode_parts(self.api.request_converter, op.name, op.parts or (), parts)
        headers = {k: v for k, v in request.headers.items() if k != "Content-Type"}
        return attrs.evolve(request, payload=body, headers=headers)
