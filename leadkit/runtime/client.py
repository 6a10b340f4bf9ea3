"""BaseClient: the session, the key, one request and its typed response or error."""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any, ClassVar, Generic, TypeVar
from urllib.parse import quote, urlsplit

import aiohttp
import attrs
import cattrs

from .. import __version__
from .api import ApiDescription, OperationSpec
from .converters import validate_request
from .errors import (
    SNIPPET_BYTES,
    APIConnectionError,
    APITimeoutError,
    MissingApiKeyError,
    ResponseValidationError,
    error_class_for_status,
)
from .field_errors import field_errors_of, summary_of
from .secret import Secret

__all__ = ["DEFAULT_TIMEOUT", "ApiResponse", "BaseClient"]

T = TypeVar("T")
logger = logging.getLogger("leadkit")

DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=60, connect=10, sock_read=30)
_NO_BODY: Any = object()


@attrs.frozen
class ApiResponse(Generic[T]):
    """A parsed success response with its status code and headers."""

    status: int
    headers: Mapping[str, str]
    parsed: T
    elapsed: float
    """Seconds from sending the request to reading the whole body."""


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value.value if hasattr(value, "value") else value)


def _snippet(raw: bytes) -> str:
    return raw[:SNIPPET_BYTES].decode("utf-8", errors="replace")


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
    ) -> None:
        env_var = self.api.auth.env_var
        key = api_key if api_key is not None else os.environ.get(env_var, "")
        if not key:
            raise MissingApiKeyError(
                f"{type(self).__name__} needs an API key: pass api_key=... or set {env_var}"
            )
        self._key = Secret(key)
        self.base_url = (base_url or self.api.base_url).rstrip("/")
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"base_url must be an http(s) URL, got {self.base_url!r}")
        if parts.scheme == "http" and not _is_loopback(parts.hostname) and not allow_insecure_http:
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

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    async def __aenter__(self) -> BaseClient:
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
        """Close the session if this client created it; a session passed in stays open."""
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    def _ensure_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            if not self._owns_session:
                raise RuntimeError("the aiohttp session passed to this client is closed")
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    def _encode_body(self, op: OperationSpec[Any], body: Any) -> bytes:
        converter = self.api.request_converter
        if isinstance(op.body_type, type) and attrs.has(op.body_type):
            body = validate_request(converter, body, op.body_type)
        return json.dumps(converter.unstructure(body), separators=(",", ":")).encode()

    def _headers(self, extra: Mapping[str, Any] | None) -> dict[str, str]:
        auth = self.api.auth
        headers = {
            "Accept": "application/json",
            "Content-Type": "application/json",
            "User-Agent": f"leadkit/{__version__}",
            auth.header: auth.prefix + self._key.reveal(),
        }
        headers.update({k: _query_value(v) for k, v in (extra or {}).items() if v is not None})
        return headers

    async def _request(
        self,
        op: OperationSpec[T],
        *,
        path_params: Mapping[str, Any],
        query: Mapping[str, Any] | None = None,
        headers: Mapping[str, Any] | None = None,
        body: Any = _NO_BODY,
    ) -> ApiResponse[T]:
        """Send one operation and return its parsed response, or raise an APIError."""
        path = op.path.format(
            **{k: quote(_query_value(v), safe="") for k, v in path_params.items()}
        )
        params = [
            (name, _query_value(item))
            for name, value in (query or {}).items()
            if value is not None
            for item in (value if isinstance(value, list) else [value])
        ]
        payload = None if body is _NO_BODY else self._encode_body(op, body)
        return await self._send_once(
            op, self.base_url + path, params, self._headers(headers), payload
        )

    async def _send_once(
        self,
        op: OperationSpec[T],
        url: str,
        params: list[tuple[str, str]],
        headers: dict[str, str],
        payload: bytes | None,
    ) -> ApiResponse[T]:
        label = f"{op.method} {op.path}"
        session = self._ensure_session()
        started = time.monotonic()
        try:
            async with session.request(
                op.method, url, params=params, headers=headers, data=payload, timeout=self._timeout
            ) as response:
                raw = await response.read()
                status, response_headers = response.status, response.headers
        except aiohttp.ConnectionTimeoutError as exc:
            raise APITimeoutError(f"connect timeout ({exc})", operation=label, sent=False) from None
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise APITimeoutError(
                f"timed out waiting for the response ({exc})", operation=label, sent=True
            ) from None
        except aiohttp.ClientConnectorError as exc:
            raise APIConnectionError(
                f"cannot connect ({exc.os_error})", operation=label, sent=False
            ) from None
        except aiohttp.ClientError as exc:
            raise APIConnectionError(
                f"connection failed after sending ({type(exc).__name__}: {exc})",
                operation=label,
                sent=True,
            ) from None
        elapsed = time.monotonic() - started
        logger.debug("%s -> %s in %.3fs", label, status, elapsed)
        parsed = self._parse(op, label, status, response_headers, raw)
        return ApiResponse(status=status, headers=response_headers, parsed=parsed, elapsed=elapsed)

    def _parse(
        self, op: OperationSpec[T], label: str, status: int, headers: Mapping[str, str], raw: bytes
    ) -> Any:
        converter = self.api.response_converter
        try:
            data = json.loads(raw) if raw.strip() else None
        except ValueError:
            data = None
            if status in op.success and op.success[status] is not None:
                raise ResponseValidationError(
                    "the success body is not JSON",
                    operation=label,
                    status=status,
                    snippet=_snippet(raw),
                ) from None
        if status in op.success:
            kind = op.success[status]
            if kind is None:
                return None
            try:
                return converter.structure(data, kind)
            except (cattrs.BaseValidationError, TypeError, ValueError) as exc:
                problems = (
                    "; ".join(cattrs.transform_error(exc, path="$"))
                    if isinstance(exc, cattrs.BaseValidationError)
                    else str(exc)
                )
                raise ResponseValidationError(
                    f"the success body does not match the spec: {problems}",
                    operation=label,
                    status=status,
                    snippet=_snippet(raw),
                ) from None
        kind = op.errors.get(status, op.default_error)
        body: Any = data
        if kind is not None and data is not None:
            try:
                body = converter.structure(data, kind)
            except (cattrs.BaseValidationError, TypeError, ValueError):
                body = data
        raise error_class_for_status(status)(
            operation=label,
            status=status,
            headers=headers,
            body=body,
            snippet=_snippet(raw),
            field_errors=field_errors_of(data),
            summary=summary_of(data),
        )
