"""Call options: the timeout, retry policy and extra headers in force for a call.

A client holds its options; `with_options` makes a client with others, and each generated
method's ``timeout=``, ``retry=`` and ``extra_headers=`` change them for one call. They are
checked and merged once per call, never per attempt, and a call that gives none uses its
client's as they are.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal, TypeAlias

import aiohttp
import attrs

from .retry import RetryPolicy

__all__ = [
    "CallOptions",
    "RetryOption",
    "TimeoutOption",
    "client_timeout",
    "merge_headers",
    "retry_policy",
]

TimeoutOption: TypeAlias = aiohttp.ClientTimeout | float
"""An aiohttp ClientTimeout, or seconds for the whole exchange (its ``total``)."""
RetryOption: TypeAlias = RetryPolicy | Literal[False]
"""A RetryPolicy, or False for one attempt only (the policy in force otherwise)."""

_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
"""A header name (RFC 9110's token)."""
_CONTROL = r"[\x00-\x08\x0a-\x1f\x7f]"
"""What a header value may not hold: a line break would start another header."""


def client_timeout(value: TimeoutOption) -> aiohttp.ClientTimeout:
    """`value` as aiohttp's ClientTimeout: a number is the seconds of the whole exchange."""
    if isinstance(value, aiohttp.ClientTimeout):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(
            f"timeout takes seconds or an aiohttp.ClientTimeout, not {type(value).__name__}"
        )
    if not 0 < value < math.inf:
        raise ValueError(f"timeout must be a positive finite number of seconds, not {value}")
    return aiohttp.ClientTimeout(total=value)


def retry_policy(value: RetryOption, current: RetryPolicy) -> RetryPolicy:
    """`value` as a RetryPolicy: False is `current` with one attempt."""
    if value is False:
        return attrs.evolve(current, max_attempts=1)
    if not isinstance(value, RetryPolicy):
        raise TypeError(f"retry takes a RetryPolicy or False, not {type(value).__name__}")
    return value


def _checked_headers(extra: Mapping[str, str], auth_header: str) -> dict[str, str]:
    """`extra` as headers to send, or an error naming the header (never showing a value:
    it may be a secret)."""
    if not isinstance(extra, Mapping):
        raise TypeError(f"extra_headers takes a mapping, not {type(extra).__name__}")
    checked: dict[str, str] = {}
    for name, value in extra.items():
        if not isinstance(name, str) or not re.fullmatch(_TOKEN, name):
            raise ValueError(
                "extra_headers: a header name must be a non-empty string of letters, digits "
                "and !#$%&'*+.^_`|~- (one is not)"
            )
        if name.lower() == auth_header.lower():
            raise ValueError(
                f"extra_headers cannot set {name}: the client sends its API key in it; "
                "make another client with api_key=... to use another key"
            )
        if not isinstance(value, str) or re.search(_CONTROL, value):
            raise ValueError(
                f"extra_headers[{name!r}]: the value must be a string without line breaks "
                "or control characters"
            )
        merge_headers(checked, {name: value})
    return checked


def merge_headers(headers: dict[str, str], extra: Mapping[str, str]) -> None:
    """Put `extra` into `headers`, each replacing any header of its name in another case."""
    for name, value in extra.items():
        lowered = name.lower()
        for same in [key for key in headers if key.lower() == lowered]:
            del headers[same]
        headers[name] = value


def _header_names(headers: Mapping[str, str]) -> str:
    return repr(sorted(headers))  # names only: a value may be a secret


@attrs.frozen
class CallOptions:
    """What a call sends with and how hard it tries: its client's, or a call's own."""

    timeout: aiohttp.ClientTimeout
    retry: RetryPolicy
    extra_headers: Mapping[str, str] = attrs.field(default=MappingProxyType({}), repr=_header_names)
    """Headers sent with every call besides the client's own (never the API key's)."""

    def merged(
        self,
        auth_header: str,
        *,
        timeout: TimeoutOption | None = None,
        retry: RetryOption | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> CallOptions:
        """These options with the ones given (None keeps the one in force); extra headers
        are added to these, a name given again (in any case) taking the new value.

        Raises ValueError for an extra header that would replace `auth_header` or that
        cannot be sent, TypeError for a value of the wrong type.
        """
        headers = self.extra_headers
        if extra_headers is not None:
            merged = dict(headers)
            merge_headers(merged, _checked_headers(extra_headers, auth_header))
            headers = MappingProxyType(merged)
        return CallOptions(
            self.timeout if timeout is None else client_timeout(timeout),
            self.retry if retry is None else retry_policy(retry, self.retry),
            headers,
        )
