"""What a generated package declares about its API: plain frozen data, read by the runtime."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Generic, Literal, TypeVar

import attrs
import cattrs

__all__ = [
    "ApiDescription",
    "ApiKeyAuth",
    "Dedupe",
    "DelayUnit",
    "FormPart",
    "OperationSpec",
    "PartKind",
    "RateLimitPolicy",
    "ResetKind",
    "Window",
    "rate_limit_from_spec",
]

T = TypeVar("T")
ResetKind = Literal["unix-timestamp", "delta-seconds"]
DelayUnit = Literal["s", "ms"]
PartKind = Literal["file", "json", "text"]


@attrs.frozen
class Window:
    """At most `limit` requests in any `seconds`-long window."""

    limit: int
    seconds: float


@attrs.frozen
class RateLimitPolicy:
    """The spec's x-rate-limit declaration: windows and the meaning of the headers."""

    windows: tuple[Window, ...]
    limit_header: str = "X-RateLimit-Limit"
    remaining_header: str = "X-RateLimit-Remaining"
    reset_header: str = "X-RateLimit-Reset"
    reset_kind: ResetKind = "delta-seconds"
    retry_after_body_pattern: str | None = None
    """A regex over a 429/503 body's text; its first group is the delay in seconds."""
    retry_after_body_pointer: str | None = None
    """A JSON pointer (RFC 6901) to the delay in a 429/503 JSON body, in `retry_after_body_unit`."""
    retry_after_body_unit: DelayUnit = "s"

    @property
    def horizon(self) -> float:
        """The longest declared window (infinite without one): no reset comes later."""
        return max((w.seconds for w in self.windows), default=float("inf"))


RESET_KINDS: tuple[ResetKind, ...] = ("unix-timestamp", "delta-seconds")
DELAY_UNITS: tuple[DelayUnit, ...] = ("s", "ms")
RATE_LIMIT_KEYS = ("windows", "headers", "reset", "retry-after-body-pattern", "retry-after-body")
"""The keys an ``x-rate-limit`` declaration may have."""


