"""Exceptions raised by generated clients: one base, one class per meaningful status."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "FieldError",
    "InternalServerError",
    "LeadkitError",
    "MissingApiKeyError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseValidationError",
    "UnprocessableEntityError",
    "error_class_for_status",
]

SNIPPET_BYTES = 200


class LeadkitError(Exception):
    """Base of every error leadkit raises."""


class MissingApiKeyError(LeadkitError):
    """No API key was given and its environment variable is not set."""


@attrs.frozen
class FieldError:
    """One field the server rejected: where, why, and the server's error type."""

    location: tuple[str | int, ...]
    message: str
    type: str | None = None


class APIError(LeadkitError):
    """A request failed; `operation` names the call, e.g. ``POST /lead``."""

    def __init__(self, message: str, *, operation: str) -> None:
        self.operation = operation
        super().__init__(f"{operation}: {message}")


class APIConnectionError(APIError):
    """The request failed in transport; `sent` says whether the body may have reached the server."""

    def __init__(self, message: str, *, operation: str, sent: bool) -> None:
        self.sent = sent
        super().__init__(message, operation=operation)


class APITimeoutError(APIConnectionError):
    """The request timed out."""


class ResponseValidationError(APIError):
    """A success response whose body does not match the spec."""

    def __init__(self, message: str, *, operation: str, status: int, snippet: str) -> None:
        self.status = status
        self.snippet = snippet
        super().__init__(
            f"{message} (status {status}, body starts {snippet!r})", operation=operation
        )


class APIStatusError(APIError):
    """The server answered with an error status.

    `body` is the error body parsed into the spec's model for that status when it
    matches, else the decoded JSON, else None; `snippet` holds the first bytes of the
    raw body, so that an HTML or empty error page still says something.
    """

    def __init__(
        self,
        *,
        operation: str,
        status: int,
        headers: Mapping[str, str],
        body: Any,
        snippet: str,
        field_errors: tuple[FieldError, ...] = (),
        summary: str = "",
    ) -> None:
        self.status = status
        self.headers = dict(headers)
        self.body = body
        self.snippet = snippet
        self.field_errors = field_errors
        text = summary or (repr(snippet) if snippet else "empty body")
        super().__init__(f"{status} {type(self).__name__}: {text}", operation=operation)


class BadRequestError(APIStatusError):
    """400: the request was malformed or failed validation."""


class AuthenticationError(APIStatusError):
    """401: the API key is missing, wrong or revoked."""


class PermissionDeniedError(APIStatusError):
    """403: the key lacks a scope or permission."""


class NotFoundError(APIStatusError):
    """404: the resource (e.g. the campaign) does not exist."""


class ConflictError(APIStatusError):
    """409: the record exists already."""


class UnprocessableEntityError(APIStatusError):
    """422: the body failed the server's validation."""


class RateLimitError(APIStatusError):
    """429: too many requests."""


class InternalServerError(APIStatusError):
    """5xx: the server failed."""


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def error_class_for_status(status: int) -> type[APIStatusError]:
    """The exception class for an error status."""
    if status >= 500:
        return InternalServerError
    return _BY_STATUS.get(status, APIStatusError)
