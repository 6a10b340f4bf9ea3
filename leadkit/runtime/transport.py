"""The aiohttp side of a call: the session clients share, a capped body read, the key
masked in what came back, and typed errors for transport failures that say whether the
request was sent."""

from __future__ import annotations

import asyncio
import ipaddress

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy

from .errors import APIConnectionError, APITimeoutError, APITLSError
from .secret import Secret

__all__ = [
    "MAX_RESPONSE_BYTES",
    "SharedSession",
    "is_loopback",
    "pool_size",
    "read_body",
    "redacted",
    "transport_error",
]

MAX_RESPONSE_BYTES = 4 * 1024 * 1024
"""A body longer than this is not read further; the call fails with a typed error."""


async def read_body(response: aiohttp.ClientResponse) -> tuple[bytes, bool]:
    """The body, or its first bytes past MAX_RESPONSE_BYTES; whether it was read whole.

    A body of a declared, small enough length and no content coding is read at once;
    any other (chunked, compressed: a decompression bomb) is read chunk by chunk up to
    the limit.
    """
    length = response.content_length
    if (
        length is not None
        and length <= MAX_RESPONSE_BYTES
        and not response.headers.get("Content-Encoding")
    ):
        return await response.read(), True
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_any():
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            return b"".join(chunks), False
    return b"".join(chunks), True


_UNLIMITED_POOL = 10_000
"""A session without a connection limit: calls are bounded by the caller alone."""


def pool_size(connector: aiohttp.BaseConnector | None) -> int:
    """Connections the session may hold to one host at once (its limit and per-host limit)."""
    limits = [n for n in (connector.limit, connector.limit_per_host) if n] if connector else []
    return min(limits, default=_UNLIMITED_POOL)


class SharedSession:
    """The aiohttp session of a client and of the clients made from it with `with_options`,
    and as many connection slots as its pool holds.

    A call waits for a slot before it counts as sent, never inside aiohttp, where waiting
    would count against the connect timeout. A session passed in is used as it is; else
    one is made when first needed, and closed by the client that made this.
    """

    def __init__(
        self, session: aiohttp.ClientSession | None, timeout: aiohttp.ClientTimeout, owner: str
    ) -> None:
        self.session = session
        self.owned = session is None
        self.timeout = timeout
        """The timeout of a session made here (each request gives its own too)."""
        self.connections: asyncio.Semaphore | None = None
        self.owner = owner
        """The class name of the client that made this, for errors."""
        self.closed = False
        """Whether the client that made this is closed (the clients made from it refuse)."""

    def open(self) -> aiohttp.ClientSession:
        """The session, made if there is none (or it was closed and is ours); RuntimeError
        once the client that made this is closed."""
        if self.closed:
            raise RuntimeError(f"{self.owner} is closed; use it inside `async with`")
        if self.session is None or self.session.closed:
            if not self.owned:
                raise RuntimeError("the aiohttp session passed to this client is closed")
            self.session = aiohttp.ClientSession(timeout=self.timeout)
            self.connections = None
        if self.connections is None:
            self.connections = asyncio.Semaphore(pool_size(self.session.connector))
        return self.session

    async def close(self) -> None:
        """Close the session if it was made here; a session passed in stays open."""
        self.closed = True
        if self.owned and self.session is not None:
            await self.session.close()
            self.session = None


def is_loopback(host: str) -> bool:
    """Whether `host` names this machine (plain HTTP to it exposes the key to no network)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def redacted(headers: CIMultiDictProxy[str], key: Secret) -> CIMultiDictProxy[str]:
    """Response headers with any echo of the key masked (most often, as they are)."""
    if not key.appears_in("\n".join(headers.values())):  # a key holds no line break
        return headers
    return CIMultiDictProxy(CIMultiDict((k, key.redact(v)) for k, v in headers.items()))


def transport_error(exc: BaseException, label: str, key: Secret) -> APIConnectionError:
    """The typed error for an aiohttp failure, saying whether the request was sent.

    aiohttp's text can quote what the server sent (a malformed status or header line), so
    an echo of the key is masked.
    """
    text = key.redact(str(exc))
    said = f" ({text})" if text else ""  # asyncio's own timeout says nothing
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return APITimeoutError(f"connect timeout{said}", operation=label, sent=False)
    if isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError):
        message = f"timed out waiting for the response{said}"
        return APITimeoutError(message, operation=label, sent=True)
    if isinstance(exc, aiohttp.ClientSSLError):
        return APITLSError(f"TLS failed ({exc.os_error})", operation=label, sent=False)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return APIConnectionError(f"cannot connect ({exc.os_error})", operation=label, sent=False)
    cause = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    message = f"connection failed after sending ({cause})"
    return APIConnectionError(message, operation=label, sent=True)