def rate_limit_from_spec(declared: Any) -> RateLimitPolicy | None:
    """Read a spec's ``x-rate-limit`` extension; raise ValueError naming what is wrong."""
    if declared is None:
        return None
    if not isinstance(declared, Mapping):
        raise ValueError("must be a mapping with windows, and optionally reset and headers")
    if unknown := sorted(str(key) for key in declared if key not in RATE_LIMIT_KEYS):
        raise ValueError(
            f"unknown key(s) {', '.join(unknown)}; known: {', '.join(RATE_LIMIT_KEYS)}"
        )
    try:
        windows = tuple(Window(int(w["limit"]), float(w["seconds"])) for w in declared["windows"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"needs windows: [{{limit, seconds}}, ...] ({exc!r})") from None
    if any(w.limit < 1 or not 0 < w.seconds < float("inf") for w in windows):
        raise ValueError("each window needs a limit of at least 1 and a positive number of seconds")
    reset_kind = declared.get("reset", "delta-seconds")
    if reset_kind not in RESET_KINDS:
        raise ValueError(f"reset must be one of {', '.join(RESET_KINDS)}, not {reset_kind!r}")
    headers = declared.get("headers", {})
    if (
        not isinstance(headers, Mapping)
        or not all(isinstance(v, str) for v in headers.values())
        or not headers.keys() <= {"limit", "remaining", "reset"}
    ):
        raise ValueError("headers must map limit, remaining and reset to header names")
    return RateLimitPolicy(
        windows=windows,
        limit_header=headers.get("limit", "X-RateLimit-Limit"),
        remaining_header=headers.get("remaining", "X-RateLimit-Remaining"),
        reset_header=headers.get("reset", "X-RateLimit-Reset"),
        reset_kind=reset_kind,
        retry_after_body_pattern=_body_pattern(declared.get("retry-after-body-pattern")),
        **_body_pointer(declared.get("retry-after-body")),
    )


def _body_pattern(pattern: Any) -> str | None:
    """The retry-after body pattern, checked here: a regex whose first group is the delay."""
    if pattern is None:
        return None
    if not isinstance(pattern, str):
        raise ValueError("retry-after-body-pattern must be a string")
    try:
        re.search(pattern, "")
    except re.error as exc:
        raise ValueError(f"retry-after-body-pattern is not a regular expression ({exc})") from None
    try:
        re.sub(pattern, r"\1", "")  # refuses a template naming a group the pattern lacks
    except re.error:
        problem = "retry-after-body-pattern needs a group around the delay's number"
        raise ValueError(problem) from None
    return pattern


def _body_pointer(declared: Any) -> dict[str, Any]:
    """The retry-after-body declaration, checked here: {pointer: /a/b, unit: s | ms}."""
    if declared is None:
        return {}
    if not isinstance(declared, Mapping):
        raise ValueError(
            "retry-after-body must be a mapping: {pointer: /error/retryAfterMs, unit: ms}"
        )
    if unknown := sorted(str(key) for key in declared if key not in ("pointer", "unit")):
        raise ValueError(f"retry-after-body takes pointer and unit, not {', '.join(unknown)}")
    pointer, unit = declared.get("pointer"), declared.get("unit", "s")
    if not isinstance(pointer, str) or not pointer.startswith("/"):
        raise ValueError(
            "retry-after-body needs pointer: a JSON pointer such as /error/retryAfterMs, "
            f"not {pointer!r}"
        )
    if re.search(r"~(?![01])", pointer):
        raise ValueError(f"retry-after-body pointer {pointer!r}: '~' must be written ~0, '/' ~1")
    if unit not in DELAY_UNITS:
        raise ValueError(
            f"retry-after-body unit must be one of {', '.join(DELAY_UNITS)}, not {unit!r}"
        )
    return {"retry_after_body_pointer": pointer, "retry_after_body_unit": unit}


@attrs.frozen
class ApiKeyAuth:
    """The header that carries the key, an optional prefix, and the env var it defaults to."""

    header: str
    prefix: str
    env_var: str


@attrs.frozen
class Dedupe:
    """Which body field identifies a record; which status means it exists already."""

    field: str
    conflict_status: int | None = None


@attrs.frozen
class FormPart:
    """One part of an operation's multipart/form-data body, as the spec declares it."""

    name: str
    """The part's name on the wire."""
    kind: PartKind
    """file (bytes, a path or a stream), json (a model or a mapping) or text (a value)."""
    content_type: str
    """The media type it is sent with (a file part: unless a `FilePart` says another)."""
    required: bool = True
    type: Any = None
    """What a JSON or text part holds (a model class, ``dict[str, str]``, ``str``...)."""


@attrs.frozen(eq=False)  # identity: it holds types and converters
class OperationSpec(Generic[T]):
    """One operation: route, body type and the type of the body of each status.

    A multipart/form-data body has `parts` instead of a `body_type`.
    """

    name: str
    method: str
    path: str
    body_type: Any
    success: Mapping[int, Any]
    errors: Mapping[int, Any]
    default_error: Any = None
    dedupe: Dedupe | None = None
    column_aliases: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict)
    """Body wire name -> the other column names a file may give it (the spec's x-aliases)."""
    extra_columns: str | None = None
    """The object body field that takes a file's columns matching no field (x-extra-columns)."""
    parts: tuple[FormPart, ...] | None = None


@attrs.frozen(eq=False)  # identity: it holds types and converters
class ApiDescription:
    """Everything the runtime needs to talk to one API."""

    name: str
    title: str
    base_url: str
    auth: ApiKeyAuth
    rate_limit: RateLimitPolicy | None
    renames: Mapping[type, Mapping[str, str]] = attrs.field(repr=False)
    """Per model: Python attribute name -> wire name, where they differ."""
    request_converter: cattrs.Converter = attrs.field(repr=False)
    response_converter: cattrs.Converter = attrs.field(repr=False)
